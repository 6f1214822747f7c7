namespace VectorPipeline.Ingest.Sync;

/// <summary>A document to ingest, from a source other than an HTTP request.</summary>
/// <param name="Id">Document id.</param>
/// <param name="Title">Title, or null.</param>
/// <param name="Text">Text to split and embed.</param>
/// <param name="Source">The document's source.</param>
/// <param name="MetadataJson">A JSON object.</param>
public sealed record IncomingDocument(string Id, string? Title, string Text, string Source, string MetadataJson);

/// <summary>What became of an <see cref="IncomingDocument"/>.</summary>
/// <param name="Accepted">Stored, and its changed chunks queued for embedding.</param>
/// <param name="Reason">Why it was refused (when not accepted): the same checks as <c>POST /documents</c>.</param>
/// <param name="Queued">Chunks queued for embedding (0 for an unchanged document).</param>
public sealed record SinkResult(bool Accepted, string? Reason, int Queued);

/// <summary>
/// Where sync sources put documents: the same path as <c>POST /documents</c> (validation, splitting,
/// reconciliation by content hash, publishing), and deletion.
/// </summary>
public interface IDocumentSink
{
    /// <summary>Stores or replaces the document and queues its changed chunks.</summary>
    /// <exception cref="Exception">Storing or publishing failed (the caller retries the page later).</exception>
    Task<SinkResult> UpsertAsync(IncomingDocument document, CancellationToken cancellationToken);

    /// <summary>Ids of the documents whose source is <paramref name="source"/>.</summary>
    IAsyncEnumerable<string> ListIdsAsync(string source, CancellationToken cancellationToken);

    /// <summary>Deletes a document; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);
}
