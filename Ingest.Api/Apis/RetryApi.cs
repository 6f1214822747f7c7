using System.Security.Claims;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using VectorPipeline.Ingest.Delivery;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>Answer of <c>POST /documents/{id}/retry</c> (HTTP 202).</summary>
/// <param name="Id">The document's key.</param>
/// <param name="Status">The document's status right after the retry was queued (<c>queued</c> or <c>embedding</c> when chunks were queued; <c>ready</c> when none had failed).</param>
/// <param name="Queued">Failed chunks put back in the queue: their errors were cleared and their messages published.</param>
/// <param name="StatusUrl">Relative URL of <c>GET /documents/{id}</c>.</param>
public sealed record RetryDocumentResponse(string Id, string Status, int Queued, string StatusUrl);

/// <summary>Answer of <c>POST /documents/retry-failed</c> (HTTP 202).</summary>
/// <param name="Queued">Failed chunks put back in the queue, over all documents.</param>
/// <param name="Documents">Documents those chunks belong to.</param>
public sealed record RetryFailedResponse(int Queued, int Documents);

/// <summary>
/// Retrying failed chunks: <c>POST /documents/{id}/retry</c> (one document) and <c>POST /documents/retry-failed</c>
/// (every document, in pages of <see cref="DeliveryOptions.PageSize"/>). A failed chunk is one with an error
/// recorded for an enabled model it has no embedding of (the worker gave up: permanent provider error, or
/// transient errors through every retry, the message then being in the dead-letter queue <c>embed-chunk_error</c>).
/// Retrying deletes its error rows and sets its <c>queued_at</c> in one transaction, then publishes a new
/// <see cref="EmbedChunk"/>; the status counts it as waiting again. If the publish fails the answer is 503 and the
/// redelivery sweep publishes the chunks after its timeout.
/// </summary>
public static class RetryApi
{
    /// <summary>Maps <c>POST /documents/retry-failed</c> and <c>POST /documents/{id}/retry</c> (ids may contain <c>/</c>).</summary>
    public static IEndpointRouteBuilder MapRetryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/documents").WithTags("Documents").RequireAuthorization(AuthPolicies.Ingest);
        api.MapPost("/retry-failed", RetryFailed).WithName("RetryFailedChunks")
            .WithSummary("Queue every failed chunk of every document for embedding again.");
        // A catch-all cannot be followed by a literal segment, so the route takes the whole rest of the path and
        // the constraint keeps it to paths ending in /retry (a constrained catch-all ranks before a plain one).
        api.MapPost("/{**path:regex(^.+/retry$)}", RetryDocument).WithName("RetryDocument")
            .WithSummary("Queue a document's failed chunks for embedding again.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>Handles <c>POST /documents/{id}/retry</c>: 202 with the chunks queued again, 404 for an unknown document, 503 when the broker refused (the sweep queues them later).</summary>
    public static async Task<Results<Accepted<RetryDocumentResponse>, ProblemHttpResult>> RetryDocument(
        string path, ClaimsPrincipal user, DeliveryStore delivery, DocumentStore documents, EmbeddingModelStore models, IPublishEndpoint publisher,
        PublishMonitor publishes, IOptions<DeliveryOptions> options, CancellationToken cancellationToken)
    {
        var id = DocumentRoutes.RouteId(path[..^"/retry".Length]);
        var chunks = await delivery.RequeueFailedAsync(DocumentKey.Stored(user.GetTenant(), id), cancellationToken);
        if (chunks is null)
        {
            return DocumentRoutes.NotFound(id);
        }

        if (await PublishAsync(publisher, publishes, chunks, options.Value.PublishTimeout, cancellationToken) is { } problem)
        {
            return problem;
        }

        var model = await models.GetActiveAsync(cancellationToken);
        var state = await documents.GetStateAsync(user.GetTenant(), id, model?.Id, cancellationToken);
        var statusUrl = DocumentsApi.StatusUrl(id);
        return TypedResults.Accepted(statusUrl, new RetryDocumentResponse(id, state?.Status ?? "queued", chunks.Count, statusUrl));
    }

    /// <summary>Handles <c>POST /documents/retry-failed</c>: every failed chunk of the caller's tenant, page by page (keyset over chunk keys); 503 when the broker refused a page (what was not published is queued later by the sweep).</summary>
    public static async Task<Results<Accepted<RetryFailedResponse>, ProblemHttpResult>> RetryFailed(
        ClaimsPrincipal user, DeliveryStore delivery, IPublishEndpoint publisher, PublishMonitor publishes, IOptions<DeliveryOptions> options, CancellationToken cancellationToken)
    {
        long after = 0;
        var queued = 0;
        var documentIds = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var page = await delivery.RequeueFailedPageAsync(user.GetTenant(), after, options.Value.PageSize, cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            if (await PublishAsync(publisher, publishes, page, options.Value.PublishTimeout, cancellationToken) is { } problem)
            {
                return problem;
            }

            queued += page.Count;
            documentIds.UnionWith(page.Select(c => c.DocumentId));
            after = page[^1].ChunkId;
        }

        return TypedResults.Accepted((string?)null, new RetryFailedResponse(queued, documentIds.Count));
    }

    private static async Task<ProblemHttpResult?> PublishAsync(IPublishEndpoint publisher, PublishMonitor publishes, IReadOnlyList<ChunkToQueue> chunks, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (chunks.Count == 0)
        {
            return null;
        }

        try
        {
            await publisher.PublishChunksAsync([.. chunks.Select(c => new EmbedChunk(c.DocumentId, c.ChunkId))], timeout, publishes, cancellationToken);
            IngestMetrics.Published(chunks.Count, "retry");
            return null;
        }
        catch (ChunkPublishException ex)
        {
            return TypedResults.Problem(
                title: "Chunks requeued, not published",
                detail: $"{chunks.Count} failed chunks were marked for embedding again but {ex.Message}. " +
                        "The redelivery sweep publishes them after Delivery:RedeliverAfterSeconds.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
