using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.OpenAI;

/// <summary>
/// The <c>openai</c> provider: the OpenAI client's <see cref="EmbeddingClient"/> through Microsoft.Extensions.AI.OpenAI
/// (OpenAI API, "Create embeddings", <c>POST {api root}/embeddings</c>), for OpenAI and OpenAI-compatible servers
/// (vLLM, text-embeddings-inference, LM Studio, llama.cpp, GitHub Models). The client sends over the
/// <see cref="HttpClient"/> of <see cref="EmbeddingHttpClient"/> with its own retries off (the resilience pipeline
/// retries), asks for base64-encoded vectors, and sends <c>dimensions</c> only with
/// <see cref="EmbeddingModelOptions.SendDimensions"/>. Results are put back in input order by their <c>index</c>
/// (TODO).
/// </summary>
public static class OpenAIProvider
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "openai";

    /// <summary>
    /// The server's base address without <c>/v1</c> or <c>/embeddings</c>, ending in <c>/</c>: <c>http://host:8000</c>,
    /// <c>http://host:8000/v1</c> and <c>http://host:8000/v1/embeddings</c> all give <c>http://host:8000/</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Not an absolute http(s) URL.</exception>
    public static Uri ApiBase(string? endpoint)
    {
        var uri = ProviderHttp.BaseAddress(endpoint, nameof(endpoint));
        foreach (var suffix in new[] { "embeddings/", "v1/" })
        {
            if (uri.AbsolutePath.EndsWith("/" + suffix, StringComparison.OrdinalIgnoreCase))
            {
                uri = new UriBuilder(uri) { Path = uri.AbsolutePath[..^suffix.Length] }.Uri;
            }
        }

        return uri;
    }

    /// <summary>
    /// The API root the client appends <c>/embeddings</c> to: the configured endpoint without a trailing <c>/embeddings</c>;
    /// <c>/v1</c> is added to a bare server address (<c>http://host:8000</c>) but not to one that names its API root
    /// (<c>https://models.github.ai/inference/embeddings</c> gives <c>https://models.github.ai/inference</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Not an absolute http(s) URL.</exception>
    public static Uri ApiRoot(string? endpoint)
    {
        var uri = ProviderHttp.BaseAddress(endpoint, nameof(endpoint));
        if (uri.AbsolutePath.EndsWith("/embeddings/", StringComparison.OrdinalIgnoreCase))
        {
            return new Uri(uri.AbsoluteUri[..^"/embeddings/".Length]);
        }

        return uri.AbsolutePath.EndsWith("/v1/", StringComparison.OrdinalIgnoreCase) ? new Uri(uri.AbsoluteUri.TrimEnd('/')) : new Uri(uri, "v1");
    }

    /// <summary>For <c>openai</c>, the handler that checks <c>data</c>'s indexes and restores input order (see
    /// <see cref="EmbeddingHttpClient.Create"/>'s protocol handler); null for other providers.</summary>
    public static DelegatingHandler? ProtocolHandler(string provider, string model) =>
        provider == ProviderName ? new OpenAIDataOrderHandler(model) : null;

    /// <summary>The generator over <paramref name="httpClient"/>, which it disposes.</summary>
    /// <param name="httpClient">From <see cref="EmbeddingHttpClient.Create"/>.</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Endpoint"/>, <see cref="EmbeddingModelOptions.Model"/>,
    /// <see cref="EmbeddingModelOptions.Dimensions"/>, <see cref="EmbeddingModelOptions.SendDimensions"/> and
    /// <see cref="EmbeddingModelOptions.ApiKey"/>. Without a key the client still sends a bearer token, a placeholder
    /// that servers without authentication ignore.</param>
    public static IEmbeddingGenerator<string, Embedding<float>> Create(HttpClient httpClient, EmbeddingModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = ApiRoot(options.Endpoint),
            Transport = new HttpClientPipelineTransport(httpClient),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        var client = new EmbeddingClient(options.Model!, new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "no-key" : options.ApiKey), clientOptions);
        var generator = client.AsIEmbeddingGenerator(options.SendDimensions ? options.Dimensions : null);
        return new HttpClientOwner(generator, httpClient);
    }
}
