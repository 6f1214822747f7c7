using Microsoft.AspNetCore.Http.HttpResults;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.Ingest.Sync;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>The chunk queue's depth.</summary>
/// <param name="Name">The workers' queue, <c>embed-chunk</c>.</param>
/// <param name="Messages">Chunk messages waiting.</param>
/// <param name="Consumers">Workers attached.</param>
/// <param name="DeadLetters">Messages in the dead-letter queue <c>embed-chunk_error</c> (chunks that failed every retry).</param>
public sealed record QueueStatus(string Name, long Messages, int Consumers, long DeadLetters);

/// <summary>Document totals for the active model; exact.</summary>
/// <param name="Total">Documents stored.</param>
/// <param name="Ready">Every chunk embedded.</param>
/// <param name="Failed">Every chunk embedded or failed, at least one failed.</param>
/// <param name="FailedChunks">Chunks whose embedding failed and has not succeeded since.</param>
public sealed record DocumentTotalsResponse(long Total, long Ready, long Failed, long FailedChunks);

/// <summary>One recorded embedding failure.</summary>
/// <param name="Tenant">The document's tenant (empty for the default tenant).</param>
/// <param name="DocumentId">Document of the chunk (the client's id).</param>
/// <param name="ChunkId">The chunk.</param>
/// <param name="Model">Model key.</param>
/// <param name="Error">The error as recorded.</param>
/// <param name="OccurredAt">When, UTC.</param>
public sealed record FailureResponse(string Tenant, string DocumentId, long ChunkId, string Model, string Error, DateTimeOffset OccurredAt);

/// <summary>Answer of <c>GET /status</c>.</summary>
/// <param name="Queue">The chunk queue; null when RabbitMQ could not be asked (see <paramref name="QueueError"/>).</param>
/// <param name="QueueError">Why the queue could not be read, or null.</param>
/// <param name="ActiveModel">Key of the active model, or null before any is registered.</param>
/// <param name="Documents">Totals for the active model.</param>
/// <param name="Models">Every model, as <c>GET /models</c> lists them.</param>
/// <param name="RecentFailures">The 10 most recent unresolved embedding failures, newest first.</param>
/// <param name="Sync">Every configured table-sync source (<c>Sync:Sources</c>) by name, as this Ingest.Api process saw its last pass; empty when none.</param>
public sealed record PipelineStatusResponse(QueueStatus? Queue, string? QueueError, string? ActiveModel, DocumentTotalsResponse Documents,
    IReadOnlyList<ModelResponse> Models, IReadOnlyList<FailureResponse> RecentFailures, IReadOnlyList<SyncSourceStatus> Sync);

/// <summary><c>GET /status</c>: the pipeline at a glance, over every tenant (what <c>vp status</c> shows); <c>admin</c> role.</summary>
public static class StatusApi
{
    /// <summary>Maps <c>GET /status</c>.</summary>
    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/status", GetStatus).WithName("GetStatus").WithTags("Status").RequireAuthorization(AuthPolicies.Admin)
            .WithSummary("Queue depth, dead letters, document totals for the active model, models, recent failures and sync sources.");
        return app;
    }

    private static string TenantOf(string storedKey) =>
        storedKey.IndexOf(DocumentKey.Separator, StringComparison.Ordinal) is var separator and >= 0 ? storedKey[..separator] : "";

    /// <summary>Handles <c>GET /status</c>. Counts are exact (one pass over chunks and embeddings).</summary>
    public static async Task<Ok<PipelineStatusResponse>> GetStatus(QueueDepthProbe queues, EmbeddingModelStore models, PipelineStatistics statistics,
        SyncStatusBoard sync, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        QueueStatus? queue = null;
        string? queueError = null;
        try
        {
            var depths = await queues.GetAsync([EmbedChunk.QueueName, EmbedChunk.QueueName + "_error"], cancellationToken);
            queue = new QueueStatus(EmbedChunk.QueueName, depths[0].Messages, depths[0].Consumers, depths[1].Messages);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            loggerFactory.CreateLogger(typeof(StatusApi)).LogWarning(ex, "Could not read the depth of queue {Queue}", EmbedChunk.QueueName);
            // The exception's message may name the broker's address: it goes to the log, not to the answer.
            queueError = $"RabbitMQ could not be asked ({ex.GetType().Name}); see Ingest.Api's log.";
        }

        var active = await models.GetActiveAsync(cancellationToken);
        var totals = active is null ? new DocumentTotals(0, 0, 0, 0) : await statistics.GetDocumentTotalsAsync(active.Id, cancellationToken);
        var failures = await statistics.GetRecentFailuresAsync(10, cancellationToken);
        return TypedResults.Ok(new PipelineStatusResponse(queue, queueError, active?.Key,
            new DocumentTotalsResponse(totals.Total, totals.Ready, totals.Failed, totals.FailedChunks),
            (await models.ListAsync(cancellationToken)).Select(ModelsApi.ToResponse).ToList(),
            failures.Select(f => new FailureResponse(TenantOf(f.DocumentId), DocumentKey.ClientId(f.DocumentId), f.ChunkId, f.ModelKey, f.Error, f.OccurredAt)).ToList(),
            sync.List()));
    }
}
