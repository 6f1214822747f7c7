namespace VectorPipeline.Embeddings;

/// <summary>
/// The <c>Embedding</c> configuration section (environment form <c>Embedding__Provider</c>, ...), read
/// identically by all three services so that they agree on the model.
/// </summary>
public sealed class EmbeddingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Embedding";

    /// <summary>Provider name. Only <c>offline</c> (the built-in embedder) exists in this build.</summary>
    public string Provider { get; set; } = Offline.OfflineEmbeddingGenerator.ProviderName;

    /// <summary>Model name; for <c>offline</c> it is always <see cref="Offline.OfflineEmbeddingGenerator.ModelName"/>.</summary>
    public string? Model { get; set; }

    /// <summary>Vector length the model produces (384 by default for the offline embedder).</summary>
    public int Dimensions { get; set; } = 384;
}
