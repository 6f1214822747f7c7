using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Messaging;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Extensions;

/// <summary>Ingest.Api's wiring.</summary>
public static class Extensions
{
    /// <summary>Adds the vector store, the embedding model description, the splitter, the bus (publish only) and problem details.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVectorStore();
        builder.AddEmbeddings();
        builder.AddMessaging();
        builder.Services.AddOptions<ChunkingOptions>().BindConfiguration(ChunkingOptions.SectionName)
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton(services => new RecursiveTextSplitter(services.GetRequiredService<IOptions<ChunkingOptions>>().Value));
        builder.Services.AddProblemDetails();
        return builder;
    }
}
