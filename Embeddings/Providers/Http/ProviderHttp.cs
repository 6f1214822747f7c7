using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// What the HTTP providers share: JSON in and out, the bearer key, and turning every failure into an
/// <see cref="EmbeddingProviderException"/> that names provider, model, request and status.
/// </summary>
internal sealed class ProviderHttp
{
    /// <summary>Leaves optional members (<c>keep_alive</c>, <c>dimensions</c>) out when null.</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
    };

    private readonly HttpClient _client;
    private readonly string? _apiKey;

    public ProviderHttp(HttpClient client, string provider, string model, string? apiKey)
    {
        _client = client;
        Provider = provider;
        Model = model;
        _apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
    }

    public string Provider { get; }

    public string Model { get; }

    /// <summary>
    /// Normalises a configured endpoint into a base address ending in <c>/</c>, so that relative paths
    /// (<c>api/embed</c>) keep any path prefix of the endpoint.
    /// </summary>
    /// <exception cref="ArgumentException">Not an absolute http or https URL.</exception>
    public static Uri BaseAddress(string? endpoint, string paramName)
    {
        if (!Uri.TryCreate(endpoint?.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The endpoint '{endpoint}' is not an absolute http or https URL.", paramName);
        }

        var builder = new UriBuilder(uri) { Query = "", Fragment = "" };
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }

    /// <summary>Sends one request; returns the answer whatever its status.</summary>
    /// <exception cref="EmbeddingProviderException">No answer (connection error, timeout, open circuit).</exception>
    public async Task<ProviderResponse> SendAsync(HttpMethod method, Uri uri, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        if (body is not null)
        {
            // Bytes, not a stream: the resilience handler sends the same content again on a retry.
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        var describe = EmbeddingProviderException.Describe(method, uri);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new ProviderResponse(describe, response.StatusCode, bytes, AttemptHandler.Attempts(request));
        }
        catch (EmbeddingProviderException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException e)
        {
            // HttpClient.Timeout (when this client is used without the resilience handler).
            throw new EmbeddingProviderException(Provider, Model, $"{describe} got no answer in time: {e.Message}", innerException: e) { IsTransient = true };
        }
        catch (HttpRequestException e)
        {
            throw new EmbeddingProviderException(Provider, Model, $"{describe} failed: {e.Message}", (int?)e.StatusCode, e) { IsTransient = true };
        }
    }

    /// <summary>Posts <paramref name="body"/> as JSON and reads a <typeparamref name="TResponse"/> from a 2xx answer.</summary>
    /// <exception cref="EmbeddingProviderException">No answer, an error status, or a body that is not the expected JSON.</exception>
    public async Task<TResponse> PostJsonAsync<TResponse>(Uri uri, object body, CancellationToken cancellationToken)
        where TResponse : class
    {
        var response = await SendAsync(HttpMethod.Post, uri, body, cancellationToken).ConfigureAwait(false);
        return Read<TResponse>(response);
    }

    /// <summary>Reads a <typeparamref name="TResponse"/> from a 2xx answer.</summary>
    /// <exception cref="EmbeddingProviderException">An error status, or a body that is not the expected JSON.</exception>
    public TResponse Read<TResponse>(ProviderResponse response)
        where TResponse : class
    {
        if (!response.IsSuccess)
        {
            throw StatusError(response);
        }

        try
        {
            return JsonSerializer.Deserialize<TResponse>(response.Body, Json)
                ?? throw Invalid(response, "the body is JSON null");
        }
        catch (JsonException e)
        {
            throw Invalid(response, $"the body is not the expected JSON ({e.Message})", e);
        }
    }

    /// <summary>The exception for an error status.</summary>
    public EmbeddingProviderException StatusError(ProviderResponse response) =>
        EmbeddingProviderException.FromStatus(Provider, Model, response.Request, response.Status, response.Body, response.Attempts, _apiKey);

    /// <summary>The exception for a 2xx answer that breaks the protocol.</summary>
    public EmbeddingProviderException Invalid(ProviderResponse response, string problem, Exception? inner = null)
    {
        var excerpt = EmbeddingProviderException.Excerpt(response.Body, _apiKey);
        return new EmbeddingProviderException(
            Provider, Model, $"{response.Request} answered {(int)response.Status} but {problem}" + (excerpt.Length == 0 ? "." : $": {excerpt}"),
            (int)response.Status, inner);
    }
}

/// <summary>One answer: the request it belongs to (for messages), status, body bytes and attempts made.</summary>
internal sealed record ProviderResponse(string Request, HttpStatusCode Status, byte[] Body, int Attempts)
{
    public bool IsSuccess => (int)Status is >= 200 and <= 299;
}
