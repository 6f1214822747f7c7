using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.Embeddings.Providers.CustomHttp;
using VectorPipeline.Embeddings.Providers.Http;
using VectorPipeline.Embeddings.Providers.Ollama;
using VectorPipeline.Embeddings.Providers.OpenAI;

namespace VectorPipeline.Embeddings.Providers;

/// <summary>
/// Health check of the model server of one model, with one cheap request, a <see cref="ProbeTimeout"/> limit and
/// no retries:
/// <list type="bullet">
/// <item><c>http</c>: <c>GET /health</c> (custom server contract); 2xx = Healthy.</item>
/// <item><c>ollama</c>: <c>GET /api/version</c> (Ollama API); 2xx = Healthy, the description carries the version.</item>
/// <item><c>openai</c>: Healthy with description "not probed": the API has no free probe (listing models costs a
/// request against rate limits and would not prove that embeddings work).</item>
/// <item><c>hashing</c>, <c>onnx</c>: Healthy (in-process; an <c>onnx</c> model that cannot load stops the service at start).</item>
/// </list>
/// Any other answer, a connection error or a timeout gives the registration's failure status (Unhealthy when
/// there is no registration) with the status or error in the description.
/// </summary>
public sealed class EmbeddingServerHealthCheck : IHealthCheck, IDisposable
{
    /// <summary>Time limit of the probe: 5 s.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly string _provider;
    private readonly string? _model;
    private readonly Uri? _probeUri;
    private readonly string? _apiKey;
    private readonly HttpClient? _httpClient;
    private readonly bool _disposeHttpClient;

    /// <summary>Creates the check for one model.</summary>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Provider"/> (lower case; onnx when empty),
    /// <see cref="EmbeddingModelOptions.Model"/>, <see cref="EmbeddingModelOptions.Endpoint"/> and <see cref="EmbeddingModelOptions.ApiKey"/>.</param>
    /// <param name="httpClient">Client for the probe; null = a private one (disposed with this check). Its own
    /// timeout and handlers apply in addition to <see cref="ProbeTimeout"/>; it should not retry.</param>
    /// <exception cref="ArgumentException">Unknown provider, or an http/ollama provider without an absolute http(s) endpoint.</exception>
    public EmbeddingServerHealthCheck(EmbeddingModelOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _provider = string.IsNullOrWhiteSpace(options.Provider) ? HashingEmbeddingGenerator.ProviderName : options.Provider;
        _model = options.Model;
        _apiKey = string.IsNullOrEmpty(options.ApiKey) ? null : options.ApiKey;
        _probeUri = _provider switch
        {
            CustomHttpEmbeddingGenerator.ProviderName => new Uri(ProviderHttp.BaseAddress(options.Endpoint, nameof(options)), CustomHttpEmbeddingGenerator.HealthPath),
            OllamaProvider.ProviderName => new Uri(ProviderHttp.BaseAddress(options.Endpoint, nameof(options)), OllamaProvider.VersionPath),
            OpenAIProvider.ProviderName or HashingEmbeddingGenerator.ProviderName or Onnx.OnnxModelDefinition.ProviderName => null,
            _ => throw new ArgumentException($"Unknown embedding provider '{_provider}'.", nameof(options)),
        };
        if (_probeUri is not null)
        {
            _httpClient = httpClient ?? new HttpClient(new SocketsHttpHandler { ConnectTimeout = ProbeTimeout }) { Timeout = ProbeTimeout };
            _disposeHttpClient = httpClient is null;
        }
    }

    /// <summary>The URL probed, or null when the provider is not probed (<c>openai</c>, <c>hashing</c>).</summary>
    public Uri? ProbeUri => _probeUri;

    /// <summary>Probes the server once (see the class summary).</summary>
    /// <param name="context">The registration (its failure status is used); may be null.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns>Healthy, or the failure status with the reason; data holds <c>provider</c>, <c>model</c> and <c>endpoint</c>.</returns>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["provider"] = _provider,
            ["model"] = _model ?? "",
        };
        if (_probeUri is null)
        {
            return _provider switch
            {
                OpenAIProvider.ProviderName => HealthCheckResult.Healthy("not probed", data),
                Onnx.OnnxModelDefinition.ProviderName => HealthCheckResult.Healthy("in-process ONNX model", data),
                _ => HealthCheckResult.Healthy("built-in hashing embedder", data),
            };
        }

        data["endpoint"] = _probeUri.GetLeftPart(UriPartial.Authority);
        var failure = context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        var describe = EmbeddingProviderException.Describe(HttpMethod.Get, _probeUri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _probeUri);
            if (_apiKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
            }

            using var response = await _httpClient!.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var excerpt = EmbeddingProviderException.Excerpt(body, _apiKey);
                return new HealthCheckResult(failure, $"{describe} answered {(int)response.StatusCode} {response.StatusCode}" + (excerpt.Length == 0 ? "" : $": {excerpt}"), data: data);
            }

            return HealthCheckResult.Healthy(
                _provider == OllamaProvider.ProviderName && OllamaVersion(body) is { } version ? $"Ollama {version}" : $"{describe} answered {(int)response.StatusCode}",
                data);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, $"{describe} got no answer within {ProbeTimeout.TotalSeconds:0} s", data: data);
        }
        catch (HttpRequestException e)
        {
            return new HealthCheckResult(failure, $"{describe} failed: {e.Message}", e, data);
        }
    }

    /// <summary>Disposes the private probe client, if any.</summary>
    public void Dispose()
    {
        if (_disposeHttpClient)
        {
            _httpClient?.Dispose();
        }
    }

    private static string? OllamaVersion(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String
                ? version.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
