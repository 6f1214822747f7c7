using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>Route helpers shared by the document endpoints (<see cref="DocumentsApi"/>, <see cref="RetryApi"/>, <see cref="DocumentEventsApi"/>).</summary>
internal static class DocumentRoutes
{
    // The server decodes every escape in the path except %2F; a client that escaped its slashes gets them back here.
    public static string RouteId(string id) => id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    // A problem result, not NotFound<ProblemDetails>: that one writes application/json, every other error here is
    // application/problem+json. The endpoints declare the 404 with ProducesProblem.
    public static ProblemHttpResult NotFound(string id) => TypedResults.Problem(new ProblemDetails
    {
        Title = "Document not found",
        Detail = $"No document has the id '{id}'.",
        Status = StatusCodes.Status404NotFound,
        Type = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    });

    public static DocumentStatusResponse ToResponse(DocumentState state, EmbeddingModel? model) => new(
        state.Id,
        state.Title,
        state.Status,
        new ChunkCountsResponse(state.Chunks.Total, state.Chunks.Embedded, state.Chunks.Failed),
        model?.Key,
        state.UpdatedAt,
        state.Errors.Count == 0 ? null : state.Errors.Select(e => new DocumentErrorResponse(e.ChunkOrdinal, e.Error, e.OccurredAt)).ToList(),
        state.Truncated.Count == 0 ? null : state.Truncated.Select(t => new TruncatedChunkResponse(t.ChunkOrdinal, t.Tokens, t.KeptTokens)).ToList());
}
