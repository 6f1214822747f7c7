namespace VectorPipeline.Messaging.Contracts;

/// <summary>
/// Command published by Ingest.Api once per chunk that needs an embedding, after the document and its
/// chunks are committed (and by a backfill, once per chunk a model lacks): "make sure this chunk has an
/// embedding of every enabled model". Carries keys only; the worker reads the chunk text from
/// PostgreSQL, so a message for a chunk that was deleted or replaced in the meantime embeds nothing.
/// Consumed from queue <see cref="QueueName"/>.
/// </summary>
/// <param name="DocumentId">The client's document key (<c>documents.id</c>).</param>
/// <param name="ChunkId">The chunk's primary key (<c>chunks.id</c>).</param>
public sealed record EmbedChunk(string DocumentId, long ChunkId)
{
    /// <summary>The RabbitMQ queue every Embed.Worker replica consumes from (competing consumers).</summary>
    public const string QueueName = "embed-chunk";
}
