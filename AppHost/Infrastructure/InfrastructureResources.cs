using Aspire.Hosting.ApplicationModel;

namespace VectorPipeline.AppHost.Infrastructure;

/// <summary>
/// What the services reference, whichever <see cref="InfrastructureKind"/> provided it: the database
/// <c>vectordb</c> (Npgsql connection string), the broker <c>messaging</c> (<c>amqp://</c> URI) and, with
/// containers, the embedding model <c>embeddings</c> (<c>Endpoint=...;Model=...</c>).
/// </summary>
/// <param name="VectorDb">The PostgreSQL database with pgvector.</param>
/// <param name="Messaging">The RabbitMQ broker.</param>
/// <param name="Embeddings">The Ollama model, or null when the services use their built-in embedder.</param>
/// <param name="EmbeddingDimensions">The vector length the services must be told (<c>Embedding__Dimensions</c>), or null.</param>
/// <param name="Ports">Fixed host ports the infrastructure listens on, by a name for messages (checked before start).</param>
public sealed record InfrastructureResources(
    IResourceBuilder<IResourceWithConnectionString> VectorDb,
    IResourceBuilder<IResourceWithConnectionString> Messaging,
    IResourceBuilder<IResourceWithConnectionString>? Embeddings,
    int? EmbeddingDimensions,
    IReadOnlyList<(string Name, int Port)> Ports);
