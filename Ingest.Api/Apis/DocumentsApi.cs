using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>The <c>/documents</c> endpoints of Ingest.Api.</summary>
public static class DocumentsApi
{
    /// <summary>Longest accepted document id, in characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Maps <c>POST /documents</c>, <c>GET /documents/{id}</c> and <c>DELETE /documents/{id}</c>.</summary>
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/documents").WithTags("Documents");
        api.MapPost("/", PostDocument).WithName("PostDocument")
            .WithSummary("Store a document (or replace the one with the same id), split it into chunks and queue them for embedding.");
        api.MapGet("/{**id}", GetDocument).WithName("GetDocument")
            .WithSummary("A document's status and exact chunk counts for the active embedding model.");
        api.MapDelete("/{**id}", DeleteDocument).WithName("DeleteDocument")
            .WithSummary("Delete a document with its chunks and embeddings.");
        return app;
    }

    /// <summary>
    /// Handles <c>POST /documents</c>: validate, split, reconcile the stored chunks by content hash and
    /// commit, then publish one <see cref="EmbedChunk"/> per chunk that needs an embedding (none for an
    /// unchanged document).
    /// </summary>
    public static async Task<Results<Accepted<PostDocumentResponse>, ValidationProblem, ProblemHttpResult>> PostDocument(
        PostDocumentRequest request,
        RecursiveTextSplitter splitter,
        DocumentStore documents,
        IPublishEndpoint publisher,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var id = request.Id ?? Guid.CreateVersion7().ToString("n");
        var chunks = splitter.Split(request.Text!);
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } m ? m.GetRawText() : "{}";
        var stored = await documents.UpsertAsync(new DocumentToStore(id, request.Title, request.Source, metadata, chunks), cancellationToken);
        IngestMetrics.TagDocument(id, stored.Chunks.Count, stored.ChunksToEmbed.Count);
        Delivery.CrashTestHook.AfterCommit();

        try
        {
            if (stored.ChunksToEmbed.Count > 0)
            {
                // One MassTransit send span per message, children of this request's span: the document's trace.
                await publisher.PublishBatch(stored.ChunksToEmbed.Select(chunkId => new EmbedChunk(id, chunkId)), cancellationToken);
                IngestMetrics.Published(stored.ChunksToEmbed.Count, "document");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            loggerFactory.CreateLogger(typeof(DocumentsApi)).LogError(ex, "Document {DocumentId} is stored but its {Chunks} chunk messages could not be published", id, stored.ChunksToEmbed.Count);
            return TypedResults.Problem(
                title: "Document stored, chunks not queued",
                detail: $"Document '{id}' was stored but the message broker did not accept its chunks: {ex.Message}. Post it again to queue them.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var statusUrl = StatusUrl(id);
        var status = stored.ChunksToEmbed.Count == 0 ? "ready" : "queued";
        return TypedResults.Accepted(statusUrl, new PostDocumentResponse(id, status, stored.Chunks.Count, statusUrl, stored.ChunksToEmbed.Count));
    }

    /// <summary>Handles <c>GET /documents/{id}</c>.</summary>
    public static async Task<Results<Ok<DocumentStatusResponse>, NotFound<ProblemDetails>>> GetDocument(
        string id, DocumentStore documents, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        id = RouteId(id);
        var model = await models.GetActiveAsync(cancellationToken);
        var state = await documents.GetStateAsync(id, model?.Id, cancellationToken);
        if (state is null)
        {
            return NotFound(id);
        }

        return TypedResults.Ok(new DocumentStatusResponse(
            state.Id,
            state.Title,
            state.Status,
            new ChunkCountsResponse(state.Chunks.Total, state.Chunks.Embedded, state.Chunks.Failed),
            model?.Key,
            state.UpdatedAt,
            state.Errors.Count == 0 ? null : state.Errors.Select(e => new DocumentErrorResponse(e.ChunkOrdinal, e.Error, e.OccurredAt)).ToList()));
    }

    /// <summary>Handles <c>DELETE /documents/{id}</c>: 204 when deleted, 404 when there was no such document.</summary>
    public static async Task<Results<NoContent, NotFound<ProblemDetails>>> DeleteDocument(string id, DocumentStore documents, CancellationToken cancellationToken) =>
        await documents.DeleteAsync(RouteId(id), cancellationToken) ? TypedResults.NoContent() : NotFound(RouteId(id));

    /// <summary>
    /// Relative URL of a document's status. Ids may hold slashes (<c>docs/guide.md</c>); each segment is
    /// escaped and the slashes kept, which the catch-all <c>{**id}</c> routes match.
    /// </summary>
    public static string StatusUrl(string id) => "/documents/" + string.Join('/', id.Split('/').Select(Uri.EscapeDataString));

    // The server decodes every escape in the path except %2F; a client that escaped its slashes gets them back here.
    private static string RouteId(string id) => id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private static NotFound<ProblemDetails> NotFound(string id) => TypedResults.NotFound(new ProblemDetails
    {
        Title = "Document not found",
        Detail = $"No document has the id '{id}'.",
        Status = StatusCodes.Status404NotFound,
        Type = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    });

    private static Dictionary<string, string[]> Validate(PostDocumentRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors["text"] = ["Text is required and must not be blank."];
        }

        if (request.Id is not null)
        {
            if (request.Id.Length is 0 or > MaxIdLength)
            {
                errors["id"] = [$"Id must be 1 to {MaxIdLength} characters long."];
            }
            else if (request.Id.Any(char.IsControl))
            {
                errors["id"] = ["Id must not contain control characters."];
            }
        }

        if (request.Title is { Length: > 1000 })
        {
            errors["title"] = ["Title must be at most 1000 characters long."];
        }

        if (request.Source is { Length: > 2000 })
        {
            errors["source"] = ["Source must be at most 2000 characters long."];
        }

        if (request.Metadata is { } metadata && metadata.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            errors["metadata"] = [$"Metadata must be a JSON object; got {metadata.ValueKind.ToString().ToLowerInvariant()}."];
        }

        return errors;
    }
}
