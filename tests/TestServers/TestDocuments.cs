using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Wordprocessing;

namespace VectorPipeline.TestServers;

/// <summary>Files the tests write themselves, for upload and extraction tests.</summary>
public static class TestDocuments
{
    /// <summary>
    /// A DOCX written with the OpenXML SDK: one paragraph per entry (with its paragraph style, e.g. <c>Title</c>,
    /// <c>Heading1</c>, or none), then a two-row table ("North 12", "South 7"); <paramref name="title"/> as the
    /// package's core title property when given.
    /// </summary>
    public static byte[] Docx(string? title, params (string? Style, string Text)[] paragraphs)
    {
        using var stream = new MemoryStream();
        using (var word = WordprocessingDocument.Create(stream, WordprocessingDocumentType.Document))
        {
            var main = word.AddMainDocumentPart();
            var body = new Body();
            foreach (var (style, text) in paragraphs)
            {
                var paragraph = new Paragraph(new Run(new Text(text)));
                if (style is not null)
                {
                    paragraph.PrependChild(new ParagraphProperties(new ParagraphStyleId { Val = style }));
                }

                body.Append(paragraph);
            }

            body.Append(new Table(
                new TableRow(new TableCell(new Paragraph(new Run(new Text("North 12"))))),
                new TableRow(new TableCell(new Paragraph(new Run(new Text("South 7")))))));
            main.Document = new Document(body);
            if (title is not null)
            {
                word.PackageProperties.Title = title;
            }
        }

        return stream.ToArray();
    }

    /// <summary>The first bytes of a PNG image (signature and the start of its header chunk).</summary>
    public static byte[] PngBytes => [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
}
