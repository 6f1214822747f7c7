using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using VectorPipeline.ServiceDefaults.Http;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Apis;

/// <summary>The <c>DocumentEvents</c> configuration section (environment form <c>DocumentEvents__PollIntervalMs</c>, ...).</summary>
public sealed class DocumentEventsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "DocumentEvents";

    /// <summary>How often a stream reads the document's state from the database, in ms, 50..60,000; 500 by default.</summary>
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>Longest silence before a heartbeat comment (<c>: heartbeat</c>) is sent, in seconds, 1..300; 15 by default.</summary>
    public int HeartbeatSeconds { get; set; } = 15;

    /// <summary>Checks the ranges above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        if (PollIntervalMs is < 50 or > 60_000)
        {
            throw new ArgumentOutOfRangeException(nameof(PollIntervalMs), PollIntervalMs, $"{SectionName}:{nameof(PollIntervalMs)} must be between 50 and 60000.");
        }

        if (HeartbeatSeconds is < 1 or > 300)
        {
            throw new ArgumentOutOfRangeException(nameof(HeartbeatSeconds), HeartbeatSeconds, $"{SectionName}:{nameof(HeartbeatSeconds)} must be between 1 and 300.");
        }
    }
}

/// <summary>
/// <c>GET /documents/{id}/events</c>: a server-sent event stream (<c>text/event-stream</c>) of a document's status.
/// Each change is one <c>event: status</c> whose <c>data</c> is the JSON of <c>GET /documents/{id}</c>
/// (<see cref="DocumentStatusResponse"/>); the first event is the current state. The stream ends after the event
/// that reports <c>ready</c> or <c>failed</c>, after <c>event: deleted</c> (data <c>{"id": ...}</c>) when the
/// document is deleted, or when the client disconnects. The state is read every
/// <see cref="DocumentEventsOptions.PollIntervalMs"/> (exact counts, as the status endpoint) and sent only when it
/// changed; a comment line <c>: heartbeat</c> goes out after <see cref="DocumentEventsOptions.HeartbeatSeconds"/>
/// of silence so proxies keep the connection open. A database error skips one reading; the stream goes on.
/// </summary>
/// <remarks>
/// .NET 10's <c>TypedResults.ServerSentEvents</c> exists, but its items (<c>SseItem&lt;T&gt;</c>) cannot carry
/// comment lines, so the endpoint writes the same wire format itself to send the heartbeat as a comment, which
/// <c>EventSource</c> clients ignore.
/// </remarks>
public static class DocumentEventsApi
{
    /// <summary>Maps <c>GET /documents/{id}/events</c> (ids may contain <c>/</c>).</summary>
    public static IEndpointRouteBuilder MapDocumentEventsApi(this IEndpointRouteBuilder app)
    {
        // A catch-all cannot be followed by a literal segment: the constrained catch-all takes paths ending in
        // /events and ranks before GET /documents/{**id}.
        app.MapGroup("/documents").WithTags("Documents").RequireAuthorization(AuthPolicies.Ingest)
            .MapGet("/{**path:regex(^.+/events$)}", StreamEvents).WithName("DocumentEvents").AsLongLived()
            .WithSummary("Stream a document's status changes as server-sent events until it is ready or failed.")
            .Produces<DocumentStatusResponse>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>Handles <c>GET /documents/{id}/events</c>; 404 (problem details) when there is no such document.</summary>
    public static async Task<IResult> StreamEvents(
        string path,
        HttpContext context,
        DocumentStore documents,
        EmbeddingModelStore models,
        IOptions<DocumentEventsOptions> options,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        CancellationToken cancellationToken)
    {
        var id = DocumentRoutes.RouteId(path[..^"/events".Length]);
        var first = await ReadAsync(context.User.GetTenant(), id, documents, models, cancellationToken);
        if (first is null)
        {
            return DocumentRoutes.NotFound(id);
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        var heartbeat = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
        string? last = null;
        var lastWrite = DateTime.UtcNow;
        var state = first;
        try
        {
            await response.StartAsync(cancellationToken);
            while (true)
            {
                if (state is not null)
                {
                    var data = JsonSerializer.Serialize(state, json.Value.SerializerOptions);
                    if (data != last)
                    {
                        await WriteAsync(response, $"event: status\ndata: {data}\n\n", cancellationToken);
                        (last, lastWrite) = (data, DateTime.UtcNow);
                        if (state.Status is "ready" or "failed")
                        {
                            break;
                        }
                    }
                }

                if (DateTime.UtcNow - lastWrite >= heartbeat)
                {
                    await WriteAsync(response, ": heartbeat\n\n", cancellationToken);
                    lastWrite = DateTime.UtcNow;
                }

                await Task.Delay(poll, cancellationToken);
                try
                {
                    state = await ReadAsync(context.User.GetTenant(), id, documents, models, cancellationToken);
                    if (state is null)
                    {
                        await WriteAsync(response, $"event: deleted\ndata: {JsonSerializer.Serialize(new { id }, json.Value.SerializerOptions)}\n\n", cancellationToken);
                        break;
                    }
                }
                catch (NpgsqlException)
                {
                    state = null; // database unreachable for a moment: skip this reading
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }

        return Results.Empty;
    }

    private static async Task<DocumentStatusResponse?> ReadAsync(string tenant, string id, DocumentStore documents, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        var model = await models.GetActiveAsync(cancellationToken);
        var state = await documents.GetStateAsync(tenant, id, model?.Id, cancellationToken);
        return state is null ? null : DocumentRoutes.ToResponse(state, model);
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
