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

    /// <summary>
    /// A <see cref="Docx"/> whose <c>[Content_Types].xml</c> also holds <c>&lt;Override PartName="{partName}"
    /// ContentType="application/xml"/&gt;</c>: a part name System.IO.Packaging may refuse (the docx fuzz target found
    /// <c>c:x</c>).
    /// </summary>
    public static byte[] DocxWithPartName(string partName)
    {
        using var docx = new MemoryStream();
        docx.Write(Docx("Title", (null, "Some text.")));
        using (var zip = new System.IO.Compression.ZipArchive(docx, System.IO.Compression.ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.GetEntry("[Content_Types].xml")!;
            string types;
            using (var reader = new StreamReader(entry.Open()))
            {
                types = reader.ReadToEnd();
            }

            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("[Content_Types].xml").Open());
            writer.Write(types.Replace("</Types>", $"<Override PartName=\"{partName}\" ContentType=\"application/xml\"/></Types>", StringComparison.Ordinal));
        }

        return docx.ToArray();
    }

    /// <summary>The first bytes of a PNG image (signature and the start of its header chunk).</summary>
    public static byte[] PngBytes => [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
}
