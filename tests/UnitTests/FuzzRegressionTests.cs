using System.IO.Pipelines;
using System.Text.Json;
using System.Diagnostics;
using System.Text;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Extraction;
using VectorPipeline.Search.Apis;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.UnitTests;

/// <summary>
/// The bugs the fuzz targets found (fuzz/run.sh), each kept as the input that showed it: every one was an exception
/// that would have answered 500 where a malformed request must get a 4xx.
/// </summary>
public class FuzzRegressionTests
{
    // POST /search binds the filter as a JsonElement, whose strings are decoded only when read.
    private static JsonElement? FilterOf(byte[] body) => JsonSerializer.Deserialize<SearchRequest>(body, JsonSerializerOptions.Web)!.Filter;

    [Theory]
    // Found by the filter target: a metadata property name with a byte that is not UTF-8 (0xEC before 'n').
    [InlineData(new byte[] { 0x7B, 0x22, 0x6D, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3A, 0x7B, 0x22, 0xEC, 0x6E, 0x64, 0x22, 0x3A, 0x31, 0x7D, 0x7D })]
    // Found by the filter target: a date string starting with 0xB2.
    [InlineData(new byte[] { 0x7B, 0x22, 0x6D, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3A, 0x7B, 0x22, 0x66, 0x65, 0x22, 0x3A, 0x22, 0xB2, 0x22, 0x7D, 0x7D })]
    public void A_search_filter_with_invalid_utf8_is_a_field_error_not_an_exception(byte[] filter)
    {
        var body = "{\"query\":\"q\",\"filter\":"u8.ToArray().Concat(filter).Concat("}"u8.ToArray()).ToArray();
        var errors = new Dictionary<string, string[]>();

        var parsed = SearchFilterParser.Parse(FilterOf(body), errors);

        Assert.Null(parsed);
        Assert.Equal([SearchFilterParser.NotText], errors["filter"]);
    }

    [Fact]
    public void A_search_filter_with_an_unpaired_surrogate_escape_is_a_field_error_not_an_exception()
    {
        var errors = new Dictionary<string, string[]>();

        var parsed = SearchFilterParser.Parse(FilterOf("""{"query":"q","filter":{"metadata":{"field":"a","eq":"\ud800"}}}"""u8.ToArray()), errors);

        Assert.Null(parsed);
        Assert.Equal([SearchFilterParser.NotText], errors["filter"]);
    }

