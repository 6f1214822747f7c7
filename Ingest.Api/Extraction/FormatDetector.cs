using System.Text;

namespace VectorPipeline.Ingest.Extraction;

/// <summary>
/// Decides how to read an upload from its declared content type (the multipart part's <c>Content-Type</c>), or
/// from its file name when the type is missing or generic (<c>application/octet-stream</c>), and checks the
/// declared kind against the bytes: a DOCX must be a ZIP package (<c>PK\x03\x04</c>), and a text format must not
/// start like a known binary file nor contain NUL bytes.
/// </summary>
public static class FormatDetector
{
    /// <summary>Media type of DOCX.</summary>
    public const string DocxMediaType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

    /// <summary>Accepted media types (lower case) and the format each is read as.</summary>
    public static readonly IReadOnlyDictionary<string, SourceFormat> MediaTypes = new Dictionary<string, SourceFormat>(StringComparer.OrdinalIgnoreCase)
    {
        ["text/plain"] = SourceFormat.PlainText,
        ["text/markdown"] = SourceFormat.Markdown,
        ["text/x-markdown"] = SourceFormat.Markdown,
        ["text/html"] = SourceFormat.Html,
        ["application/xhtml+xml"] = SourceFormat.Html,
        [DocxMediaType] = SourceFormat.Docx,
    };

    /// <summary>Accepted file name extensions (lower case) when the media type is missing or generic.</summary>
    public static readonly IReadOnlyDictionary<string, SourceFormat> Extensions = new Dictionary<string, SourceFormat>(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = SourceFormat.PlainText,
        [".text"] = SourceFormat.PlainText,
        [".md"] = SourceFormat.Markdown,
        [".markdown"] = SourceFormat.Markdown,
        [".html"] = SourceFormat.Html,
        [".htm"] = SourceFormat.Html,
        [".docx"] = SourceFormat.Docx,
    };

    // Leading bytes of common binary files, to name what a mislabelled upload really is.
    private static readonly (byte[] Magic, string Kind)[] BinarySignatures =
    [
        ("%PDF"u8.ToArray(), "a PDF file"),
        ([0x89, (byte)'P', (byte)'N', (byte)'G'], "a PNG image"),
        ([0xFF, 0xD8, 0xFF], "a JPEG image"),
        ("GIF8"u8.ToArray(), "a GIF image"),
        ([(byte)'P', (byte)'K', 3, 4], "a ZIP archive (or an Office file)"),
        ([0x1F, 0x8B], "a gzip archive"),
        ([0x7F, (byte)'E', (byte)'L', (byte)'F'], "an executable"),
        ([(byte)'M', (byte)'Z'], "a Windows executable"),
        ([0xD0, 0xCF, 0x11, 0xE0], "a legacy Office file (.doc, .xls)"),
    ];

    /// <summary>The format to read an upload as.</summary>
    /// <param name="contentType">The part's declared media type (parameters such as <c>charset</c> are ignored), or null.</param>
    /// <param name="fileName">The part's file name, or null.</param>
    /// <param name="head">The first bytes of the content (at least 8 KB, or all of it when shorter).</param>
    /// <exception cref="DocumentRejectedException">415: unsupported type, or bytes of another kind; the message lists what is accepted.</exception>
    public static SourceFormat Detect(string? contentType, string? fileName, ReadOnlySpan<byte> head)
    {
        var mediaType = contentType?.Split(';')[0].Trim();
        var name = fileName ?? "the upload";
        SourceFormat format;
        if (!string.IsNullOrEmpty(mediaType) && !mediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            if (!MediaTypes.TryGetValue(mediaType, out format))
            {
                throw Unsupported($"{name} is {mediaType}, which is not supported.");
            }
        }
        else if (Path.GetExtension(fileName) is { Length: > 0 } extension && Extensions.TryGetValue(extension, out var byName))
        {
            format = byName;
        }
        else
        {
            throw Unsupported($"{name} has no supported content type or file name extension.");
        }

        var isZip = head.StartsWith("PK\u0003\u0004"u8);
        if (format == SourceFormat.Docx)
        {
            return isZip ? format : throw Unsupported($"{name} is declared as DOCX but is not a ZIP package{Describe(head)}.");
        }

        if (head.IndexOf((byte)0) >= 0 || BinaryKind(head) is not null)
        {
            throw Unsupported($"{name} is declared as {format} but its bytes are binary{Describe(head)}.");
        }

        return format;
    }

    private static string? BinaryKind(ReadOnlySpan<byte> head)
    {
        foreach (var (magic, kind) in BinarySignatures)
        {
            if (head.StartsWith(magic))
            {
                return kind;
            }
        }

        return null;
    }

    private static string Describe(ReadOnlySpan<byte> head) => BinaryKind(head) is { } kind ? $" (it looks like {kind})" : "";

    private static DocumentRejectedException Unsupported(string reason) => new(StatusCodes.Status415UnsupportedMediaType, "Unsupported file",
        $"{reason} Accepted: {string.Join(", ", MediaTypes.Keys.Distinct())} (or a file name ending in {string.Join(", ", Extensions.Keys)}).");

    /// <summary>Decodes UTF-8 strictly (a byte-order mark is skipped).</summary>
    /// <exception cref="DocumentRejectedException">422: the bytes are not valid UTF-8; the message gives the byte offset.</exception>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string? fileName)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }

        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new DocumentRejectedException(StatusCodes.Status422UnprocessableEntity, "Invalid UTF-8",
                $"{fileName ?? "The upload"} is not valid UTF-8 (at byte {ex.Index}); save it as UTF-8 and upload it again.", ex);
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
