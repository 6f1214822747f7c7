using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.EmbedWorker.Consumers;
using VectorPipeline.Messaging;
using VectorPipeline.VectorStore;

namespace VectorPipeline.EmbedWorker.Extensions;

/// <summary>Embed.Worker's wiring.</summary>
public static class Extensions
{
    /// <summary>Adds the vector store, the embedding generator, the batch options, the vector write gate and the bus with the chunk consumer.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVectorStore();
        builder.AddEmbeddings(probeModelServers: true);
        builder.Services.AddOptions<EmbedBatchOptions>().BindConfiguration(EmbedBatchOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<IPostConfigureOptions<EmbedBatchOptions>, BatchConcurrencyDefault>();
        builder.Services.AddSingleton<VectorWriteGate>();
        builder.AddMessaging(bus => bus.AddConsumer<EmbedChunkBatchConsumer>(typeof(EmbedChunkBatchConsumerDefinition)));
        return builder;
    }
}
