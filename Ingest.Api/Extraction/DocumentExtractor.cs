using System.Text;
using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Extraction;

/// <summary>
/// Turns an uploaded file into text sections: headings become section boundaries for the splitter, and the
/// file's own title is kept. Markdown is parsed with Markdig, HTML with AngleSharp, DOCX with
/// DocumentFormat.OpenXml; plain text is one section.
/// </summary>
public static partial class DocumentExtractor
{
    /// <summary>Reads the file as <paramref name="format"/>.</summary>
    /// <param name="format">From <see cref="FormatDetector.Detect"/>.</param>
    /// <param name="content">The whole file.</param>
    /// <param name="fileName">For messages; may be null.</param>
    /// <param name="maxChars">Largest extracted text accepted, in characters (a small DOCX can inflate a lot).</param>
    /// <exception cref="DocumentRejectedException">422 for corrupt content, invalid UTF-8 or nesting too deep to read; 413 when the text is larger than <paramref name="maxChars"/>.</exception>
    public static ExtractedDocument Extract(SourceFormat format, byte[] content, string? fileName, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(content);
        var document = format switch
        {
            SourceFormat.Markdown => MarkdownText.Read(FormatDetector.DecodeUtf8(content, fileName), fileName),
            SourceFormat.Html => HtmlText.Read(FormatDetector.DecodeUtf8(content, fileName), fileName),
            SourceFormat.Docx => DocxText.Read(content, fileName, maxChars),
            _ => new ExtractedDocument(SourceFormat.PlainText, null, [new DocumentSection(null, 0, FormatDetector.DecodeUtf8(content, fileName).Trim())]),
        };

        if (document.Length > maxChars)
        {
            throw TooLarge(fileName, maxChars);
        }

        return document with { Sections = document.Sections.Where(s => s.Heading is not null || s.Text.Length > 0).ToList() };
    }

    internal static DocumentRejectedException TooLarge(string? fileName, int maxChars) =>
        new(StatusCodes.Status413PayloadTooLarge, "Document too large", $"The text of {fileName ?? "the upload"} is longer than {maxChars} characters.");

    internal static DocumentRejectedException Corrupt(string? fileName, string format, Exception inner) =>
        new(StatusCodes.Status422UnprocessableEntity, "Corrupt file", $"{fileName ?? "The upload"} could not be read as {format}: {inner.Message}", inner);

    /// <summary>Collapses runs of whitespace to one space and trims.</summary>
    internal static string Normalize(string text) => Whitespace().Replace(text, " ").Trim();

    /// <summary>Builds sections from a stream of headings and paragraphs.</summary>
    internal sealed class SectionBuilder
    {
        private readonly List<DocumentSection> _sections = [];
        private readonly StringBuilder _text = new();
        private string? _heading;
        private int _level;

        public string? FirstHeading { get; private set; }

        public void Heading(string heading, int level)
        {
            Flush();
            _heading = heading;
            _level = level;
            FirstHeading ??= heading;
        }

        public void Paragraph(string paragraph)
        {
            if (paragraph.Length == 0)
            {
                return;
            }

            if (_text.Length > 0)
            {
                _text.Append("\n\n");
            }

            _text.Append(paragraph);
        }

        public List<DocumentSection> Build()
        {
            Flush();
            return _sections;
        }

        private void Flush()
        {
            if (_heading is not null || _text.Length > 0)
            {
                _sections.Add(new DocumentSection(_heading, _heading is null ? 0 : _level, _text.ToString().Trim()));
            }

            _heading = null;
            _text.Clear();
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
