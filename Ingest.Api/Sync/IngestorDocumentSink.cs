using Microsoft.Extensions.Options;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Documents;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// The <see cref="IDocumentSink"/> of Ingest.Api: the same checks (<see cref="DocumentValidator"/>) and the same path
/// (<see cref="DocumentIngestor"/>) as <c>POST /documents</c>, in the source's tenant.
/// </summary>
/// <param name="tenant">Tenant the source's documents belong to (empty for the default tenant).</param>
/// <param name="scopes">Creates a scope per document (the ingestor and its publisher are scoped).</param>
/// <param name="documents">For listing and deleting.</param>
/// <param name="limits">Document limits.</param>
public sealed class IngestorDocumentSink(string tenant, IServiceScopeFactory scopes, DocumentStore documents, IOptions<DocumentLimitsOptions> limits) : IDocumentSink
{
    /// <inheritdoc />
    public async Task<SinkResult> UpsertAsync(IncomingDocument document, CancellationToken cancellationToken)
    {
        using var metadata = System.Text.Json.JsonDocument.Parse(document.MetadataJson);
        var request = new PostDocumentRequest(document.Id, document.Title, document.Text, metadata.RootElement.Clone(), document.Source);
        var errors = DocumentValidator.Validate(request, limits.Value);
        if (errors.Count > 0)
        {
            return new SinkResult(false, string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")), 0);
        }

        await using var scope = scopes.CreateAsyncScope();
        var outcome = await scope.ServiceProvider.GetRequiredService<DocumentIngestor>().IngestAsync(tenant, request, cancellationToken);
        return outcome.PublishError is null
            ? new SinkResult(true, null, outcome.Stored.ChunksToEmbed.Count)
            : throw new InvalidOperationException($"Document {document.Id} is stored but its chunks were not queued: {outcome.PublishError}");
    }

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListIdsAsync(string source, CancellationToken cancellationToken) => documents.ListIdsAsync(tenant, source, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => documents.DeleteAsync(tenant, id, cancellationToken);
}
