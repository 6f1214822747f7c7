using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Search.Apis;

/// <summary>The <c>/search</c> endpoint of Search.Api.</summary>
public static class SearchApi
{
    /// <summary>Maps <c>POST /search</c>.</summary>
    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/search", Search).WithName("Search").WithTags("Search")
            .WithSummary("Top-k chunks nearest to the query by cosine distance, through the active model's HNSW index.");
        return app;
    }

    /// <summary>
    /// Handles <c>POST /search</c>: embeds the query with the model it searches (the one named by
    /// <c>model</c>, else the active model) and answers from that model's HNSW index only, so models are
    /// never mixed in one search.
    /// </summary>
    public static async Task<Results<Ok<SearchResponse>, ValidationProblem, ProblemHttpResult>> Search(
        SearchRequest request,
        EmbeddingModelCatalog catalog,
        EmbeddingModelStore models,
        ChunkSearch search,
        IOptions<SearchOptions> options,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            errors["query"] = ["Query is required and must not be blank."];
        }
        else if (request.Query.Length > settings.MaxQueryChars)
        {
            errors["query"] = [$"Query must be at most {settings.MaxQueryChars} characters long."];
        }

        var topK = request.TopK ?? 10;
        if (topK < 1 || topK > settings.MaxTopK)
        {
            errors["topK"] = [$"TopK must be between 1 and {settings.MaxTopK}."];
        }

        if (request.MinScore is < -1 or > 1 || (request.MinScore is { } min && !double.IsFinite(min)))
        {
            errors["minScore"] = ["MinScore is a cosine similarity, between -1 and 1."];
        }

        if (request.Mode is not null && !string.Equals(request.Mode, "vector", StringComparison.OrdinalIgnoreCase))
        {
            errors["mode"] = [$"Mode '{request.Mode}' is not supported; this build answers 'vector'."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        EmbeddingModel? model;
        try
        {
            model = request.Model is null ? await models.GetActiveAsync(cancellationToken) : await models.FindAsync(request.Model, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["model"] = [ex.Message] });
        }

        if (model is null)
        {
            return request.Model is null
                ? TypedResults.Problem(title: "No embedding model", detail: "No embedding model is registered yet; start Embed.Worker or Ingest.Api first.", statusCode: StatusCodes.Status503ServiceUnavailable)
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["model"] = [$"No registered model is named '{request.Model}'; GET /models on Ingest.Api lists them."] });
        }

        var embedder = catalog.Find(model);
        if (embedder is null)
        {
            return TypedResults.Problem(
                title: "Model not configured in Search.Api",
                detail: $"Model {model.Key} is registered but Search.Api has no configuration to embed queries with it; add it under Embedding or Embedding:Models:{{key}}.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        ReadOnlyMemory<float> vector;
        try
        {
            vector = await embedder.EmbedQueryAsync(request.Query!, cancellationToken);
        }
        catch (EmbeddingProviderException ex)
        {
            // The model server, not this service, failed: 503 when it is down or overloaded (retry later), else 502.
            return TypedResults.Problem(
                title: "Embedding model unavailable",
                detail: $"The query could not be embedded with {model.Key}: {ex.Message}",
                statusCode: ex.IsTransient || ex.IsCircuitOpen ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway);
        }

        var hits = await search.SearchAsync(model, vector, topK, request.MinScore, settings.EfSearch, cancellationToken);
        var results = hits.Select(h => new SearchResult(h.ChunkId, h.DocumentId, h.Title, h.Text, h.Score, ParseMetadata(h.MetadataJson))).ToList();
        return TypedResults.Ok(new SearchResponse(results, model.Key));
    }

    private static JsonElement ParseMetadata(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
