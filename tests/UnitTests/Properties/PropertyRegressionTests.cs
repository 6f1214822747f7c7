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
    public void Headings_at_the_start_of_the_text_stay_with_the_first_words_of_their_section()
    {
        // The blank lines before the headings counted towards the limit, so the first word seemed not to fit and the
        // headings made a chunk of their own (CsCheck seed 08wwTQqOPak3).
        var chunks = Split("\n\n### Pipeline basics:\n\n## Vector stores, more\n\nSea otters hold hands while they sleep.", 50);

        Assert.Equal("### Pipeline basics:\n\n## Vector stores, more\n\nSea", chunks[0]);
    }

    [Fact]
    public void Of_two_headings_too_long_together_with_the_first_word_the_second_starts_the_next_chunk()
    {
        // The word packing filled the chunk with the first heading and half the second (CsCheck seed 0v5y7kr5-JC2).
        var chunks = Split("### Lighthouse keepers:\n\n### Pipeline sea Zürich stories:\n\nOtters hold hands while they sleep.", 50);

        Assert.Equal("### Lighthouse keepers:", chunks[0]);
        Assert.StartsWith("### Pipeline sea Zürich stories:\n\nOtters", chunks[1]);
    }

    [Fact]
    public void A_title_holding_a_placeholder_name_is_embedded_as_written()
    {
        var template = new ChunkTemplate("{title}\n\n{chunk}");

        Assert.Equal("{source}\n\n{source}achunk", template.Render("{source}", "", ["{source}achunk"])[0]);
        Assert.Equal("Use {chunk} here\n\ntext", template.Render("Use {chunk} here", null, ["text"])[0]);
    }
}
