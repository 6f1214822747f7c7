using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Embeddings.Providers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Embeddings;

/// <summary>Registers the configured embedding models and prepares the database for them.</summary>
public static class EmbeddingsExtensions
{
    /// <summary>
    /// Adds <see cref="EmbeddingModelCatalog"/> (every model configured under <c>Embedding</c> and
    /// <c>Embedding:Models:{key}</c>). Generators are built on first use; the configuration is checked when
    /// <see cref="PrepareVectorStoreAsync"/> runs at start-up.
    /// </summary>
    /// <param name="builder">The service's builder.</param>
    /// <param name="probeModelServers">
    /// Add a health check per configured model (<c>embedding-model-{key}</c>, see
    /// <see cref="EmbeddingServerHealthCheck"/>), so <c>/health</c> fails while a model server is unreachable;
    /// for the services that call the models (Embed.Worker, Search.Api). Those services also load every <c>onnx</c>
    /// model's session as soon as they have started (<see cref="Onnx.OnnxModelWarmup"/>).
    /// </param>
    /// <exception cref="InvalidOperationException">The embedding configuration is invalid (see <see cref="EmbeddingModelCatalog.FromConfiguration"/>).</exception>
    public static IHostApplicationBuilder AddEmbeddings(this IHostApplicationBuilder builder, bool probeModelServers = false)
    {
        // Parsed once here so that a bad configuration stops the service before it starts.
        var configured = EmbeddingModelCatalog.FromConfiguration(builder.Configuration, NullLoggerFactory.Instance).Models;
        builder.Services.AddSingleton(services =>
            EmbeddingModelCatalog.FromConfiguration(builder.Configuration, services.GetRequiredService<ILoggerFactory>()));
        if (probeModelServers)
        {
            builder.Services.AddHostedService<Onnx.OnnxModelWarmup>();
            var checks = builder.Services.AddHealthChecks();
            for (var i = 0; i < configured.Count; i++)
            {
                var index = i;
                checks.Add(new HealthCheckRegistration($"embedding-model-{configured[i].Key}",
                    services => services.GetRequiredService<EmbeddingModelCatalog>().Models[index].HealthCheck,
                    failureStatus: HealthStatus.Unhealthy, tags: ["embeddings"]));
            }
        }

        return builder;
    }

    /// <summary>
    /// Start-up step of every service: applies schema migrations (waiting for PostgreSQL, see
    /// <see cref="VectorStoreExtensions.MigrateVectorStoreAsync"/>), registers every configured model with its
    /// vector index, and on a database without an active model makes the primary model active.
    /// </summary>
    /// <exception cref="InvalidOperationException">The embedding configuration is invalid (see <see cref="EmbeddingModelCatalog.FromConfiguration"/>).</exception>
    public static async Task PrepareVectorStoreAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var catalog = services.GetRequiredService<EmbeddingModelCatalog>();
        await services.MigrateVectorStoreAsync(cancellationToken: cancellationToken);
        var store = services.GetRequiredService<EmbeddingModelStore>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EmbeddingsExtensions));
        var registered = new List<EmbeddingModel>();
        foreach (var configured in catalog.Models)
        {
            _ = configured.Generator; // builds it now, so an out-of-range setting stops the service at start
            var model = await store.EnsureAsync(configured.Provider, configured.Name, configured.Dimensions, configured.Index, cancellationToken);
            registered.Add(model);
            logger.LogInformation("Embedding model {Model} (provider {Provider}, from {ConfigurationKey}) is model {ModelId}; index {Index} ({IndexSettings})",
                model.Key, model.Provider, configured.ConfigurationKey, model.Id, model.IndexName, model.Index.Describe());
        }

        var active = await store.ActivateIfNoneActiveAsync(registered[0].Id, cancellationToken);
        if (catalog.Find(active) is null)
        {
            logger.LogWarning("The active embedding model {Model} is not configured in this process; configure it (Embedding or Embedding:Models:{{key}}) to embed or search with it", active.Key);
        }
        else
        {
            logger.LogInformation("Active embedding model: {Model}", active.Key);
        }
    }
}