    [Fact]
    public void A_dify_condition_with_invalid_utf8_is_error_4001_not_an_exception()
    {
        // The same bytes as the filter target's, reached through POST /retrieval's metadata_condition.
        var body = "{\"logical_operator\":\"and\",\"conditions\":[{\"name\":\"\xEC\",\"comparison_operator\":\"is\",\"value\":\"x\"},{\"name\":\"a\",\"comparison_operator\":\"is\",\"value\":\"\xB2\"}]}"
            .Select(c => (byte)c).ToArray();
        var condition = JsonSerializer.Deserialize<RetrievalMetadataCondition>(body, JsonSerializerOptions.Web);
        var errors = new List<string>();

        var mapped = RetrievalApi.ToFilterCondition(condition, errors);

        Assert.Null(mapped);
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Contains("valid UTF-8", e, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(300)] // the whole body in one read
    [InlineData(64)] // reads of 64 bytes: the 105-byte line is 46 bytes (within the limit) after the first read, whole after the second
    public async Task An_ndjson_line_longer_than_the_limit_is_rejected_even_when_it_arrives_whole_in_one_read(int readSize)
    {
        // Found by the ndjson target: only a partial line was checked against the limit, so a line of up to one read
        // more than Documents:MaxRequestBytes that arrived with its \n was read and ingested.
        const int maxLine = 100;
        var body = "{\"text\":\"short\"}\n{\"text\":\""u8.ToArray().Concat(Enumerable.Repeat((byte)'z', 94)).Concat("\"}\n{\"text\":\"tail\"}"u8.ToArray()).ToArray();
        var read = new List<long>();
        var tooLong = new List<long>();

        await BatchApi.ReadLinesAsync(PipeReader.Create(new CappedReads(body, readSize)), maxLine,
            (number, line) =>
            {
                Assert.True(line.Length <= maxLine, $"line {number} of {line.Length} bytes read");
                read.Add(number);
                return Task.CompletedTask;
            },
            tooLong.Add, TestContext.Current.CancellationToken);

        Assert.Equal([1, 3], read);
        Assert.Equal([2], tooLong);
    }

    [Fact]
    public void Markdown_with_lone_carriage_returns_is_read_without_an_exception()
    {
        // Found by the markdown target: Markdig's span of the last block passed the end of the text, and Substring threw
        // ArgumentOutOfRangeException (a 500 for the upload).
        var document = DocumentExtractor.Extract(SourceFormat.Markdown, "[\r<\t\r\r```"u8.ToArray(), "notes.md", 10_000);

        Assert.Contains("[", document.Text, StringComparison.Ordinal);
        Assert.Contains("```", document.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[", 100_000)]
    [InlineData("> ", 5000)]
    public void Markdown_nested_deeper_than_markdig_parses_is_a_422(string opener, int count)
    {
        // Found while writing the markdown target's seeds (deep nesting, beyond what the fuzzer's short inputs reach):
        // Markdig refuses nesting deeper than 128 with ArgumentException, which escaped as a 500.
        var markdown = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(opener, count)) + "x");

        var rejected = Assert.Throws<DocumentRejectedException>(() => DocumentExtractor.Extract(SourceFormat.Markdown, markdown, "deep.md", 1_000_000));

        Assert.Equal(422, rejected.StatusCode);
    }

    [Theory]
    [InlineData("c:x")]
    [InlineData("c:")]
    public void A_docx_whose_content_types_name_a_part_that_is_no_uri_is_a_422(string partName)
    {
        // Found by the docx target: an Override in [Content_Types].xml whose PartName System.IO.Packaging cannot make a
        // relative URI of threw UriFormatException, which escaped as a 500.
        var docx = VectorPipeline.TestServers.TestDocuments.DocxWithPartName(partName);

        var rejected = Assert.Throws<DocumentRejectedException>(() => DocumentExtractor.Extract(SourceFormat.Docx, docx, "broken.docx", 10_000));

        Assert.Equal(422, rejected.StatusCode);
    }

    [Fact]
    public void Html_with_thousands_of_unclosed_elements_is_a_quick_422()
    {
        // Found while writing the html target's seeds: 100,000 unclosed <div> (500 KB, well under the upload limit) kept
        // AngleSharp's tree builder busy for minutes (quadratic in the open elements).
        var html = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<div>", 100_000)) + "x");
        var clock = Stopwatch.StartNew();

        var rejected = Assert.Throws<DocumentRejectedException>(() => DocumentExtractor.Extract(SourceFormat.Html, html, "deep.html", 10_000_000));

        Assert.Equal(422, rejected.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Html_with_many_elements_that_the_parser_closes_itself_is_read()
    {
        // The open-element limit counts only elements that need an end tag: paragraphs, list items, cells and line breaks
        // left open are closed by the parser.
        var html = Encoding.UTF8.GetBytes("<table>" + string.Concat(Enumerable.Repeat("<tr><td>cell<p>para<li>item<br><img src=x>", 3000)) + "</table>");

        var document = DocumentExtractor.Extract(SourceFormat.Html, html, "many.html", 10_000_000);

        Assert.Contains("item", document.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Headings_held_for_a_word_with_white_space_after_it_are_not_dropped()
    {
        // Found by the splitter-chars target (limit 50, overlap 10): the word measured 53 with the vertical tabs after
        // it, over the limit, so it was made a chunk of its own, but the heading lines kept for it (they fit with the
        // trimmed word) were already cut from the previous chunk and went nowhere: "## Insta```" and "# not" were lost.
        var text = "#\t\uFFFDa \n# Why?\n\n## Insta```\uFFFD\n# not aBh%adinshatisverylongfifto" + new string('\v', 26) + "rdthatirethychar";

        var chunks = new RecursiveTextSplitter(new ChunkingOptions { MaxChunkChars = 50, OverlapChars = 10 }).Split(text);

        var words = string.Join(' ', chunks).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal), words);
        Assert.All(chunks, c => Assert.True(c.Length <= 50 || !c.Any(char.IsWhiteSpace), $"chunk over the limit: {c}"));
    }

    private sealed class CappedReads(byte[] bytes, int readSize) : MemoryStream(bytes, writable: false)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }
}
