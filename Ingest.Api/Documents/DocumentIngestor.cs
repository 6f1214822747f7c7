using System.Text.Json;
using MassTransit;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Delivery;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Documents;

/// <summary>What <see cref="DocumentIngestor.IngestAsync"/> did.</summary>
/// <param name="Id">The document's id (generated when the request had none).</param>
/// <param name="Stored">The chunks after reconciliation by content hash.</param>
/// <param name="PublishError">Why the chunk messages could not be published (the document is stored and its chunks stay queued: the redelivery sweep publishes them once the broker is back; posting it again also does), or null. Never holds the broker's address.</param>
public sealed record IngestOutcome(string Id, UpsertResult Stored, string? PublishError)
{
    /// <summary><c>queued</c>, or <c>ready</c> when no chunk needs an embedding.</summary>
    public string Status => Stored.ChunksToEmbed.Count == 0 ? "ready" : "queued";
}

/// <summary>
/// The one way a validated document gets in, whatever brought it (<c>POST /documents</c> as JSON or as a file
/// upload, a line of <c>POST /documents/batch</c>, a sync source): split, render what to embed for each chunk
/// (<see cref="ChunkTemplate"/>), reconcile the stored chunks by content hash and commit in the tenant, then publish one <see cref="EmbedChunk"/> per chunk that needs an embedding.
/// </summary>
public sealed class DocumentIngestor(
    ModelChunking chunking, ChunkTemplate template, DocumentStore documents, IPublishEndpoint publisher, PublishMonitor publishes,
    Microsoft.Extensions.Options.IOptions<DeliveryOptions> delivery, ILogger<DocumentIngestor> logger)
{
    /// <summary>Stores the document and queues its chunks.</summary>
    /// <param name="tenant">The caller's tenant (empty for the default tenant).</param>
    /// <param name="request">A document that passed <see cref="DocumentValidator.Validate"/>.</param>
    /// <param name="cancellationToken">Cancels the work (before the commit, nothing is stored).</param>
    public async Task<IngestOutcome> IngestAsync(string tenant, PostDocumentRequest request, CancellationToken cancellationToken)
    {
        var id = request.Id ?? Guid.CreateVersion7().ToString("n");
        var chunks = chunking.Splitter.Split(request.Text!);
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } m ? m.GetRawText() : "{}";
        var embedTexts = template.IsChunkOnly ? null : template.Render(request.Title, request.Source, chunks);
        var stored = await documents.UpsertAsync(
            new DocumentToStore(id, request.Title, request.Source, metadata, chunks)
            {
                Tenant = tenant,
                EmbedTexts = embedTexts,
                ChunkTokens = chunking.Count(embedTexts ?? chunks),
                TokenLimit = chunking.TokenLimit,
            },
            cancellationToken);
        IngestMetrics.TagDocument(id, stored.Chunks.Count, stored.ChunksToEmbed.Count);
        Delivery.CrashTestHook.AfterCommit();

        try
        {
            if (stored.ChunksToEmbed.Count > 0)
            {
                // One MassTransit send span per message, children of the current span: the document's trace.
                await publisher.PublishChunksAsync([.. stored.ChunksToEmbed.Select(chunkId => new EmbedChunk(id, chunkId))], delivery.Value.PublishTimeout, publishes, cancellationToken);
                IngestMetrics.Published(stored.ChunksToEmbed.Count, "document");
            }
        }
        catch (ChunkPublishException ex)
        {
            logger.LogError(ex, "Document {DocumentId} is stored but its {Chunks} chunk messages could not be published; the redelivery sweep publishes them once the broker is back", id, stored.ChunksToEmbed.Count);
            return new IngestOutcome(id, stored, ex.Message);
        }

        return new IngestOutcome(id, stored, null);
    }
}
