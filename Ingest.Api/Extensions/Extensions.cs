using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Backfill;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Documents;
using VectorPipeline.Ingest.Delivery;
using VectorPipeline.Ingest.Indexing;
using VectorPipeline.Ingest.OpenApi;
using VectorPipeline.Ingest.Sync;
using VectorPipeline.Messaging;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Extensions;

/// <summary>Ingest.Api's wiring.</summary>
public static class Extensions
{
    /// <summary>Adds the vector store, the embedding model catalog, the splitter, the bus (publish only), the backfill, redelivery sweep, publisher recovery and vector index maintenance services, problem details and the OpenAPI document's title, description and examples.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVectorStore();
        builder.AddEmbeddings();
        builder.AddMessaging();
        builder.AddQueueDepthProbe();
        builder.Services.AddOptions<ChunkingOptions>().BindConfiguration(ChunkingOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddOptions<DocumentLimitsOptions>().BindConfiguration(DocumentLimitsOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<DocumentRequestReader>();
        builder.Services.AddSingleton<UploadReader>();
        builder.Services.AddScoped<DocumentIngestor>();
        builder.Services.AddSingleton(services => new ModelChunking(
            services.GetRequiredService<IOptions<ChunkingOptions>>().Value, services.GetRequiredService<Embeddings.Models.EmbeddingModelCatalog>().Primary));
        builder.Services.AddSingleton(services => services.GetRequiredService<ModelChunking>().Splitter);
        builder.Services.AddSingleton(services => new ChunkTemplate(services.GetRequiredService<IOptions<ChunkingOptions>>().Value.Template));
        builder.Services.AddOptions<BackfillOptions>().BindConfiguration(BackfillOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<BackfillService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BackfillService>());
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton(new PublishMonitor(TimeProvider.System));
        builder.Services.AddHealthChecks().AddCheck<BrokerHealthCheck>(BrokerHealthCheck.Name, tags: ["ready"]);
        builder.Services.AddHostedService(PublisherRecoveryService.Create);
        builder.Services.AddSingleton<ChunkRedeliveryService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ChunkRedeliveryService>());
        builder.Services.AddOptions<DocumentEventsOptions>().BindConfiguration(DocumentEventsOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddOptions<VectorIndexOptions>().BindConfiguration(VectorIndexOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<VectorIndexMaintenance>();
        builder.Services.AddHostedService(services => services.GetRequiredService<VectorIndexMaintenance>());
        var syncSources = TableSyncService.ReadSources(builder.Configuration);
        builder.Services.AddSingleton<SyncStatusBoard>();
        if (syncSources.Count > 0)
        {
            builder.Services.AddSingleton(services => new TableSyncService(syncSources,
                options => new IngestorDocumentSink(options.Tenant, services.GetRequiredService<IServiceScopeFactory>(),
                    services.GetRequiredService<DocumentStore>(), services.GetRequiredService<IOptions<DocumentLimitsOptions>>()),
                services.GetRequiredService<Npgsql.NpgsqlDataSource>(), services.GetRequiredService<ILogger<TableSyncService>>(),
                services.GetRequiredService<SyncStatusBoard>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<TableSyncService>());
        }

        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(options => IngestApiOpenApi.Configure(options));
        return builder;
    }

    /// <summary>
    /// Start-up step of Ingest.Api: records the chunk template (<c>Chunking:Template</c>) on every model that has none
    /// and warns about models whose vectors were made with another template.
    /// </summary>
    public static async Task RecordChunkTemplateAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var template = services.GetRequiredService<ChunkTemplate>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Extensions));
        foreach (var model in await services.GetRequiredService<EmbeddingModelStore>().RecordChunkTemplateAsync(template.Text, cancellationToken))
        {
            logger.LogWarning(
                "Model {Model} was recorded with chunk template {Recorded} but Chunking:Template is {Template}: new and changed documents are embedded with the new template, existing vectors keep the old one until their documents are posted again",
                model.Key, model.ChunkTemplate, template.Text);
        }
    }
}
