using VectorPipeline.Embeddings;
using VectorPipeline.Search.Apis;
using VectorPipeline.Search.OpenApi;
using VectorPipeline.Search.Services;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Search.Extensions;

/// <summary>Search.Api's wiring.</summary>
public static class Extensions
{
    /// <summary>Adds the vector store, the embedding generator (to embed queries), search options, problem details and the OpenAPI document's title, description and examples.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddVectorStore();
        builder.AddEmbeddings(probeModelServers: true);
        builder.Services.AddOptions<SearchOptions>().BindConfiguration(SearchOptions.SectionName)
            .Validate(o => o.EfSearch is >= 1 and <= 1000 && o.MaxTopK is >= 1 and <= 1000 && o.MaxQueryChars >= 1 && o.HybridCandidates is >= 1 and <= 1000,
                "Search:EfSearch, Search:MaxTopK and Search:HybridCandidates must be between 1 and 1000, Search:MaxQueryChars at least 1.")
            .Validate(o => o.IvfflatProbes is null or (>= 1 and <= VectorStore.Indexing.VectorIndexSettings.MaxIvfFlatLists),
                "Search:IvfflatProbes must be between 1 and 32768 when set.")
            .Validate(o => o.HybridVectorWeight is >= 0 and <= 100 && o.HybridKeywordWeight is >= 0 and <= 100 && o.HybridVectorWeight + o.HybridKeywordWeight > 0,
                "Search:HybridVectorWeight and Search:HybridKeywordWeight must be between 0 and 100 and not both 0.")
            .ValidateOnStart();
        builder.Services.AddSingleton<SearchService>();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(options => SearchApiOpenApi.Configure(options));
        return builder;
    }
}
