using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace VectorPipeline.AppHost.Infrastructure;

/// <summary>
/// The container kind: <c>pgvector/pgvector:pg17</c> with a data volume and pgAdmin (database <c>vectordb</c>),
/// RabbitMQ with its management UI, and Ollama with a data volume on port 11434 pulling the embedding model.
/// </summary>
public static class ContainerInfrastructure
{
    /// <summary>Adds the containers to <paramref name="builder"/>.</summary>
    public static InfrastructureResources Add(IDistributedApplicationBuilder builder, AppHostSettings settings)
    {
        // The image is set before WithDataVolume, which chooses the mount path from the image tag: it cannot read a
        // version from "pg17" and falls back to /var/lib/postgresql/data, right for PostgreSQL 17 (pgvector's pg18
        // image would need WithVolume(..., "/var/lib/postgresql") instead). The services create the vector
        // extension themselves (first migration: CREATE EXTENSION IF NOT EXISTS vector).
        var postgres = builder.AddPostgres(ResourceNames.Postgres)
            .WithImage("pgvector/pgvector", "pg17")
            .WithDataVolume()
            .WithPgAdmin();
        var vectordb = postgres.AddDatabase(ResourceNames.VectorDb);

        var messaging = builder.AddRabbitMQ(ResourceNames.Messaging)
            .WithManagementPlugin();

        var ollama = builder.AddOllama(ResourceNames.Ollama)
            .WithDataVolume();
        if (settings.OllamaGpu)
        {
            ollama.WithGpuSupport();
        }

        var embeddings = ollama.AddModel(ResourceNames.Embeddings, settings.EmbeddingModel);

        return new InfrastructureResources(
            Generic(vectordb), Generic(messaging), Generic(embeddings), settings.EmbeddingDimensions,
            [("ollama", OllamaResource.ContainerPort)]);
    }

    private static IResourceBuilder<IResourceWithConnectionString> Generic<T>(IResourceBuilder<T> builder)
        where T : IResourceWithConnectionString =>
        builder.ApplicationBuilder.CreateResourceBuilder<IResourceWithConnectionString>(builder.Resource);
}
