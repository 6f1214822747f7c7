using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace VectorPipeline.Cli;

/// <summary>A call to Ingest.Api or Search.Api was refused; the message carries the problem details' title and detail.</summary>
/// <param name="status">HTTP status.</param>
/// <param name="message">What the service said.</param>
public sealed class PipelineApiException(HttpStatusCode status, string message) : Exception(message)
{
    /// <summary>HTTP status of the answer.</summary>
    public HttpStatusCode Status { get; } = status;
}

/// <summary>A document's progress as <c>GET /documents/{id}</c> answers it.</summary>
/// <param name="Id">Document id.</param>
/// <param name="Status"><c>queued</c>, <c>embedding</c>, <c>ready</c> or <c>failed</c>.</param>
/// <param name="Total">Chunks of the document.</param>
/// <param name="Embedded">Chunks embedded for the active model.</param>
/// <param name="Failed">Chunks whose embedding failed.</param>
public sealed record DocumentProgress(string Id, string Status, int Total, int Embedded, int Failed)
{
    /// <summary>Ready or failed: nothing more will happen without a new request.</summary>
    public bool IsFinished => Status is "ready" or "failed";
}

/// <summary>
/// HTTP client of the two APIs: <c>POST /documents</c> (multipart file upload), <c>POST /documents/batch</c>
/// (NDJSON), <c>GET /documents/{id}</c>, <c>GET /models</c>, <c>GET /status</c> on Ingest.Api, and
/// <c>POST /search</c> on Search.Api. Sends <c>Authorization: Bearer {key}</c> when a key is given.
/// </summary>
public sealed class PipelineClient : IDisposable
{
    private readonly HttpClient _ingest;
    private readonly HttpClient _search;

    /// <summary>Creates the client.</summary>
    /// <param name="ingestUrl">Ingest.Api base URL, e.g. <c>http://127.0.0.1:5110</c>.</param>
    /// <param name="searchUrl">Search.Api base URL, e.g. <c>http://127.0.0.1:5120</c>.</param>
    /// <param name="apiKey">API key, or null when the services run without keys.</param>
    public PipelineClient(Uri ingestUrl, Uri searchUrl, string? apiKey)
    {
        _ingest = Create(ingestUrl, apiKey);
        _search = Create(searchUrl, apiKey);
    }

    /// <summary>Uploads one file as a document (<c>multipart/form-data</c>: <c>file</c>, <c>id</c>, <c>source</c>).</summary>
    /// <returns>The document id, its number of chunks, and how many of them were queued for embedding (the others were unchanged and keep their embeddings).</returns>
    /// <exception cref="PipelineApiException">The service refused the file (the message says why).</exception>
    /// <exception cref="HttpRequestException">The service is unreachable.</exception>
    public async Task<(string Id, int Chunks, int Queued)> UploadAsync(string path, string id, string? source, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        await using var file = File.OpenRead(path);
        var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaType(path));
        form.Add(content, "file", Path.GetFileName(path));
        form.Add(new StringContent(id), "id");
        if (source is not null)
        {
            form.Add(new StringContent(source), "source");
        }

        using var response = await _ingest.PostAsync("/documents", form, cancellationToken);
        var body = await ReadAsync(response, cancellationToken);
        var chunks = body.GetProperty("chunks").GetInt32();
        return (body.GetProperty("id").GetString()!, chunks, body.TryGetProperty("queued", out var queued) ? queued.GetInt32() : chunks);
    }

    /// <summary>Streams an NDJSON file (one document per line) to <c>POST /documents/batch</c>.</summary>
    /// <returns>Accepted document ids, and the rejected lines with their reasons.</returns>
    /// <exception cref="PipelineApiException">The service refused the whole request.</exception>
    public async Task<(IReadOnlyList<string> Accepted, IReadOnlyList<(int Line, string Reason)> Rejected)> PostBatchAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        using var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var response = await _ingest.PostAsync("/documents/batch", content, cancellationToken);
        var body = await ReadAsync(response, cancellationToken);
        var accepted = body.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!).ToList();
        var rejected = body.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("reason").GetString()!)).ToList();
        return (accepted, rejected);
    }

    /// <summary>A document's status and exact chunk counts.</summary>
    public async Task<DocumentProgress> GetDocumentAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await _ingest.GetAsync("/documents/" + Uri.EscapeDataString(id), cancellationToken);
        var body = await ReadAsync(response, cancellationToken);
        var chunks = body.GetProperty("chunks");
        return new DocumentProgress(id, body.GetProperty("status").GetString()!, chunks.GetProperty("total").GetInt32(),
            chunks.GetProperty("embedded").GetInt32(), chunks.GetProperty("failed").GetInt32());
    }

    /// <summary><c>POST /search</c>; the answer as JSON (<c>results</c>, <c>model</c>, <c>mode</c>).</summary>
    public async Task<JsonElement> SearchAsync(string query, string? mode, int topK, string? model, CancellationToken cancellationToken)
    {
        using var response = await _search.PostAsJsonAsync("/search", new { query, mode, topK, model }, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    /// <summary>GET on Ingest.Api (<c>/models</c>, <c>/status</c>); the answer as JSON.</summary>
    public async Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _ingest.GetAsync(path, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _ingest.Dispose();
        _search.Dispose();
    }

    /// <summary>The media type a file is sent with, from its extension (the service checks it against the bytes).</summary>
    public static string MediaType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".md" or ".markdown" => "text/markdown",
        ".html" or ".htm" => "text/html",
        ".docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".txt" or ".text" => "text/plain",
        _ => "application/octet-stream",
    };

    private static HttpClient Create(Uri baseAddress, string? apiKey)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(10) };
        if (!string.IsNullOrEmpty(apiKey))
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            try
            {
                var problem = JsonDocument.Parse(text).RootElement;
                var title = problem.TryGetProperty("title", out var t) ? t.GetString() : null;
                var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
                var errors = problem.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object
                    ? string.Join("; ", e.EnumerateObject().Select(p => $"{p.Name}: {string.Join(" ", p.Value.EnumerateArray().Select(v => v.GetString()))}"))
                    : null;
                message = string.Join(": ", new[] { title, detail ?? errors }.Where(s => !string.IsNullOrEmpty(s)));
            }
            catch (JsonException)
            {
                // Not problem details: keep the status line.
            }

            throw new PipelineApiException(response.StatusCode, message);
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
