using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.Ollama;

/// <summary>
/// Embeds texts with an Ollama server (Ollama API, <c>POST /api/embed</c>): one request per call with body
/// <c>{"model": name, "input": [texts], "truncate": bool, "keep_alive": "5m"?}</c>, answer
/// <c>{"model": name, "embeddings": [[float, ...], ...], "prompt_eval_count": n, ...}</c> with one vector per
/// input text, in input order. The vectors are returned as the server sends them (length and normalisation are
/// checked by the pipeline that <see cref="EmbeddingGeneratorFactory"/> puts around every provider); batching is
/// that pipeline's job too.
/// <para>
/// Swapping in OllamaSharp (its <c>OllamaApiClient</c> implements the same
/// <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/>) is a one-line change in
/// <see cref="EmbeddingGeneratorFactory"/>: replace <c>new OllamaEmbeddingGenerator(httpClient, options, disposeHttpClient: true)</c>
/// with <c>new OllamaApiClient(httpClient, options.Model)</c>; the factory already sets
/// <see cref="HttpClient.BaseAddress"/> to the endpoint, and the batching, validation and resilience around it stay.
/// </para>
/// </summary>
public sealed class OllamaEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "ollama";

    /// <summary>Path of the embedding endpoint, relative to <see cref="Endpoint"/>.</summary>
    public const string EmbedPath = "api/embed";

    private readonly HttpClient _httpClient;
    private readonly bool _disposeHttpClient;
    private readonly ProviderHttp _http;
    private readonly Uri _embedUri;
    private readonly bool _truncate;
    private readonly string? _keepAlive;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates the generator.</summary>
    /// <param name="httpClient">Client to send with (normally with <see cref="EmbeddingResilienceHandler"/> in its handler chain).</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Endpoint"/> (absolute http(s) URL, for example
    /// <c>http://localhost:11434</c>), <see cref="EmbeddingModelOptions.Model"/>, <see cref="EmbeddingModelOptions.Dimensions"/>
    /// (reported in metadata only), <see cref="EmbeddingModelOptions.Truncate"/> and <see cref="EmbeddingModelOptions.KeepAlive"/>.</param>
    /// <param name="disposeHttpClient">Dispose <paramref name="httpClient"/> with this generator.</param>
    /// <exception cref="ArgumentException">Endpoint is not an absolute http(s) URL, or Model is blank.</exception>
    public OllamaEmbeddingGenerator(HttpClient httpClient, EmbeddingModelOptions options, bool disposeHttpClient = false)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Model, nameof(options) + ".Model");
        Endpoint = ProviderHttp.BaseAddress(options.Endpoint, nameof(options) + ".Endpoint");
        Model = options.Model;
        _httpClient = httpClient;
        _disposeHttpClient = disposeHttpClient;
        _http = new ProviderHttp(httpClient, ProviderName, Model, apiKey: null);
        _embedUri = new Uri(Endpoint, EmbedPath);
        _truncate = options.Truncate;
        _keepAlive = string.IsNullOrWhiteSpace(options.KeepAlive) ? null : options.KeepAlive.Trim();
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, Endpoint, Model, options.Dimensions);
    }

    /// <summary>Base address of the server, ending in <c>/</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>Model name sent as <c>model</c>.</summary>
    public string Model { get; }

    /// <summary>
    /// Embeds all <paramref name="values"/> in one <c>POST /api/embed</c>. An empty input returns an empty result
    /// without a request. Output order = input order.
    /// </summary>
    /// <exception cref="ArgumentException">A text is null.</exception>
    /// <exception cref="EmbeddingProviderException">The server failed or answered something other than one vector per text.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = ProviderInput.Materialize(values);
        if (texts.Count == 0)
        {
            return [];
        }

        var request = new EmbedRequest(Model, texts, _truncate, _keepAlive);
        var response = await _http.SendAsync(HttpMethod.Post, _embedUri, request, cancellationToken).ConfigureAwait(false);
        var body = _http.Read<EmbedResponse>(response);
        if (body.Embeddings is not { } vectors || vectors.Length != texts.Count)
        {
            throw _http.Invalid(response, $"returned {body.Embeddings?.Length ?? 0} embeddings for {texts.Count} texts");
        }

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        for (var i = 0; i < vectors.Length; i++)
        {
            if (vectors[i] is null)
            {
                throw _http.Invalid(response, $"embedding {i} is null");
            }

            result.Add(new Embedding<float>(vectors[i]) { ModelId = body.Model ?? Model, CreatedAt = now });
        }

        if (body.PromptEvalCount is { } tokens)
        {
            result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        }

        return result;
    }

    /// <summary>Returns <see cref="EmbeddingGeneratorMetadata"/> (provider <c>ollama</c>, endpoint, model, dimensions) or this instance.</summary>
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

    private sealed record EmbedRequest(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("input")] IReadOnlyList<string> Input,
        [property: JsonPropertyName("truncate")] bool Truncate,
        [property: JsonPropertyName("keep_alive")] string? KeepAlive);

    private sealed record EmbedResponse(
        [property: JsonPropertyName("model")] string? Model,
        [property: JsonPropertyName("embeddings")] float[][]? Embeddings,
        [property: JsonPropertyName("prompt_eval_count")] long? PromptEvalCount);
}
