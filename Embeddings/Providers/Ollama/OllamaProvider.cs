using Microsoft.Extensions.AI;
using OllamaSharp;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.Ollama;

/// <summary>
/// The <c>ollama</c> provider: OllamaSharp's <see cref="OllamaApiClient"/> as the generator (Ollama API,
/// <c>POST /api/embed</c>, every text of a batch in one <c>input</c> array), with <c>truncate</c> and <c>keep_alive</c>
/// from the options sent on every request. Batching, validation and resilience are the layers around it.
/// </summary>
public static class OllamaProvider
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "ollama";

    /// <summary>Path of the version endpoint (the health probe), relative to the endpoint.</summary>
    public const string VersionPath = "api/version";

    /// <summary>The generator over <paramref name="httpClient"/> (whose base address is the server), which it disposes.</summary>
    /// <param name="httpClient">From <see cref="EmbeddingHttpClient.Create"/>.</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.Model"/>, <see cref="EmbeddingModelOptions.Truncate"/> and
    /// <see cref="EmbeddingModelOptions.KeepAlive"/> (for example <c>5m</c>; blank = the server's default).</param>
    public static IEmbeddingGenerator<string, Embedding<float>> Create(HttpClient httpClient, EmbeddingModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var keepAlive = string.IsNullOrWhiteSpace(options.KeepAlive) ? null : options.KeepAlive.Trim();
        var truncate = options.Truncate;
        IEmbeddingGenerator<string, Embedding<float>> client = new OllamaApiClient(httpClient, options.Model!);
        return new HttpClientOwner(client.AsBuilder()
            .ConfigureOptions(request =>
            {
                // OllamaSharp reads these two request fields from the additional properties.
                request.AdditionalProperties ??= [];
                request.AdditionalProperties["truncate"] = truncate;
                if (keepAlive is not null)
                {
                    request.AdditionalProperties["keep_alive"] = keepAlive;
                }
            })
            .Build(), httpClient);
    }
}
