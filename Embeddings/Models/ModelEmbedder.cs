using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings.Providers;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.Embeddings.Models;

/// <summary>
/// One configured embedding model: how to reach it (its <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/>)
/// and how to use it (query and document prefixes). Embed.Worker embeds chunks with
/// <see cref="EmbedDocumentsAsync"/>, Search.Api embeds queries with <see cref="EmbedQueryAsync"/>.
/// </summary>
public sealed class ModelEmbedder
{
    private readonly Lazy<IEmbeddingGenerator<string, Embedding<float>>> _generator;
    private readonly Lazy<EmbeddingServerHealthCheck> _healthCheck;

    /// <summary>Creates the model description; the generator is built on first use.</summary>
    /// <param name="configurationKey">Where it is configured: <c>Embedding</c> or <c>Embedding:Models:{key}</c>.</param>
    /// <param name="options">Resolved options (provider, model, dimensions and endpoint filled in).</param>
    /// <param name="queryPrefix">Text put before each query.</param>
    /// <param name="documentPrefix">Text put before each chunk.</param>
    /// <param name="createGenerator">Builds the generator (HTTP client, resilience, batching, validation).</param>
    /// <param name="index">Distance and index of the model's vectors; <see cref="VectorIndexSettings.Default"/> when null.</param>
    public ModelEmbedder(string configurationKey, EmbeddingModelOptions options, string queryPrefix, string documentPrefix,
        Func<IEmbeddingGenerator<string, Embedding<float>>> createGenerator, VectorIndexSettings? index = null)
    {
        Index = index ?? VectorIndexSettings.Default;
        ConfigurationKey = configurationKey;
        Options = options;
        QueryPrefix = queryPrefix;
        DocumentPrefix = documentPrefix;
        _generator = new Lazy<IEmbeddingGenerator<string, Embedding<float>>>(createGenerator);
        _healthCheck = new Lazy<EmbeddingServerHealthCheck>(() => new EmbeddingServerHealthCheck(options));
    }

    /// <summary>Probe of the model's server (one client per model, reused by every <c>/health</c> call).</summary>
    public EmbeddingServerHealthCheck HealthCheck => _healthCheck.Value;

    /// <summary>Configuration section the model comes from (<c>Embedding</c> or <c>Embedding:Models:{key}</c>).</summary>
    public string ConfigurationKey { get; }

    /// <summary>The resolved options.</summary>
    public EmbeddingModelOptions Options { get; }

    /// <summary>Provider: <c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c> or <c>http</c>.</summary>
    public string Provider => Options.Provider!;

    /// <summary>Model name.</summary>
    public string Name => Options.Model!;

    /// <summary>Vector length.</summary>
    public int Dimensions => Options.Dimensions!.Value;

    /// <summary>The model key, <c>{name}@{dimensions}</c>, as <c>embedding_models</c> and the HTTP APIs name it.</summary>
    public string Key => VectorStore.EmbeddingModel.FormatKey(Name, Dimensions);

    /// <summary>Distance and index the model's vectors should have (<c>Distance</c>, <c>Index</c>, <c>HnswM</c>, <c>HnswEfConstruction</c>, <c>IvfflatLists</c>).</summary>
    public VectorIndexSettings Index { get; }

    /// <summary>Text put before each query.</summary>
    public string QueryPrefix { get; }

    /// <summary>Text put before each chunk.</summary>
    public string DocumentPrefix { get; }

    /// <summary>
    /// The model's own tokenizer where this process knows it (the <c>onnx</c> provider), else null (a server's
    /// tokenizer is not known here: sizes are estimated from characters). Reads only the vocabulary, never the model.
    /// </summary>
    public Onnx.OnnxTokenizer? Tokenizer => Provider == Onnx.OnnxModelDefinition.ProviderName
        ? Generator.GetService<Onnx.OnnxEmbeddingGenerator>()?.Tokenizer
        : null;

    /// <summary>The provider's generator, already batching, validating and L2-normalising.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> Generator => _generator.Value;

    /// <summary>
    /// Embeds chunk texts (each with <see cref="DocumentPrefix"/>); one unit-length vector of
    /// <see cref="Dimensions"/> floats per text, in input order. Traced as one <c>embeddings {model}</c> span
    /// (<see cref="EmbeddingTelemetry"/>, input <c>document</c>).
    /// </summary>
    /// <exception cref="EmbeddingProviderException">The server failed, or returned the wrong count or dimensions.</exception>
    public async Task<IReadOnlyList<ReadOnlyMemory<float>>> EmbedDocumentsAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            return [];
        }

        var generated = await Generator.GenerateAsync(texts.Select(t => DocumentPrefix + t).ToList(), EmbeddingTelemetry.Input(query: false), cancellationToken);
        return generated.Select(e => e.Vector).ToList();
    }

    /// <summary>
    /// Embeds a query (with <see cref="QueryPrefix"/>) into one unit-length vector of <see cref="Dimensions"/> floats.
    /// Traced as one <c>embeddings {model}</c> span (<see cref="EmbeddingTelemetry"/>, input <c>query</c>).
    /// </summary>
    /// <exception cref="EmbeddingProviderException">The server failed or returned the wrong dimensions.</exception>
    public async Task<ReadOnlyMemory<float>> EmbedQueryAsync(string query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var generated = await Generator.GenerateAsync([QueryPrefix + query], EmbeddingTelemetry.Input(query: true), cancellationToken);
        return generated[0].Vector;
    }
}
