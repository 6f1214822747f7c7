using VectorPipeline.VectorStore;

namespace VectorPipeline.Embeddings;

/// <summary>
/// The model this process embeds with, as registered in <c>embedding_models</c>. Set once at start by
/// <see cref="EmbeddingsExtensions.PrepareVectorStoreAsync"/>, before the service takes traffic.
/// </summary>
public sealed class ActiveEmbeddingModel
{
    private EmbeddingModel? _model;

    /// <summary>The registered model.</summary>
    /// <exception cref="InvalidOperationException">Read before start-up registered it.</exception>
    public EmbeddingModel Model
    {
        get => _model ?? throw new InvalidOperationException("The embedding model is not registered yet: call PrepareVectorStoreAsync at start-up.");
        internal set => _model = value;
    }
}
