using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.ServiceDefaults.OpenApi;

namespace VectorPipeline.Ingest.OpenApi;

/// <summary>
/// Ingest.Api's part of its OpenAPI document (<c>/openapi/v1.json</c>): title, description, request and
/// answer examples of <c>POST /documents</c> and <c>POST /models/{model}/backfill</c>, and the
/// problem-details answers the result types leave out.
/// </summary>
public static class IngestApiOpenApi
{
    /// <summary>
    /// Configures the document. Call it from a lambda passed to <c>AddOpenApi</c> in Ingest.Api's own assembly:
    /// the OpenAPI source generator adds the XML doc comments only to <c>AddOpenApi</c> calls it sees there, and
    /// not to a call given a method group.
    /// </summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "VectorPipeline Ingest.Api",
                Version = "v1",
                Description = "Takes documents in, splits them into chunks, stores them in PostgreSQL and queues one embedding "
                    + "message per new or changed chunk (Embed.Worker embeds them); reports each document's progress. "
                    + "Also manages the embedding models: list them, backfill a new one over every stored chunk, make it "
                    + "the active one, drop an old one. Errors are RFC 9457 problem details.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer<IngestApiExamples>();
    }
}

/// <summary>Adds examples and problem answers to the operations of Ingest.Api, by endpoint name.</summary>
public sealed class IngestApiExamples : IOpenApiOperationTransformer
{
    /// <summary>Example model key in paths.</summary>
    public const string ExampleModel = "nomic-embed-text@768";

    /// <summary>Example of a full document.</summary>
    public static PostDocumentRequest Document { get; } = new(
        Id: "super-bowl-50",
        Title: "Super Bowl 50",
        Text: "Super Bowl 50 was an American football game to determine the champion of the NFL for the 2015 season. "
            + "The Denver Broncos defeated the Carolina Panthers 24-10. The game was played on February 7, 2016, "
            + "at Levi's Stadium in Santa Clara, California.",
        Metadata: JsonDocument.Parse("""{ "season": 2015, "lang": "en", "team": { "name": "Broncos" } }""").RootElement,
        Source: "wiki");

    /// <summary>Example of a document with text only (Ingest.Api generates its id).</summary>
    public static PostDocumentRequest TextOnly { get; } = new(Id: null, Title: null, Text: "Levi's Stadium is in Santa Clara, California.", Metadata: null, Source: null);

    /// <summary>Example answer of <c>POST /documents</c>.</summary>
    public static PostDocumentResponse Accepted { get; } = new("super-bowl-50", "queued", 1, "/documents/super-bowl-50", 1);

    /// <summary>Example body of <c>POST /models/{model}/backfill</c>.</summary>
    public static BackfillRequest Backfill { get; } = new(ActivateWhenComplete: true);

    /// <summary>Example answer of <c>POST /models/{model}/backfill</c>, just after the request.</summary>
    public static ModelResponse Backfilling { get; } = new(2, ExampleModel, "nomic-embed-text", 768, "ollama", "backfilling", true,
        new BackfillProgressResponse(0, 0, 1520, 0, new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero), null, true),
        new VectorIndexResponse("embeddings_hnsw_m2", "hnsw", "cosine", 16, 64, null));

    // The schema of PostDocumentRequest. Every field may be left out (the handler checks them and answers 400 naming
    // the field), but the generator marks record parameters required, and this inline schema is not among the
    // components that OptionalNullablePropertiesTransformer fixes.
    private static async Task<IOpenApiSchema> DocumentSchemaAsync(OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(typeof(PostDocumentRequest), null, cancellationToken);
        if (schema is OpenApiSchema inline)
        {
            inline.Required?.Clear();
        }

        return schema;
    }

    /// <summary>The <c>multipart/form-data</c> form of <c>POST /documents</c>: a file and optional fields.</summary>
    private static OpenApiSchema UploadSchema { get; } = new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "file" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "Markdown, HTML, DOCX or plain text (UTF-8); the part's content type or file name says which." },
            ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Document id; generated when absent." },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Title; the file's own title (or its name) when absent." },
            ["source"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["metadata"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A JSON object, as text." },
        },
    };

    /// <inheritdoc />
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var name = context.EndpointName();
        switch (name)
        {
            case "PostDocument":
                // The handler reads the body itself (JSON or an upload), so the request body is described here; routing
                // does not filter by content type (the handler answers 415 with a problem detail instead).
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = await DocumentSchemaAsync(context, cancellationToken) },
                        ["multipart/form-data"] = new() { Schema = UploadSchema },
                    },
                };
                operation.AddRequestExample("document", "A document with id, title, metadata and source; posting the same id again replaces it", Document)
                    .AddRequestExample("text-only", "Text only: the id is generated", TextOnly)
                    .AddResponseExample(StatusCodes.Status202Accepted, "queued", "Stored, one chunk queued for embedding", Accepted);
                await operation.AddProblemResponseAsync(context, StatusCodes.Status503ServiceUnavailable,
                    "The document is stored but the message broker did not accept its chunks; post it again.", cancellationToken);
                break;
            case "PostDocumentBatch":
                var line = await DocumentSchemaAsync(context, cancellationToken);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "NDJSON: one POST /documents JSON object per line (this schema), UTF-8, read as a stream.",
                    Content = BatchApi.MediaTypes.ToDictionary(m => m, _ => new OpenApiMediaType { Schema = line }),
                };

                await operation.AddProblemResponseAsync(context, StatusCodes.Status415UnsupportedMediaType, "The body is not NDJSON.", cancellationToken);
                break;
            case "BackfillModel":
                operation.AddRequestExample("activate-when-complete", "Backfill, then make the model active by itself once every chunk is embedded", Backfill)
                    .AddResponseExample(StatusCodes.Status202Accepted, "backfilling", "Backfill queued; poll the Location for progress", Backfilling);
                break;
        }

        if (name is "GetModel" or "BackfillModel" or "ActivateModel" or "ReindexModel" or "DropModel")
        {
            DescribeModelParameter(operation);
            await operation.AddProblemResponseAsync(context, StatusCodes.Status400BadRequest,
                "The model name matches several registered models; name it by key or id.", cancellationToken);
            await operation.AddProblemResponseAsync(context, StatusCodes.Status404NotFound, "No registered model matches.", cancellationToken);
        }

        if (name is "ActivateModel")
        {
            await operation.AddProblemResponseAsync(context, StatusCodes.Status409Conflict,
                "Some chunks have no embedding of the model yet; the answer carries embedded and total.", cancellationToken);
        }

        if (name is "ReindexModel")
        {
            await operation.AddProblemResponseAsync(context, StatusCodes.Status409Conflict,
                "Another process is building this model's index now; try again when it is done.", cancellationToken);
        }

        if (name is "DropModel")
        {
            await operation.AddProblemResponseAsync(context, StatusCodes.Status409Conflict,
                "The model is the active one; activate another first.", cancellationToken);
        }
    }

    private static void DescribeModelParameter(OpenApiOperation operation)
    {
        if (operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.Name == "model") is { } parameter)
        {
            parameter.Description = "The model's key {name}@{dimensions} (a / in the name escaped as %2F), its id, or its name when unambiguous.";
            parameter.Example = JsonValue.Create(ExampleModel);
        }
    }
}
