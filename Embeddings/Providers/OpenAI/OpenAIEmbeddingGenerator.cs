using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.OpenAI;

/// <summary>
/// Embeds texts with an OpenAI-compatible server (OpenAI API reference, "Create embeddings",
/// <c>POST /v1/embeddings</c>; also served by vLLM, LocalAI, LM Studio, text-embeddings-inference and others):
/// body <c>{"input": [texts], "model": name, "encoding_format": "float", "dimensions": n?}</c> (<c>dimensions</c>
/// only with <see cref="EmbeddingModelOptions.SendDimensions"/>), header <c>Authorization: Bearer {ApiKey}</c> when a
/// key is set; answer <c>{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [float, ...]}, ...],
/// "model": name, "usage": {"prompt_tokens": n, "total_tokens": n}}</c>. Servers may list <c>data</c> in any
/// order: results are put back in input order by <c>index</c>, and a missing, repeated or out-of-range index is an
/// error. Length and normalisation of the vectors are checked by the pipeline <see cref="EmbeddingGeneratorFactory"/>
/// puts around every provider.
/// </summary>
public sealed class OpenAIEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "openai";

    /// <summary>Path of the embedding endpoint, relative to <see cref="Endpoint"/>.</summary>
    public const string EmbeddingsPath = "v1/embeddings";

    private readonly HttpClient _httpClient;
    private readonly bool _disposeHttpClient;
    private readonly ProviderHttp _http;
    private readonly Uri _embeddingsUri;
    private readonly int? _sendDimensions;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates the generator.</summary>
    /// <param name="httpClient">Client to send with (normally with <see cref="EmbeddingResilienceHandler"/> in its handler chain).</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Endpoint"/> (absolute http(s) URL, the part before
    /// <c>/v1/embeddings</c>; a trailing <c>/v1</c> is accepted, and a URL ending in <c>/embeddings</c> is used as it is), <see cref="EmbeddingModelOptions.Model"/>,
    /// <see cref="EmbeddingModelOptions.Dimensions"/>, <see cref="EmbeddingModelOptions.SendDimensions"/> and
    /// <see cref="EmbeddingModelOptions.ApiKey"/>.</param>
    /// <param name="disposeHttpClient">Dispose <paramref name="httpClient"/> with this generator.</param>
    /// <exception cref="ArgumentException">Endpoint is not an absolute http(s) URL, Model is blank, or SendDimensions is set without Dimensions.</exception>
    public OpenAIEmbeddingGenerator(HttpClient httpClient, EmbeddingModelOptions options, bool disposeHttpClient = false)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Model, nameof(options) + ".Model");
        if (options.SendDimensions && options.Dimensions is null)
        {
            throw new ArgumentException("SendDimensions needs Dimensions.", nameof(options));
        }

        Endpoint = ApiBase(options.Endpoint);
        Model = options.Model;
        _httpClient = httpClient;
        _disposeHttpClient = disposeHttpClient;
        _http = new ProviderHttp(httpClient, ProviderName, Model, options.ApiKey);
        // An endpoint that already names the embeddings resource (GitHub Models: https://models.github.ai/inference/embeddings) is used as given.
        _embeddingsUri = ProviderHttp.BaseAddress(options.Endpoint, nameof(options)).AbsolutePath.EndsWith("/embeddings/", StringComparison.OrdinalIgnoreCase)
            ? new Uri(options.Endpoint!.Trim().TrimEnd('/'))
            : new Uri(Endpoint, EmbeddingsPath);
        _sendDimensions = options.SendDimensions ? options.Dimensions : null;
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, Endpoint, Model, options.Dimensions);
    }

    /// <summary>Base address of the server without <c>/v1</c>, ending in <c>/</c> (for example <c>https://api.example.com/</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>Model name sent as <c>model</c>.</summary>
    public string Model { get; }

    /// <summary>
    /// The base address for <paramref name="endpoint"/>: a trailing <c>/v1</c> (or <c>/v1/</c>) is removed, so that
    /// <c>http://host:8000</c> and <c>http://host:8000/v1</c> both lead to <c>http://host:8000/v1/embeddings</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Not an absolute http(s) URL.</exception>
    public static Uri ApiBase(string? endpoint)
    {
        var uri = ProviderHttp.BaseAddress(endpoint, nameof(endpoint));
        if (uri.AbsolutePath.EndsWith("/v1/", StringComparison.OrdinalIgnoreCase))
        {
            var builder = new UriBuilder(uri);
            builder.Path = builder.Path[..^"v1/".Length];
            uri = builder.Uri;
        }

        return uri;
    }

    /// <summary>
    /// Embeds all <paramref name="values"/> in one <c>POST /v1/embeddings</c>. An empty input returns an empty
    /// result without a request. Output order = input order, whatever the order of <c>data</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A text is null.</exception>
    /// <exception cref="EmbeddingProviderException">The server failed, or <c>data</c> does not hold exactly one embedding for
    /// each index 0..n−1.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = ProviderInput.Materialize(values);
        if (texts.Count == 0)
        {
            return [];
        }

        var request = new EmbeddingsRequest(texts, Model, "float", _sendDimensions);
        var response = await _http.SendAsync(HttpMethod.Post, _embeddingsUri, request, cancellationToken).ConfigureAwait(false);
        var body = _http.Read<EmbeddingsResponse>(response);
        if (body.Data is not { } data || data.Length != texts.Count)
        {
            throw _http.Invalid(response, $"returned {body.Data?.Length ?? 0} embeddings for {texts.Count} texts");
        }

        var ordered = new float[texts.Count][];
        foreach (var item in data)
        {
            if (item?.Index is not { } index || index < 0 || index >= texts.Count)
            {
                throw _http.Invalid(response, $"an item of data has index {item?.Index?.ToString() ?? "(missing)"}, outside 0..{texts.Count - 1}");
            }

            if (ordered[index] is not null)
            {
                throw _http.Invalid(response, $"index {index} appears twice in data");
            }

            ordered[index] = item.Embedding ?? throw _http.Invalid(response, $"the embedding of index {index} is missing (a float array was asked for)");
        }

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        foreach (var vector in ordered)
        {
            result.Add(new Embedding<float>(vector) { ModelId = body.Model ?? Model, CreatedAt = now });
        }

        if (body.Usage is { } usage)
        {
            result.Usage = new UsageDetails { InputTokenCount = usage.PromptTokens, TotalTokenCount = usage.TotalTokens };
        }

        return result;
    }

    /// <summary>Returns <see cref="EmbeddingGeneratorMetadata"/> (provider <c>openai</c>, endpoint, model, dimensions) or this instance.</summary>
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

    private sealed record EmbeddingsRequest(
        [property: JsonPropertyName("input")] IReadOnlyList<string> Input,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("encoding_format")] string EncodingFormat,
        [property: JsonPropertyName("dimensions")] int? Dimensions);

    private sealed record EmbeddingsResponse(
        [property: JsonPropertyName("data")] EmbeddingItem?[]? Data,
        [property: JsonPropertyName("model")] string? Model,
        [property: JsonPropertyName("usage")] EmbeddingsUsage? Usage);

    private sealed record EmbeddingItem(
        [property: JsonPropertyName("index")] int? Index,
        [property: JsonPropertyName("embedding")] float[]? Embedding);

    private sealed record EmbeddingsUsage(
        [property: JsonPropertyName("prompt_tokens")] long? PromptTokens,
        [property: JsonPropertyName("total_tokens")] long? TotalTokens);
}
