using System.Buffers;
using System.IO.Pipelines;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using VectorPipeline.Ingest.Documents;
using VectorPipeline.ServiceDefaults.Http;
using VectorPipeline.ServiceDefaults.Security;

namespace VectorPipeline.Ingest.Apis;

/// <summary>A line of a batch that was not ingested.</summary>
/// <param name="Line">1-based line number in the body.</param>
/// <param name="Id">The line's document id, when it could be read.</param>
/// <param name="Reason">Why: invalid JSON (with the byte position), a field error, too long, or stored but not queued.</param>
public sealed record BatchLineError(long Line, string? Id, string Reason);

/// <summary>Answer of <c>POST /documents/batch</c>.</summary>
/// <param name="Accepted">Documents stored and queued.</param>
/// <param name="Rejected">Lines not ingested.</param>
/// <param name="Ids">Ids of the accepted documents, in line order (generated for lines without an id).</param>
/// <param name="Errors">The rejected lines with their reasons; at most the first 1000.</param>
/// <param name="ErrorsTruncated">More lines were rejected than <see cref="Errors"/> lists.</param>
public sealed record BatchResponse(long Accepted, long Rejected, IReadOnlyList<string> Ids, IReadOnlyList<BatchLineError> Errors, bool ErrorsTruncated);

/// <summary>
/// <c>POST /documents/batch</c>: NDJSON (one <c>POST /documents</c> JSON object per line), read as a stream, so a body of
/// any length never sits in memory; each line is checked and ingested on its own (a bad line rejects only itself).
/// </summary>
public static class BatchApi
{
    /// <summary>Media types accepted for the body.</summary>
    public static readonly IReadOnlyList<string> MediaTypes = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"];

    private const int MaxListedErrors = 1000;

