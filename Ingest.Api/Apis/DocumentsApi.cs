using System.Security.Claims;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Documents;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>The <c>/documents</c> endpoints of Ingest.Api.</summary>
public static class DocumentsApi
{
    /// <summary>Longest accepted document id, in characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>
    /// Maps <c>POST /documents</c>, <c>GET /documents/{id}</c> and <c>DELETE /documents/{id}</c>, for callers with the
    /// <c>ingest</c> or <c>admin</c> role; each works in the caller's tenant only.
    /// </summary>
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/documents").WithTags("Documents").RequireAuthorization(AuthPolicies.Ingest);
        api.MapPost("/", PostDocument).WithName("PostDocument")
            .WithSummary("Store a document (or replace the one with the same id), split it into chunks and queue them for embedding.")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("/{**id}", GetDocument).WithName("GetDocument")
            .WithSummary("A document's status and exact chunk counts for the active embedding model.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapDelete("/{**id}", DeleteDocument).WithName("DeleteDocument")
            .WithSummary("Delete a document with its chunks and embeddings.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>
    /// Handles <c>POST /documents</c>: read the body, JSON (<see cref="DocumentRequestReader"/>: 415, 413, 400 for UTF-8
    /// and JSON errors) or a file upload (<see cref="UploadReader"/>: 415 unsupported or mislabelled file, 422 corrupt
    /// file), validate (<see cref="DocumentValidator"/>), then store and queue it (<see cref="DocumentIngestor"/>).
    /// Nothing is stored for a rejected request.
    /// </summary>
    public static async Task<Results<Accepted<PostDocumentResponse>, ValidationProblem, ProblemHttpResult>> PostDocument(
        HttpContext http,
        DocumentRequestReader reader,
        UploadReader uploads,
        DocumentIngestor ingestor,
        CancellationToken cancellationToken)
    {
        var (request, problem) = http.Request.HasFormContentType
            ? await uploads.ReadAsync(http, cancellationToken)
            : await reader.ReadAsync(http, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var errors = DocumentValidator.Validate(request!, reader.Limits);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var outcome = await ingestor.IngestAsync(http.User.GetTenant(), request!, cancellationToken);
        if (outcome.PublishError is not null)
        {
            return TypedResults.Problem(
                title: "Document stored, chunks not queued",
                detail: $"Document '{outcome.Id}' was stored but {outcome.PublishError}. Its chunks stay queued: the redelivery sweep publishes them once the broker is back (posting it again also does).",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                extensions: new Dictionary<string, object?> { ["id"] = outcome.Id, ["statusUrl"] = StatusUrl(outcome.Id) });
        }

        var statusUrl = StatusUrl(outcome.Id);
        return TypedResults.Accepted(statusUrl, new PostDocumentResponse(outcome.Id, outcome.Status, outcome.Stored.Chunks.Count, statusUrl, outcome.Stored.ChunksToEmbed.Count));
    }

    /// <summary>Handles <c>GET /documents/{id}</c>: the caller's tenant's document, 404 when that tenant has none with the id.</summary>
    public static async Task<Results<Ok<DocumentStatusResponse>, ProblemHttpResult>> GetDocument(
        string id, ClaimsPrincipal user, DocumentStore documents, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        id = DocumentRoutes.RouteId(id);
        var model = await models.GetActiveAsync(cancellationToken);
        var state = await documents.GetStateAsync(user.GetTenant(), id, model?.Id, cancellationToken);
        if (state is null)
        {
            return DocumentRoutes.NotFound(id);
        }

        return TypedResults.Ok(DocumentRoutes.ToResponse(state, model));
    }

    /// <summary>Handles <c>DELETE /documents/{id}</c>: 204 when deleted, 404 when the caller's tenant had no such document.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDocument(string id, ClaimsPrincipal user, DocumentStore documents, CancellationToken cancellationToken) =>
        await documents.DeleteAsync(user.GetTenant(), DocumentRoutes.RouteId(id), cancellationToken) ? TypedResults.NoContent() : DocumentRoutes.NotFound(DocumentRoutes.RouteId(id));

    /// <summary>
    /// Relative URL of a document's status. Ids may hold slashes (<c>docs/guide.md</c>); each segment is
    /// escaped and the slashes kept, which the catch-all <c>{**id}</c> routes match.
    /// </summary>
    public static string StatusUrl(string id) => "/documents/" + string.Join('/', id.Split('/').Select(Uri.EscapeDataString));
}
