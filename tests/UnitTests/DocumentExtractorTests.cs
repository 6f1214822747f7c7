using System.Text;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Extraction;
using VectorPipeline.TestServers;

namespace VectorPipeline.UnitTests;

public class DocumentExtractorTests
{
    private const int Limit = 1_000_000;

    [Fact]
    public void Markdown_headings_open_sections_and_front_matter_gives_the_title()
    {
        var markdown = """
            ---
            title: "Vectorizer guide"
            ---
            Intro paragraph.

            # Install

            Run this:

            ```bash
            # not a heading
            make install
            ```

            ## Configure *it*

            - one
            - two
            """;

        var document = Extract(SourceFormat.Markdown, markdown);

        Assert.Equal("Vectorizer guide", document.Title);
        Assert.Equal([(null, 0), ("Install", 1), ("Configure it", 2)], document.Sections.Select(s => (s.Heading, s.Level)));
        Assert.Contains("# not a heading", document.Sections[1].Text);
        Assert.Equal("- one\n- two", document.Sections[2].Text);
        Assert.StartsWith("Intro paragraph.\n\n# Install\n\nRun this:", document.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_without_front_matter_takes_its_first_level_one_heading_as_title() =>
        Assert.Equal("Quick start", Extract(SourceFormat.Markdown, "## Before\n\ntext\n\n# Quick start\n\nmore").Title);

    [Fact]
    public void Html_text_comes_in_document_order_with_headings_as_sections_and_scripts_left_out()
    {
        var html = """
            <html><head><title> Pricing  FAQ </title><style>p{color:red}</style></head>
            <body><nav>Home</nav><h1>Plans</h1><p>Free and <b>paid</b>
            plans.</p><script>track()</script><h2>Limits</h2><ul><li>10 MB</li><li>100 docs</li></ul><div>loose text<p>inner</p></div></body></html>
            """;

        var document = Extract(SourceFormat.Html, html);

        Assert.Equal("Pricing FAQ", document.Title);
        Assert.Equal([null, "Plans", "Limits"], document.Sections.Select(s => s.Heading));
        Assert.Equal("Home", document.Sections[0].Text);
        Assert.Equal("Free and paid plans.", document.Sections[1].Text);
        Assert.Equal("10 MB\n\n100 docs\n\nloose text\n\ninner", document.Sections[2].Text);
        Assert.DoesNotContain("track", document.Text);
        Assert.DoesNotContain("color", document.Text);
    }

    [Fact]
    public void Docx_paragraphs_and_table_cells_are_read_with_heading_styles_as_sections()
    {
        var docx = TestDocuments.Docx(title: null,
            ("Title", "Annual report"), (null, "Summary first."), ("Heading1", "Results"), (null, "Revenue grew."), ("Heading2", "By region"));

        var document = Extract(SourceFormat.Docx, docx);

        Assert.Equal("Annual report", document.Title);
        Assert.Equal([("Annual report", 1), ("Results", 1), ("By region", 2)], document.Sections.Select(s => (s.Heading, s.Level)));
        Assert.Equal("Summary first.", document.Sections[0].Text);
        Assert.Equal("Revenue grew.", document.Sections[1].Text);
        Assert.Equal("North 12\n\nSouth 7", document.Sections[2].Text); // the table after the last heading
    }

    [Fact]
    public void Docx_core_title_wins_over_styled_paragraphs() =>
        Assert.Equal("From properties", Extract(SourceFormat.Docx, TestDocuments.Docx("From properties", ("Title", "From the body"))).Title);

    [Fact]
    public void A_docx_whose_text_passes_the_limit_is_refused_with_413()
    {
        var docx = TestDocuments.Docx(null, Enumerable.Range(0, 50).Select(i => ((string?)null, new string('x', 100))).ToArray());

        var error = Assert.Throws<DocumentRejectedException>(() => DocumentExtractor.Extract(SourceFormat.Docx, docx, "big.docx", 1000));

        Assert.Equal(413, error.StatusCode);
    }

    [Fact]
    public void A_corrupt_docx_is_refused_with_422_naming_the_file()
    {
        var corrupt = "PK\u0003\u0004"u8.ToArray().Concat(Enumerable.Repeat((byte)7, 200)).ToArray();

        var error = Assert.Throws<DocumentRejectedException>(() =>
            DocumentExtractor.Extract(FormatDetector.Detect(FormatDetector.DocxMediaType, "report.docx", corrupt), corrupt, "report.docx", Limit));

        Assert.Equal(422, error.StatusCode);
        Assert.StartsWith("report.docx could not be read as DOCX", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/markdown", "notes.md", "PNG", "is declared as Markdown but its bytes are binary (it looks like a PNG image)")]
    [InlineData(FormatDetector.DocxMediaType, "cv.docx", "PDF", "is declared as DOCX but is not a ZIP package (it looks like a PDF file)")]
    [InlineData("application/pdf", "paper.pdf", "PDF", "paper.pdf is application/pdf, which is not supported")]
    [InlineData(null, "archive.tar", "TEXT", "archive.tar has no supported content type or file name extension")]
    [InlineData("text/plain", "nul.txt", "NUL", "is declared as PlainText but its bytes are binary")]
    public void Unsupported_or_mislabelled_files_are_refused_with_415_saying_why(string? contentType, string fileName, string bytes, string reason)
    {
        byte[] content = bytes switch
        {
            "PNG" => [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0],
            "PDF" => "%PDF-1.7\n..."u8.ToArray(),
            "NUL" => "text\0more"u8.ToArray(),
            _ => "plain words"u8.ToArray(),
        };

        var error = Assert.Throws<DocumentRejectedException>(() => FormatDetector.Detect(contentType, fileName, content));

        Assert.Equal(415, error.StatusCode);
        Assert.Contains(reason, error.Message);
        Assert.Contains("text/markdown", error.Message); // says what is accepted
    }

    [Theory]
    [InlineData(null, "guide.MD", SourceFormat.Markdown)]
    [InlineData("application/octet-stream", "page.htm", SourceFormat.Html)]
    [InlineData("text/plain; charset=utf-8", "x.md", SourceFormat.PlainText)] // the declared type wins over the name
    public void The_declared_type_decides_and_the_file_name_fills_in_when_it_is_missing_or_generic(string? contentType, string fileName, SourceFormat expected) =>
        Assert.Equal(expected, FormatDetector.Detect(contentType, fileName, "# text"u8));

    [Fact]
    public void Text_that_is_not_utf8_is_refused_with_422_giving_the_offset()
    {
        byte[] latin1 = [.. "caf"u8, 0xE9, .. " au lait"u8];

        var error = Assert.Throws<DocumentRejectedException>(() => DocumentExtractor.Extract(SourceFormat.PlainText, latin1, "menu.txt", Limit));

        Assert.Equal(422, error.StatusCode);
        Assert.Contains("menu.txt is not valid UTF-8 (at byte 3)", error.Message);
    }

    [Fact]
    public void Html_headings_become_boundaries_the_splitter_cuts_at()
    {
        var paragraph = string.Join(" ", Enumerable.Repeat("word", 140)); // 699 characters
        var html = $"<h2>First</h2><p>{paragraph}</p><h2>Second</h2><p>{paragraph}</p>";

        var chunks = new RecursiveTextSplitter(new ChunkingOptions { MaxChunkChars = 1000, OverlapChars = 0 })
            .Split(Extract(SourceFormat.Html, html).Text);

        Assert.Equal(["## First", "## Second"], chunks.Select(c => c.Split('\n')[0]));
    }

    private static ExtractedDocument Extract(SourceFormat format, string text) => Extract(format, Encoding.UTF8.GetBytes(text));

    private static ExtractedDocument Extract(SourceFormat format, byte[] content) => DocumentExtractor.Extract(format, content, "test", Limit);
}