    /// <summary>Maps <c>POST /documents/batch</c> for callers with the <c>ingest</c> or <c>admin</c> role.</summary>
    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/documents/batch", PostBatch).WithName("PostDocumentBatch").WithTags("Documents")
            .RequireAuthorization(AuthPolicies.Ingest)
            .WithSummary("Ingest NDJSON, one document per line, streamed: answers counts accepted and rejected, with the line numbers and reasons of the rejected ones.");
        return app;
    }

    /// <summary>
    /// Handles <c>POST /documents/batch</c>: 200 with <see cref="BatchResponse"/> once every line is handled (blank
    /// lines are skipped); 415 for another content type. Each line is at most <c>Documents:MaxRequestBytes</c>; the body
    /// as a whole has no size limit. Lines are ingested one after another, in the caller's tenant.
    /// </summary>
    public static async Task<Results<Ok<BatchResponse>, ProblemHttpResult>> PostBatch(
        HttpContext http, DocumentRequestReader reader, DocumentIngestor ingestor, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var media) || !MediaTypes.Contains(media.MediaType.Value, StringComparer.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(title: "Unsupported content type", statusCode: StatusCodes.Status415UnsupportedMediaType,
                detail: $"Content type '{http.Request.ContentType ?? "(none)"}' is not supported: send NDJSON as {string.Join(" or ", MediaTypes)} (UTF-8, one JSON document per line).");
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null; // streamed; each line has its own limit
        }

        var maxLine = reader.Limits.RequestBytesLimit;
        var tenant = http.User.GetTenant();
        var ids = new List<string>();
        var errors = new List<BatchLineError>();
        long rejected = 0;

        void Reject(long line, string? id, string reason)
        {
            rejected++;
            if (errors.Count < MaxListedErrors)
            {
                errors.Add(new BatchLineError(line, id, reason));
            }
        }

        async Task HandleAsync(long number, ReadOnlySequence<byte> line)
        {
            var (request, error) = ParseLine(line, reader);
            if (error is not null)
            {
                Reject(number, request?.Id, error);
                return;
            }

            if (request is null)
            {
                return; // a blank line
            }

            var outcome = await ingestor.IngestAsync(tenant, request, cancellationToken);
            if (outcome.PublishError is not null)
            {
                Reject(number, outcome.Id, $"stored, but its chunks were not queued ({outcome.PublishError}); send the line again");
                return;
            }

            ids.Add(outcome.Id);
        }

        var body = http.Request.BodyReader;
        await ReadLinesAsync(body, maxLine, HandleAsync,
            number => Reject(number, null, $"the line is longer than {maxLine} bytes (Documents:MaxRequestBytes)"), cancellationToken);
        await body.CompleteAsync();
        return TypedResults.Ok(new BatchResponse(ids.Count, rejected, ids, errors, rejected > errors.Count));
    }

    /// <summary>
    /// Reads the body line by line (lines end at <c>\n</c>; the last may lack it) and hands each line of at most
    /// <paramref name="maxLine"/> bytes, without its <c>\n</c>, to <paramref name="onLine"/> with its 1-based number; a
    /// longer line is passed over unread, its number given to <paramref name="onTooLong"/>. Only the line being read is
    /// buffered.
    /// </summary>
    internal static async Task ReadLinesAsync(PipeReader body, long maxLine, Func<long, ReadOnlySequence<byte>, Task> onLine,
        Action<long> onTooLong, CancellationToken cancellationToken)
    {
        long lineNumber = 0;
        var skipping = false; // inside a line already rejected as too long
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            while (buffer.PositionOf((byte)'\n') is { } newline)
            {
                lineNumber++;
                var line = buffer.Slice(0, newline);
                if (!skipping)
                {
                    // A whole line can arrive in one read, so its length is checked here too, not only while it is partial.
                    if (line.Length > maxLine)
                    {
                        onTooLong(lineNumber);
                    }
                    else
                    {
                        await onLine(lineNumber, line);
                    }
                }

                skipping = false;
                buffer = buffer.Slice(buffer.GetPosition(1, newline));
            }

            if (!skipping && buffer.Length > maxLine)
            {
                onTooLong(lineNumber + 1);
                skipping = true;
            }

            if (skipping)
            {
                buffer = buffer.Slice(buffer.End);
            }

            if (read.IsCompleted)
            {
                if (!skipping && buffer.Length > 0)
                {
                    await onLine(++lineNumber, buffer);
                    buffer = buffer.Slice(buffer.End);
                }

                body.AdvanceTo(buffer.End);
                break;
            }

            body.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// One line of a batch as a document: (null, null) for a blank line; the request and null when it is valid; the
    /// reason (and the request, when it could be read) when it is not ingested: invalid UTF-8 or JSON, text too long,
    /// or a field error of <see cref="DocumentValidator.Validate"/>.
    /// </summary>
    internal static (PostDocumentRequest? Request, string? Error) ParseLine(ReadOnlySequence<byte> line, DocumentRequestReader reader)
    {
        var bytes = line.ToArray().AsSpan().TrimEnd((byte)'\r').ToArray();
        if (bytes.AsSpan().Trim(" \t"u8).IsEmpty)
        {
            return (null, null);
        }

        if (DocumentRequestReader.FirstInvalidUtf8(bytes) is { } offset)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"not valid UTF-8 at byte {offset + 1} of the line"));
        }

        PostDocumentRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<PostDocumentRequest>(bytes, reader.SerializerOptions);
        }
        catch (JsonException ex)
        {
            return (null, JsonTypeErrors.Describe(ex, typeof(PostDocumentRequest)) is { } wrongType
                ? string.Create(CultureInfo.InvariantCulture, $"{wrongType.Message} (byte {(ex.BytePositionInLine ?? 0) + 1})")
                : string.Create(CultureInfo.InvariantCulture, $"invalid JSON at byte {(ex.BytePositionInLine ?? 0) + 1} (path {ex.Path ?? "$"}): {ex.Message}"));
        }

        if (request is null)
        {
            return (null, "the line must be a JSON object with at least \"text\", not null");
        }

        if (request.Text is { } text && Encoding.UTF8.GetByteCount(text) > reader.Limits.MaxTextBytes)
        {
            return (request, $"text is longer than {reader.Limits.MaxTextBytes} bytes (Documents:MaxTextBytes)");
        }

        var invalid = DocumentValidator.Validate(request, reader.Limits);
        return invalid.Count > 0
            ? (request, string.Join("; ", invalid.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")))
            : (request, null);
    }
}
