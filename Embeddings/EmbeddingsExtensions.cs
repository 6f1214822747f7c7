using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings.Offline;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Embeddings;

/// <summary>Registers the configured embedding generator and the active model.</summary>
public static class EmbeddingsExtensions
{
    /// <summary>Configuration key of a model server (Aspire Ollama model resource <c>embeddings</c>).</summary>
    public const string ConnectionStringName = "embeddings";

    /// <summary>
    /// Adds <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/> (string → <see cref="Embedding{T}"/> of float)
    /// and <see cref="ActiveEmbeddingModel"/> from the <c>Embedding</c> section.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// A provider other than <c>offline</c> is configured, or <c>ConnectionStrings:embeddings</c> points at a
    /// model server: this build has only the offline embedder, and silently using it instead would store
    /// vectors of the wrong model.
    /// </exception>
    public static IHostApplicationBuilder AddEmbeddings(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(EmbeddingOptions.SectionName).Get<EmbeddingOptions>() ?? new EmbeddingOptions();
        var server = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (!string.Equals(options.Provider, OfflineEmbeddingGenerator.ProviderName, StringComparison.OrdinalIgnoreCase) || !string.IsNullOrWhiteSpace(server))
        {
            throw new InvalidOperationException(
                $"Embedding provider '{options.Provider}'{(string.IsNullOrWhiteSpace(server) ? "" : " with ConnectionStrings:embeddings")} is not available in this build: " +
                "only the built-in 'offline' embedder is. Remove Embedding__Provider and ConnectionStrings__embeddings to use it.");
        }

        if (options.Model is not null && options.Model != OfflineEmbeddingGenerator.ModelName)
        {
            throw new InvalidOperationException($"The offline provider has one model, '{OfflineEmbeddingGenerator.ModelName}'; Embedding__Model is '{options.Model}'.");
        }

        builder.Services.Configure<EmbeddingOptions>(builder.Configuration.GetSection(EmbeddingOptions.SectionName));
        builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new OfflineEmbeddingGenerator(options.Dimensions));
        builder.Services.AddSingleton<ActiveEmbeddingModel>();
        return builder;
    }

    /// <summary>
    /// Start-up step of every service: applies schema migrations (waiting for PostgreSQL, see
    /// <see cref="VectorStoreExtensions.MigrateVectorStoreAsync"/>), then registers the configured model and its
    /// HNSW index and remembers it in <see cref="ActiveEmbeddingModel"/>.
    /// </summary>
    public static async Task PrepareVectorStoreAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await services.MigrateVectorStoreAsync(cancellationToken: cancellationToken);
        var generator = services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()
            ?? throw new InvalidOperationException("The embedding generator does not describe its model (EmbeddingGeneratorMetadata).");
        var model = await services.GetRequiredService<EmbeddingModelStore>().EnsureAsync(
            metadata.ProviderName!, metadata.DefaultModelId!, metadata.DefaultModelDimensions!.Value, cancellationToken);
        services.GetRequiredService<ActiveEmbeddingModel>().Model = model;
        services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EmbeddingsExtensions))
            .LogInformation("Embedding model {Provider}/{Model} ({Dimensions} dimensions) is model {ModelId}",
                model.Provider, model.Name, model.Dimensions, model.Id);
    }
}
