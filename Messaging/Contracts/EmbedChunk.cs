namespace VectorPipeline.Messaging.Contracts;

/// <summary>
/// Command published by Ingest.Api once per chunk, after the document and its chunks are committed:
/// "embed this chunk with the active model". Carries keys only; the worker reads the chunk text from
/// PostgreSQL, so a message for a chunk that was deleted or replaced in the meantime embeds nothing.
/// </summary>
/// <param name="DocumentId">The client's document key (<c>documents.id</c>).</param>
/// <param name="ChunkId">The chunk's primary key (<c>chunks.id</c>).</param>
public sealed record EmbedChunk(string DocumentId, long ChunkId);
