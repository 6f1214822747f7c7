using System.Text.Json;

namespace VectorPipeline.Ingest.Apis;

/// <summary>Body of <c>POST /documents</c>.</summary>
/// <param name="Id">Client key, 1..256 characters without control characters; a new id is generated when absent. Posting the same id again replaces that document.</param>
/// <param name="Title">Optional title, at most 1000 characters.</param>
/// <param name="Text">The document text (required, not blank).</param>
/// <param name="Metadata">Optional JSON object stored with the document and returned with search results.</param>
/// <param name="Source">Optional origin (URL, path, system name), at most 2000 characters.</param>
public sealed record PostDocumentRequest(string? Id, string? Title, string? Text, JsonElement? Metadata, string? Source);

/// <summary>Answer of <c>POST /documents</c> (HTTP 202): the document is stored and its chunks are queued.</summary>
/// <param name="Id">The document's key.</param>
/// <param name="Status"><c>queued</c>, or <c>ready</c> when no chunk needs an embedding (an unchanged document posted again).</param>
/// <param name="Chunks">Number of chunks the document has.</param>
/// <param name="StatusUrl">Relative URL of <c>GET /documents/{id}</c>.</param>
/// <param name="Queued">Chunks queued for embedding: new or changed ones (and earlier ones still without an embedding); unchanged chunks keep their embeddings.</param>
public sealed record PostDocumentResponse(string Id, string Status, int Chunks, string StatusUrl, int Queued);

/// <summary>Chunk counts in a status answer; exact, not estimates.</summary>
/// <param name="Total">Chunks of the document.</param>
/// <param name="Embedded">Chunks embedded with the active model.</param>
/// <param name="Failed">Chunks whose embedding failed and has not succeeded since.</param>
public sealed record ChunkCountsResponse(int Total, int Embedded, int Failed);

/// <summary>An embedding error in a status answer.</summary>
/// <param name="Chunk">Ordinal of the chunk in the document.</param>
/// <param name="Error">What went wrong.</param>
/// <param name="OccurredAt">When.</param>
public sealed record DocumentErrorResponse(int Chunk, string Error, DateTimeOffset OccurredAt);

/// <summary>Answer of <c>GET /documents/{id}</c>.</summary>
/// <param name="Id">The document's key.</param>
/// <param name="Title">Title, if any.</param>
/// <param name="Status"><c>queued</c>, <c>embedding</c>, <c>ready</c> or <c>failed</c>.</param>
/// <param name="Chunks">Exact chunk counts.</param>
/// <param name="Model">The active embedding model the counts are for, <c>{name}@{dimensions}</c>; null before any model is registered.</param>
/// <param name="UpdatedAt">Last time the document was posted.</param>
/// <param name="Errors">Recent embedding errors, present only when some chunk failed.</param>
/// <param name="Truncated">Chunks longer than the primary model takes, which it cut (at most 20); present only when some chunk was cut.</param>
public sealed record DocumentStatusResponse(string Id, string? Title, string Status, ChunkCountsResponse Chunks, string? Model, DateTimeOffset UpdatedAt,
    IReadOnlyList<DocumentErrorResponse>? Errors, IReadOnlyList<TruncatedChunkResponse>? Truncated = null);

/// <summary>A chunk the embedding model cut: it has <paramref name="Tokens"/> tokens and the model saw the first <paramref name="KeptTokens"/>.</summary>
/// <param name="Chunk">The chunk's 0-based position in the document.</param>
/// <param name="Tokens">Tokens of the chunk's embedded text in the model's tokenizer (document prefix, [CLS] and [SEP] included).</param>
/// <param name="KeptTokens">Tokens the model saw (its maximum sequence length).</param>
public sealed record TruncatedChunkResponse(int Chunk, int Tokens, int KeptTokens);
