using System.Text.RegularExpressions;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.TestServers;

namespace VectorPipeline.UnitTests;

public partial class RecursiveTextSplitterTests
{
    private static RecursiveTextSplitter Splitter(int max, int overlap) => new(new ChunkingOptions { MaxChunkChars = max, OverlapChars = overlap });

    private static readonly string Prose = string.Join(" ", Enumerable.Range(1, 120).Select(i =>
        $"Sentence number {i} talks about embeddings, chunks and cosine distance in PostgreSQL."));

    [Fact]
    public void Short_text_is_one_trimmed_chunk()
    {
        Assert.Equal(["Hello vectors."], Splitter(200, 20).Split("  Hello vectors.\n\n"));
    }

    [Fact]
    public void Blank_text_gives_no_chunks()
    {
        Assert.Empty(Splitter(200, 20).Split(" \n\n\t "));
    }

    [Theory]
    [InlineData(100, 0)]
    [InlineData(300, 50)]
    [InlineData(1000, 150)]
    public void Every_chunk_respects_the_size_limit(int max, int overlap)
    {
        var chunks = Splitter(max, overlap).Split(Prose);

        Assert.True(chunks.Count > 1);
        Assert.All(chunks, chunk => Assert.True(chunk.Length <= max, $"{chunk.Length} > {max}: {chunk}"));
    }

    [Fact]
    public void No_chunk_starts_or_ends_inside_a_word()
    {
        var words = new HashSet<string>(WordPattern().Matches(Prose).Select(m => m.Value));

        foreach (var chunk in Splitter(97, 30).Split(Prose))
        {
            Assert.All(WordPattern().Matches(chunk).Select(m => m.Value), word => Assert.Contains(word, words));
        }
    }

    [Fact]
    public void Without_overlap_the_chunks_concatenate_back_to_every_word_in_order()
    {
        var chunks = Splitter(150, 0).Split(Prose);

        Assert.Equal(WordPattern().Matches(Prose).Select(m => m.Value), chunks.SelectMany(c => WordPattern().Matches(c).Select(m => m.Value)));
    }

    [Fact]
    public void Each_chunk_starts_with_the_end_of_the_previous_one_when_overlap_is_set()
    {
        var chunks = Splitter(300, 100).Split(Prose);

        for (var i = 1; i < chunks.Count; i++)
        {
            var firstWords = string.Join(' ', chunks[i].Split(' ').Take(3));
            Assert.Contains(firstWords, chunks[i - 1]);
        }
    }

    [Fact]
    public void Overlap_never_exceeds_its_budget()
    {
        var chunks = Splitter(300, 60).Split(Prose);

        for (var i = 1; i < chunks.Count; i++)
        {
            var shared = LongestSuffixPrefix(chunks[i - 1], chunks[i]);
            Assert.InRange(shared, 1, 60);
        }
    }

    [Fact]
    public void A_word_longer_than_the_limit_is_kept_whole()
    {
        var longWord = new string('x', 120);

        var chunks = Splitter(50, 0).Split($"short words here {longWord} and more words after it");

        Assert.Contains(longWord, chunks);
    }

    [Fact]
    public void A_section_that_fits_stays_whole_with_its_heading()
    {
        var markdown = """
            # Guide

            Intro paragraph about the pipeline.

            ## Install

            Run the installer script. It builds pgvector from source.

            ## Configure

            Set the connection strings. Then start the services and watch the health endpoints.
            """;

        var chunks = Splitter(120, 0).Split(markdown);

        Assert.True(chunks.Count > 1);
        Assert.Contains(chunks, c => c.Contains("## Install\n\nRun the installer script. It builds pgvector from source.", StringComparison.Ordinal));
        Assert.Contains(chunks, c => c.StartsWith("## Configure\n\nSet the connection", StringComparison.Ordinal));
        Assert.All(chunks, c => Assert.False(HeadingLine().IsMatch(c.Split('\n')[^1]), $"chunk ends with a heading: {c}"));
    }

    [Fact]
    public void A_long_section_is_split_but_its_heading_stays_with_its_first_paragraph()
    {
        var body = string.Join("\n\n", Enumerable.Range(1, 6).Select(i => $"Paragraph {i} explains one more detail of HNSW indexes and ef_search."));
        var markdown = $"## Indexes\n\n{body}\n\n## Next\n\nShort.";

        var chunks = Splitter(160, 0).Split(markdown);

        Assert.StartsWith("## Indexes\n\nParagraph 1", chunks[0], StringComparison.Ordinal);
        Assert.All(chunks, c => Assert.False(HeadingLine().IsMatch(c.Split('\n')[^1]), $"chunk ends with a heading: {c}"));
    }

    [Fact]
    public void Hash_lines_inside_fenced_code_are_not_headings()
    {
        var markdown = "## Setup\n\n```bash\n# install the extension\napt-get install pgvector\n```\n\nDone.";

        var chunks = Splitter(1000, 0).Split(markdown);

        Assert.Single(chunks);
    }

    [Fact]
    public void Splits_the_real_pgai_documents_within_limits()
    {
        var folder = Path.Combine(RepositoryPaths.SampleData, "pgai-docs");
        Assert.SkipUnless(Directory.Exists(folder), $"sample data not found at {folder} (set VECTORPIPELINE_SAMPLE_DATA)");
        var splitter = Splitter(1000, 150);

        foreach (var file in Directory.GetFiles(folder, "*.md"))
        {
            var text = File.ReadAllText(file);
            var chunks = splitter.Split(text);
            Assert.NotEmpty(chunks);
            var longest = WordPattern().Matches(text).Max(m => m.Length);
            Assert.All(chunks, c => Assert.True(c.Length <= Math.Max(1000, longest), $"{Path.GetFileName(file)}: chunk of {c.Length}"));
        }
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(1000, 600)]
    [InlineData(1000, -1)]
    public void Rejects_out_of_range_options(int max, int overlap)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Splitter(max, overlap));
    }

    private static int LongestSuffixPrefix(string previous, string next)
    {
        for (var length = Math.Min(previous.Length, next.Length); length > 0; length--)
        {
            if (previous.EndsWith(next[..length], StringComparison.Ordinal))
            {
                return length;
            }
        }

        return 0;
    }

    [GeneratedRegex(@"\S+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"^#{1,6}\s")]
    private static partial Regex HeadingLine();
}
