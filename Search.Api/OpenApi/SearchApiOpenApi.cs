using System.Text.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using VectorPipeline.Search.Apis;
using VectorPipeline.ServiceDefaults.OpenApi;
using SearchResult = VectorPipeline.Search.Apis.SearchResult;

namespace VectorPipeline.Search.OpenApi;

/// <summary>
/// Search.Api's part of its OpenAPI document (<c>/openapi/v1.json</c>): title, description, request and
/// answer examples of <c>POST /search</c>, and the problem-details answers the result types leave out.
/// </summary>
public static class SearchApiOpenApi
{
    /// <summary>
    /// Configures the document. Call it from a lambda passed to <c>AddOpenApi</c> in Search.Api's own assembly:
    /// the OpenAPI source generator adds the XML doc comments only to <c>AddOpenApi</c> calls it sees there, and
    /// not to a call given a method group.
    /// </summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "VectorPipeline Search.Api",
                Version = "v1",
                Description = "Top-k similarity search over the chunks VectorPipeline has embedded into PostgreSQL + pgvector: "
                    + "vector (HNSW, cosine), keyword (PostgreSQL full-text) or hybrid (reciprocal rank fusion), "
                    + "restricted by document ids, source and metadata filters. Errors are RFC 9457 problem details.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer<SearchApiExamples>();
    }
}

/// <summary>Adds examples and problem answers to the operations of Search.Api, by endpoint name.</summary>
public sealed class SearchApiExamples : IOpenApiOperationTransformer
{
    /// <summary>Example of a vector search.</summary>
    public static SearchRequest VectorSearch { get; } = new(Query: "Where was Super Bowl 50 played?", TopK: 3, MinScore: null, Mode: "vector");

    /// <summary>Example of a hybrid search restricted by a source and metadata filter.</summary>
    public static SearchRequest HybridSearch { get; } = new(
        Query: "Which team won Super Bowl 50?", TopK: 5, MinScore: null, Mode: "hybrid",
        Filter: JsonDocument.Parse("""
            {
              "source": ["wiki", "news"],
              "metadata": { "and": [ { "field": "season", "gte": 2010, "lt": 2020 }, { "lang": "en" } ] }
            }
            """).RootElement,
        RrfK: 60, Weights: new HybridWeights(Vector: 1, Keyword: 2));

    /// <summary>Example answer of a vector search.</summary>
    public static SearchResponse Found { get; } = new(
        [new SearchResult(1, "super-bowl-50", "Super Bowl 50",
            "Super Bowl 50 was an American football game to determine the champion of the NFL for the 2015 season. "
            + "The game was played on February 7, 2016, at Levi's Stadium in Santa Clara, California.",
            0.342, JsonDocument.Parse("""{ "season": 2015 }""").RootElement)],
        "hashing-ngram-v1@384", "vector");

    /// <inheritdoc />
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        switch (context.EndpointName())
        {
            case "Search":
                operation.AddRequestExample("vector", "Vector search: the 3 chunks closest to the question", VectorSearch)
                    .AddRequestExample("hybrid-filtered", "Hybrid search, keyword list weighted twice, restricted by source and metadata", HybridSearch)
                    .AddResponseExample(StatusCodes.Status200OK, "vector", "Answer of the vector search", Found);
                await AddModelServerProblemsAsync(operation, context, cancellationToken);
                break;
            case "SearchByUrl":
                await AddModelServerProblemsAsync(operation, context, cancellationToken);
                break;
        }
    }

    private static async Task AddModelServerProblemsAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        await operation.AddProblemResponseAsync(context, StatusCodes.Status502BadGateway,
            "The embedding model server answered the query with an error.", cancellationToken);
        await operation.AddProblemResponseAsync(context, StatusCodes.Status503ServiceUnavailable,
            "No embedding model is registered or configured, or the model server is unavailable (retry later).", cancellationToken);
    }
}
