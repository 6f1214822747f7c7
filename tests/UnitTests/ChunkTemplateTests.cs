using VectorPipeline.Ingest.Chunking;

namespace VectorPipeline.UnitTests;

public class ChunkTemplateTests
{
    [Fact]
    public void Placeholders_are_filled_per_chunk_and_a_missing_title_leaves_no_blank_lines()
    {
        var template = new ChunkTemplate("{title}\n\n{chunk}\n(source: {source})");

        Assert.Equal(["Guide\n\none\n(source: wiki)", "Guide\n\ntwo\n(source: wiki)"], template.Render("Guide", "wiki", ["one", "two"]));
        Assert.Equal(["one"], new ChunkTemplate("{title}\n\n{chunk}").Render(null, null, ["one"]));
    }

    [Fact]
    public void The_default_embeds_the_chunk_alone() =>
        Assert.True(new ChunkTemplate(ChunkTemplate.ChunkOnly).IsChunkOnly);

    [Theory]
    [InlineData("{title}", "has no {chunk} placeholder")]
    [InlineData("{heading}: {chunk}", "unknown placeholder(s) {heading}")]
    public void Invalid_templates_are_refused_saying_why(string template, string reason) =>
        Assert.Contains(reason, Assert.Throws<ArgumentException>(() => new ChunkTemplate(template)).Message);
}
