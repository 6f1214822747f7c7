using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Wordprocessing;

namespace VectorPipeline.Ingest.Extraction;

/// <summary>
/// DOCX read with DocumentFormat.OpenXml: the main document part's paragraphs in order (table cells included),
/// paragraphs styled <c>Heading1</c>..<c>Heading9</c> or <c>Title</c> starting sections. Title: the package's
/// core property, else the first <c>Title</c> or <c>Heading1</c> paragraph. Reading stops with 413 as soon as
/// the text passes the limit, so a small file that inflates enormously is not read to the end.
/// </summary>
internal static class DocxText
{
    // Title → 1, HeadingN → N (capped at 6).
    private static int HeadingLevel(string style) =>
        style.StartsWith("Heading", StringComparison.OrdinalIgnoreCase) && int.TryParse(style.AsSpan("Heading".Length), out var level)
            ? Math.Clamp(level, 1, 6)
            : 1;

    public static ExtractedDocument Read(byte[] content, string? fileName, int maxChars)
    {
        try
        {
            using var stream = new MemoryStream(content, writable: false);
            using var word = WordprocessingDocument.Open(stream, false);
            var body = word.MainDocumentPart?.Document?.Body
                ?? throw new InvalidDataException("it has no main document part");
            var sections = new DocumentExtractor.SectionBuilder();
            string? styledTitle = null;
            var length = 0;
            foreach (var paragraph in body.Descendants<Paragraph>())
            {
                var text = DocumentExtractor.Normalize(paragraph.InnerText);
                length += text.Length + 2;
                if (length > maxChars)
                {
                    throw DocumentExtractor.TooLarge(fileName, maxChars);
                }

                var style = paragraph.ParagraphProperties?.ParagraphStyleId?.Val?.Value ?? "";
                if (text.Length > 0 && (style.Equals("Title", StringComparison.OrdinalIgnoreCase) || style.StartsWith("Heading", StringComparison.OrdinalIgnoreCase)))
                {
                    if (style.Equals("Title", StringComparison.OrdinalIgnoreCase) || style.Equals("Heading1", StringComparison.OrdinalIgnoreCase))
                    {
                        styledTitle ??= text;
                    }

                    sections.Heading(text, HeadingLevel(style));
                }
                else
                {
                    sections.Paragraph(text);
                }
            }

            var title = word.PackageProperties.Title;
            return new ExtractedDocument(SourceFormat.Docx, string.IsNullOrWhiteSpace(title) ? styledTitle : title.Trim(), sections.Build());
        }
        catch (Exception ex) when (ex is OpenXmlPackageException or InvalidDataException or FileFormatException or System.Xml.XmlException
                                       or InvalidOperationException or ArgumentException or IOException or UriFormatException)
        {
            throw DocumentExtractor.Corrupt(fileName, "DOCX", ex);
        }
    }
}
