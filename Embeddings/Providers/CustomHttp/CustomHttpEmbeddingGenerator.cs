using System.Net;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.CustomHttp;

/// <summary>
/// Embeds texts with a home-made model server (typically FastAPI with sentence-transformers) that speaks this
/// contract:
/// <list type="bullet">
/// <item><c>POST /batch_embed</c> <c>{"texts": [texts]}</c> → <c>{"embeddings": [[float, ...], ...], "dimensions": n}</c>, one vector per text in input order;</item>
/// <item><c>POST /embed</c> <c>{"text": text}</c> → <c>{"embedding": [float, ...], "dimensions": n}</c>;</item>
/// <item><c>GET /health</c> → 2xx when the model is loaded (see <see cref="EmbeddingServerHealthCheck"/>).</item>
/// </list>
/// <c>Authorization: Bearer {ApiKey}</c> is sent when a key is set. Each call uses <c>/batch_embed</c>; when a
/// server answers it with 404 (it only has <c>/embed</c>), this instance remembers that and from then on sends one
/// <c>/embed</c> request per text. The <c>dimensions</c> field must equal the length of every returned vector.
/// Length against the configured model and normalisation are checked by the pipeline
/// <see cref="EmbeddingGeneratorFactory"/> puts around every provider.
/// </summary>
public sealed class CustomHttpEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "http";

    /// <summary>Path of the batch endpoint, relative to <see cref="Endpoint"/>.</summary>
    public const string BatchEmbedPath = "batch_embed";

    /// <summary>Path of the single-text endpoint, relative to <see cref="Endpoint"/>.</summary>
    public const string EmbedPath = "embed";

    /// <summary>Path of the health endpoint, relative to <see cref="Endpoint"/>.</summary>
    public const string HealthPath = "health";

    private readonly HttpClient _httpClient;
    private readonly bool _disposeHttpClient;
    private readonly ProviderHttp _http;
    private readonly Uri _batchUri;
    private readonly Uri _singleUri;
    private readonly EmbeddingGeneratorMetadata _metadata;
    private volatile bool _batchUnsupported;

    /// <summary>Creates the generator.</summary>
    /// <param name="httpClient">Client to send with (normally from <see cref="EmbeddingHttpClient.Create"/>, with its resilience).</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Endpoint"/> (absolute http(s) URL of the server root),
    /// <see cref="EmbeddingModelOptions.Model"/> (a label: the protocol has no model field), <see cref="EmbeddingModelOptions.Dimensions"/>
    /// (metadata only) and <see cref="EmbeddingModelOptions.ApiKey"/>.</param>
    /// <param name="disposeHttpClient">Dispose <paramref name="httpClient"/> with this generator.</param>
    /// <exception cref="ArgumentException">Endpoint is not an absolute http(s) URL, or Model is blank.</exception>
    public CustomHttpEmbeddingGenerator(HttpClient httpClient, EmbeddingModelOptions options, bool disposeHttpClient = false)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Model, nameof(options) + ".Model");
        Endpoint = ProviderHttp.BaseAddress(options.Endpoint, nameof(options) + ".Endpoint");
        Model = options.Model;
        _httpClient = httpClient;
        _disposeHttpClient = disposeHttpClient;
        _http = new ProviderHttp(httpClient, ProviderName, Model, options.ApiKey);
        _batchUri = new Uri(Endpoint, BatchEmbedPath);
        _singleUri = new Uri(Endpoint, EmbedPath);
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, Endpoint, Model, options.Dimensions);
    }

    /// <summary>Base address of the server, ending in <c>/</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>Model label (not sent: the protocol has no model field).</summary>
    public string Model { get; }

    /// <summary>True once the server answered 404 to <c>/batch_embed</c>: this instance then uses <c>/embed</c> per text.</summary>
    public bool UsesSingleTextEndpoint => _batchUnsupported;

    /// <summary>
    /// Embeds all <paramref name="values"/> with one <c>POST /batch_embed</c>, or one <c>POST /embed</c> per text once
    /// the server has shown it has no batch endpoint. An empty input returns an empty result without a request.
    /// Output order = input order.
    /// </summary>
    /// <exception cref="ArgumentException">A text is null.</exception>
    /// <exception cref="EmbeddingProviderException">The server failed, answered the wrong number of vectors, or a
    /// <c>dimensions</c> field that differs from a vector's length.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = ProviderInput.Materialize(values);
        if (texts.Count == 0)
        {
            return [];
        }

        if (!_batchUnsupported)
        {
            var response = await _http.SendAsync(HttpMethod.Post, _batchUri, new BatchRequest(texts), cancellationToken).ConfigureAwait(false);
            if (response.Status != HttpStatusCode.NotFound)
            {
                return ReadBatch(response, texts.Count);
            }

            _batchUnsupported = true;
        }

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        foreach (var text in texts)
        {
            var response = await _http.SendAsync(HttpMethod.Post, _singleUri, new SingleRequest(text), cancellationToken).ConfigureAwait(false);
            var body = _http.Read<SingleResponse>(response);
            var vector = body.Embedding ?? throw _http.Invalid(response, "has no embedding");
            CheckDimensionsField(response, body.Dimensions, vector, 0);
            result.Add(new Embedding<float>(vector) { ModelId = Model, CreatedAt = now });
        }

        return result;
    }

    /// <summary>Returns <see cref="EmbeddingGeneratorMetadata"/> (provider <c>http</c>, endpoint, model, dimensions) or this instance.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Disposes the <see cref="HttpClient"/> when this instance owns it.</summary>
    public void Dispose()
    {
        if (_disposeHttpClient)
        {
            _httpClient.Dispose();
        }
    }

    private GeneratedEmbeddings<Embedding<float>> ReadBatch(ProviderResponse response, int count)
    {
        var body = _http.Read<BatchResponse>(response);
        if (body.Embeddings is not { } vectors || vectors.Length != count)
        {
            throw _http.Invalid(response, $"returned {body.Embeddings?.Length ?? 0} embeddings for {count} texts");
        }

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(count);
        for (var i = 0; i < vectors.Length; i++)
        {
            var vector = vectors[i] ?? throw _http.Invalid(response, $"embedding {i} is null");
            CheckDimensionsField(response, body.Dimensions, vector, i);
            result.Add(new Embedding<float>(vector) { ModelId = Model, CreatedAt = now });
        }

        return result;
    }

    private void CheckDimensionsField(ProviderResponse response, int? dimensions, float[] vector, int index)
    {
        if (dimensions is { } declared && declared != vector.Length)
        {
            throw _http.Invalid(response, $"says \"dimensions\": {declared} while embedding {index} has {vector.Length} values");
        }
    }

    private sealed record BatchRequest([property: JsonPropertyName("texts")] IReadOnlyList<string> Texts);

    private sealed record BatchResponse(
        [property: JsonPropertyName("embeddings")] float[]?[]? Embeddings,
        [property: JsonPropertyName("dimensions")] int? Dimensions);

    private sealed record SingleRequest([property: JsonPropertyName("text")] string Text);

    private sealed record SingleResponse(
        [property: JsonPropertyName("embedding")] float[]? Embedding,
        [property: JsonPropertyName("dimensions")] int? Dimensions);
}
