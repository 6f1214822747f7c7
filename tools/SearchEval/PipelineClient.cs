using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>A failure that ends the run; the message is meant for the user as is.</summary>
internal sealed class EvalException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Search.Api refused a search (HTTP 400); the message holds its problem details.</summary>
internal sealed class SearchRefusedException(string message) : Exception(message);

/// <summary>One search answer: the document id and the chunk id of every result chunk, in rank order, and the model that answered.</summary>
internal sealed record SearchAnswer(IReadOnlyList<string?> DocumentIds, string? Model, IReadOnlyList<long> ChunkIds);

/// <summary>Ingest.Api and Search.Api over HTTP, with errors turned into messages that say what to do.</summary>
internal sealed class PipelineClient(HttpClient http, EvalOptions options, TextWriter progress)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(10);

    /// <summary>Fails with a hint to start the services when <paramref name="baseUri"/> cannot be reached; warns when it reports unhealthy.</summary>
    public async Task CheckReachableAsync(string service, string option, Uri baseUri, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(service, option, baseUri, () => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "health")), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            await progress.WriteLineAsync($"warning: {service} at {Display(baseUri)} answers /health with {(int)response.StatusCode} {response.ReasonPhrase}: {Shorten(body)}");
        }
    }

    /// <summary>Posts every document (bounded parallelism); fails on the first refusal.</summary>
    public async Task PostDocumentsAsync(IReadOnlyList<EvalDocument> documents, CancellationToken cancellationToken)
    {
        int posted = 0, chunks = 0, queued = 0;
        var step = Math.Max(1, documents.Count / 10);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(documents, new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken }, async (document, ct) =>
        {
            var body = new { id = document.Id, title = document.Title, text = document.Text, source = document.Source, metadata = document.Metadata };
            using var response = await SendAsync("Ingest.Api", "--ingest", options.Ingest,
                () => new HttpRequestMessage(HttpMethod.Post, new Uri(options.Ingest, "documents")) { Content = JsonBody(body) }, ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new EvalException($"Ingest.Api refused document '{document.Id}': {await ProblemAsync(response, ct)}");
            }

            var answer = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            Interlocked.Add(ref chunks, answer.TryGetProperty("chunks", out var c) && c.TryGetInt32(out var n) ? n : 0);
            Interlocked.Add(ref queued, answer.TryGetProperty("queued", out var q) && q.TryGetInt32(out var m) ? m : 0);
            var done = Interlocked.Increment(ref posted);
            if (done % step == 0 || done == documents.Count)
            {
                lock (progress)
                {
                    progress.WriteLine($"posted {done}/{documents.Count}");
                }
            }
        });
        await progress.WriteLineAsync($"posted {documents.Count} documents in {clock.Elapsed.TotalSeconds:F1} s: {chunks} chunks, {queued} queued for embedding (unchanged chunks keep their embeddings)");
    }

    /// <summary>Polls <c>GET /documents/{id}</c> until every document is <c>ready</c>; fails on <c>failed</c>, a missing document or the timeout.</summary>
    public async Task WaitUntilReadyAsync(IReadOnlyList<EvalDocument> documents, CancellationToken cancellationToken)
    {
        var pending = documents.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var lastPrinted = -1;
        var lastPrintTime = TimeSpan.Zero;
        while (true)
        {
            var states = new Dictionary<string, int>(StringComparer.Ordinal);
            var ready = new List<string>();
            await Parallel.ForEachAsync(pending.ToList(), new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken }, async (id, ct) =>
            {
                var state = await DocumentStatusAsync(id, ct);
                lock (states)
                {
                    states[state] = states.GetValueOrDefault(state) + 1;
                    if (state == "ready")
                    {
                        ready.Add(id);
                    }
                }
            });
            pending.ExceptWith(ready);

            var readyCount = documents.Count - pending.Count;
            if (readyCount != lastPrinted || clock.Elapsed - lastPrintTime >= ProgressInterval || pending.Count == 0)
            {
                var others = string.Join(", ", states.Where(s => s.Key != "ready").OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} {s.Value}"));
                await progress.WriteLineAsync($"ready {readyCount}/{documents.Count}{(others.Length > 0 ? $" ({others})" : "")} after {clock.Elapsed.TotalSeconds:F0} s");
                (lastPrinted, lastPrintTime) = (readyCount, clock.Elapsed);
            }

            if (pending.Count == 0)
            {
                return;
            }

            if (clock.Elapsed >= options.ReadyTimeout)
            {
                throw new EvalException($"{pending.Count} of {documents.Count} documents are not ready after {options.ReadyTimeout.TotalSeconds:F0} s (e.g. '{pending.First()}'). " +
                    "Are the Embed.Worker processes running? Check their logs, or give more time with --timeout SECONDS.");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>Asks one question; throws <see cref="SearchRefusedException"/> on a 400 and <see cref="EvalException"/> on other failures.</summary>
    public Task<SearchAnswer> SearchAsync(string query, string mode, CancellationToken cancellationToken) =>
        SearchAsync(new { query, topK = RetrievalMetrics.Depth, mode, efSearch = options.EfSearch }, query, mode, cancellationToken);

    /// <summary>
    /// Asks one question in vector mode through the HNSW index with <c>efSearch</c> <paramref name="efSearch"/>,
    /// or, when it is null, as an exact scan (<c>"exact": true</c>); same errors as <see cref="SearchAsync(string, string, CancellationToken)"/>.
    /// </summary>
    public Task<SearchAnswer> VectorSearchAsync(string query, int? efSearch, CancellationToken cancellationToken) =>
        efSearch is { } ef
            ? SearchAsync(new { query, topK = RetrievalMetrics.Depth, mode = "vector", efSearch = ef }, query, $"vector, efSearch {ef}", cancellationToken)
            : SearchAsync(new { query, topK = RetrievalMetrics.Depth, mode = "vector", exact = true }, query, "vector, exact", cancellationToken);

    private async Task<SearchAnswer> SearchAsync(object body, string query, string mode, CancellationToken cancellationToken)
    {
        using var response = await SendAsync("Search.Api", "--search", options.Search,
            () => new HttpRequestMessage(HttpMethod.Post, new Uri(options.Search, "search")) { Content = JsonBody(body) }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            throw new SearchRefusedException($"Search.Api refused the search in mode '{mode}' ({await ProblemAsync(response, cancellationToken)}); query: \"{Shorten(query)}\"");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EvalException($"Search.Api failed in mode '{mode}': {await ProblemAsync(response, cancellationToken)}; query: \"{Shorten(query)}\"");
        }

        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        if (!answer.TryGetProperty("results", out var results) || results.ValueKind != JsonValueKind.Array)
        {
            throw new EvalException($"Search.Api answered without a \"results\" array: {Shorten(answer.GetRawText())}");
        }

        var ids = results.EnumerateArray()
            .Select(r => r.TryGetProperty("documentId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null)
            .ToList();
        var chunkIds = results.EnumerateArray()
            .Select(r => r.TryGetProperty("chunkId", out var id) && id.TryGetInt64(out var chunk) ? chunk : -1)
            .ToList();
        var model = answer.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return new SearchAnswer(ids, model, chunkIds);
    }

    private async Task<string> DocumentStatusAsync(string id, CancellationToken cancellationToken)
    {
        // Each path segment escaped, slashes kept: what Ingest.Api's catch-all route and its statusUrl expect.
        var path = "documents/" + string.Join('/', id.Split('/').Select(Uri.EscapeDataString));
        using var response = await SendAsync("Ingest.Api", "--ingest", options.Ingest, () => new HttpRequestMessage(HttpMethod.Get, new Uri(options.Ingest, path)), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new EvalException($"document '{id}' is not in Ingest.Api any more (deleted while waiting?)");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EvalException($"Ingest.Api failed to report document '{id}': {await ProblemAsync(response, cancellationToken)}");
        }

        var status = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var state = status.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
        if (state == "failed")
        {
            var error = status.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
                && errors[0].TryGetProperty("error", out var e) ? e.GetString() : null;
            var chunks = status.TryGetProperty("chunks", out var c) ? c.GetRawText() : "?";
            throw new EvalException($"document '{id}' failed to embed (chunks {chunks}){(error is null ? "" : $": {error}")}. See the Embed.Worker logs.");
        }

        return state;
    }

    private async Task<HttpResponseMessage> SendAsync(string service, string option, Uri baseUri, Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        using var message = request();
        try
        {
            return await http.SendAsync(message, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            throw new EvalException($"cannot reach {service} at {Display(baseUri)} ({ex.Message}). " +
                $"Start the pipeline with `dotnet run --project AppHost` in another terminal and wait until the dashboard shows every resource healthy, or point {option} at a running {service}.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new EvalException($"{service} at {Display(baseUri)}: {message.Method} {message.RequestUri?.AbsolutePath} failed: {ex.Message}{(ex.InnerException is { } inner ? $" ({inner.Message})" : "")}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EvalException($"{service} at {Display(baseUri)} did not answer {message.Method} {message.RequestUri?.AbsolutePath} within {http.Timeout.TotalSeconds:F0} s", ex);
        }
    }

    /// <summary>Status line and, when the body is RFC 9457 problem details, its title, detail and field errors.</summary>
    internal static string FormatProblem(int status, string? reason, string body)
    {
        var text = new StringBuilder($"{status} {reason}".TrimEnd());
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return text.Append(": ").Append(Shorten(body)).ToString();
            }

            foreach (var field in new[] { "title", "detail" })
            {
                if (root.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    text.Append(field == "title" ? ": " : " ").Append(value.GetString());
                }
            }

            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                foreach (var error in errors.EnumerateObject())
                {
                    var messages = error.Value.ValueKind == JsonValueKind.Array
                        ? string.Join(" ", error.Value.EnumerateArray().Select(m => m.ToString()))
                        : error.Value.ToString();
                    text.Append(" [").Append(error.Name).Append(": ").Append(messages).Append(']');
                }
            }

            return text.ToString();
        }
        catch (JsonException)
        {
            return string.IsNullOrWhiteSpace(body) ? text.ToString() : text.Append(": ").Append(Shorten(body)).ToString();
        }
    }

    // Serialised up front so the request carries Content-Length rather than a chunked body.
    private static StringContent JsonBody<T>(T body) => new(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");

    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        FormatProblem((int)response.StatusCode, response.ReasonPhrase, await response.Content.ReadAsStringAsync(cancellationToken));

    internal static string Display(Uri baseUri) => baseUri.AbsoluteUri.TrimEnd('/');

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
