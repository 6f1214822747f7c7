using VectorPipeline.Ingest.Chunking;

namespace VectorPipeline.UnitTests.Properties;

/// <summary>The bugs the property tests found, kept as plain cases (shrunk, then written out).</summary>
public class PropertyRegressionTests
{
    private static IReadOnlyList<string> Split(string text, int max) =>
        new RecursiveTextSplitter(new ChunkingOptions { MaxChunkChars = max, OverlapChars = 0 }).Split(text);

    [Fact]
    public void A_heading_ending_in_a_question_mark_stays_with_the_first_words_of_its_section()
    {
        // The sentence split read "# Why?" as a sentence of its own and the long word after it closed the chunk.
        var chunks = Split("# Why?\n\nSea otters hold hands " + new string('z', 60) + " while they sleep.", 50);

        Assert.Equal("# Why?\n\nSea otters hold hands", chunks[0]);
    }

    [Fact]
    public void A_section_with_only_its_heading_goes_with_the_subsection_after_it()
    {
        var body = string.Join(' ', Enumerable.Repeat("Run the installer and follow its steps.", 4));

        var chunks = Split("# Guide\n\n## Install\n\n" + body, 100);

        Assert.StartsWith("# Guide\n\n## Install\n\nRun the installer", chunks[0]);
        Assert.All(chunks, c => Assert.False(c.Split('\n')[^1].StartsWith('#'), $"chunk ends with a heading: {c}"));
    }

    [Fact]
    public void A_title_holding_a_placeholder_name_is_embedded_as_written()
    {
        var template = new ChunkTemplate("{title}\n\n{chunk}");

        Assert.Equal("{source}\n\n{source}achunk", template.Render("{source}", "", ["{source}achunk"])[0]);
        Assert.Equal("Use {chunk} here\n\ntext", template.Render("Use {chunk} here", null, ["text"])[0]);
    }
}
