using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using VectorPipeline.ServiceDefaults.Http;

namespace VectorPipeline.Ingest.Apis;

/// <summary>The <c>Documents</c> configuration section: size limits of <c>POST /documents</c>.</summary>
public sealed class DocumentLimitsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Documents";

    /// <summary>Largest <c>text</c>, in UTF-8 bytes; 10 MiB (10 485 760) by default. Larger answers 413.</summary>
    public int MaxTextBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// Largest request body, bytes; larger answers 413 before the body is read. Not set: <see cref="MaxTextBytes"/>
    /// plus 20 % (JSON escapes), plus <see cref="MaxMetadataBytes"/>, plus 64 KiB (id, title, source).
    /// </summary>
    public long? MaxRequestBytes { get; set; }

    /// <summary>Largest <c>metadata</c> object, in bytes of its JSON text; 64 KiB (65 536) by default. Larger answers 400.</summary>
    public int MaxMetadataBytes { get; set; } = 64 * 1024;

    /// <summary>Deepest nesting of objects and arrays in <c>metadata</c> (the object itself is depth 1); 16 by default. Deeper answers 400.</summary>
    public int MaxMetadataDepth { get; set; } = 16;

    /// <summary>The request body limit in effect (<see cref="MaxRequestBytes"/> or its default).</summary>
    public long RequestBytesLimit => MaxRequestBytes ?? MaxTextBytes + MaxTextBytes / 5L + MaxMetadataBytes + 64 * 1024;

    /// <summary>Checks the ranges; throws naming the key.</summary>
    /// <exception cref="InvalidOperationException">A value is out of range.</exception>
    public void Validate()
    {
        if (MaxTextBytes < 1 || MaxMetadataBytes < 2 || MaxMetadataDepth is < 1 or > 256 || MaxRequestBytes is < 1)
        {
            throw new InvalidOperationException("Documents:MaxTextBytes and Documents:MaxRequestBytes must be positive, Documents:MaxMetadataBytes at least 2, Documents:MaxMetadataDepth between 1 and 256.");
        }
    }
}

/// <summary>
/// Reads the body of <c>POST /documents</c> itself, so that every way it can be wrong gets a problem detail that
/// says what: a content type other than JSON (415), a body or text over the limits (413), invalid UTF-8 with the
/// offset of the first bad byte (400), invalid JSON with its line, byte position and path (400).
/// </summary>
public sealed class DocumentRequestReader
{
    private readonly DocumentLimitsOptions _limits;
    private readonly JsonSerializerOptions _json;

    /// <summary>Creates the reader with the application's JSON options, allowing nesting deep enough for the metadata limit to be the one that applies.</summary>
    public DocumentRequestReader(IOptions<DocumentLimitsOptions> limits, IOptions<JsonOptions> json)
    {
        _limits = limits.Value;
        _json = new JsonSerializerOptions(json.Value.SerializerOptions) { MaxDepth = Math.Max(64, _limits.MaxMetadataDepth + 8) };
    }

    /// <summary>The limits in effect.</summary>
    public DocumentLimitsOptions Limits => _limits;

    /// <summary>The JSON options documents are read with (the application's, with a nesting limit above the metadata limit).</summary>
    public JsonSerializerOptions SerializerOptions => _json;

    /// <summary>The request, or the problem to answer instead.</summary>
    public async Task<(PostDocumentRequest? Request, ProblemHttpResult? Problem)> ReadAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (!IsJson(request.ContentType))
        {
            return (null, Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type",
                $"Content type '{request.ContentType ?? "(none)"}' is not supported: send the document as 'Content-Type: application/json' (UTF-8), or upload a file as multipart/form-data (part \"file\")."));
        }

        var max = _limits.RequestBytesLimit;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = max;
        }

        if (request.ContentLength > max)
        {
            return (null, TooLarge(max));
        }

        byte[]? body;
        try
        {
            body = await ReadAllAsync(request.Body, max, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }

        if (body is null)
        {
            return (null, TooLarge(max));
        }

        if (body.Length == 0)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Empty body", "The body is empty: send a JSON object with at least \"text\"."));
        }

        if (FirstInvalidUtf8(body) is { } offset)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Invalid UTF-8",
                string.Create(CultureInfo.InvariantCulture, $"The body is not valid UTF-8: the byte 0x{body[offset]:X2} at offset {offset} does not start or continue a UTF-8 sequence."),
                new Dictionary<string, object?> { ["offset"] = offset }));
        }

        PostDocumentRequest? document;
        try
        {
            document = JsonSerializer.Deserialize<PostDocumentRequest>(body, _json);
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            if (JsonTypeErrors.Describe(ex, typeof(PostDocumentRequest)) is { } wrongType)
            {
                var extensions = new Dictionary<string, object?> { ["line"] = line, ["bytePositionInLine"] = column, ["path"] = ex.Path ?? "$" };
                if (wrongType.Field.Length > 0)
                {
                    extensions["errors"] = new Dictionary<string, string[]> { [wrongType.Field] = [wrongType.Message] };
                }

                return (null, Problem(StatusCodes.Status400BadRequest, "Invalid JSON",
                    string.Create(CultureInfo.InvariantCulture, $"{wrongType.Message} (line {line}, byte {column})"), extensions));
            }

            return (null, Problem(StatusCodes.Status400BadRequest, "Invalid JSON",
                string.Create(CultureInfo.InvariantCulture, $"The body is not valid JSON at line {line}, byte {column} (path {ex.Path ?? "$"}): {ex.Message}"),
                new Dictionary<string, object?> { ["line"] = line, ["bytePositionInLine"] = column, ["path"] = ex.Path ?? "$" }));
        }

        if (document is null)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Invalid JSON", "The body must be a JSON object with at least \"text\", not null."));
        }

        if (document.Text is { } text && Encoding.UTF8.GetByteCount(text) is var textBytes && textBytes > _limits.MaxTextBytes)
        {
            return (null, Problem(StatusCodes.Status413PayloadTooLarge, "Text too large",
                string.Create(CultureInfo.InvariantCulture, $"The text is {textBytes} bytes (UTF-8); at most {_limits.MaxTextBytes} are accepted (Documents:MaxTextBytes).")));
        }

        return (document, null);
    }

    /// <summary>Whether a <c>Content-Type</c> is JSON in UTF-8: <c>application/json</c> or <c>application/*+json</c>, with no charset or <c>utf-8</c>.</summary>
    public static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.MediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        && (media.Charset.Length == 0 || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || media.Charset.Equals("\"utf-8\"", StringComparison.OrdinalIgnoreCase));

    /// <summary>Offset of the first byte that is not part of a valid UTF-8 sequence, or null when all are.</summary>
    public static int? FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return null;
        }

        for (var i = 0; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return i;
            }

            i += consumed;
        }

        return null;
    }

    private ProblemHttpResult TooLarge(long max) => Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large",
        string.Create(CultureInfo.InvariantCulture, $"The body is larger than {max} bytes (Documents:MaxRequestBytes); the text may be at most {_limits.MaxTextBytes} bytes (Documents:MaxTextBytes)."));

    private static ProblemHttpResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status, extensions: extensions);

    private static async Task<byte[]?> ReadAllAsync(Stream body, long max, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
