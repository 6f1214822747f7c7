using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Ingest.Chunking;

namespace VectorPipeline.UnitTests;

/// <summary>Chunks sized in the model's tokens where its tokenizer is known (the onnx models), in characters elsewhere.</summary>
public sealed class ModelChunkingTests
{
    private static ModelEmbedder Primary(params (string Key, string Value)[] settings) =>
        EmbeddingModelCatalog.FromConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            NullLoggerFactory.Instance).Primary;

    // About 4,000 words of varied prose in sentences and paragraphs.
    private static readonly string LongText = string.Join("\n\n", Enumerable.Range(0, 40).Select(p => string.Join(' ', Enumerable.Range(0, 8).Select(s =>
        $"Paragraph {p} sentence {s}: the Broncos' defense, led by Von Miller, forced {p + s} turnovers while Peyton Manning's offense struggled against Carolina's zone coverage."))));

    [Theory]
    [InlineData("arctic-embed-xs", 256, 512)]
    [InlineData("all-minilm-l6-v2", 254, 256)]
    public void No_chunk_exceeds_what_the_model_takes(string model, int expectedLimit, int maxSequence)
    {
        var primary = Primary(("Embedding:Model", model));
        var chunking = new ModelChunking(new ChunkingOptions(), primary);
        var tokenizer = primary.Tokenizer!;

        var chunks = chunking.Splitter.Split(LongText);
        var counts = chunking.Count(chunks)!;

        Assert.Equal(("tokens", expectedLimit, maxSequence), (chunking.Splitter.Unit, chunking.Splitter.MaxChunk, chunking.TokenLimit));
        Assert.True(chunks.Count > 10, $"{chunks.Count} chunks");
        Assert.All(chunks, c => Assert.InRange(tokenizer.CountTokens(c) - 2, 1, expectedLimit));
        Assert.All(counts, n => Assert.InRange(n, 3, maxSequence));
        // The limit is used: packing fills chunks close to it (each paragraph here is a little over it).
        Assert.Contains(chunks, c => tokenizer.CountTokens(c) - 2 > expectedLimit * 0.8);
    }

    [Fact]
    public void Neighbouring_chunks_overlap_by_whole_words_within_the_token_budget()
    {
        var primary = Primary(("Embedding:Model", "all-minilm-l6-v2"));
        var chunking = new ModelChunking(new ChunkingOptions { OverlapTokens = 40 }, primary);
        var tokenizer = primary.Tokenizer!;

        var chunks = chunking.Splitter.Split(LongText);

        // Within a paragraph that had to be split, each chunk starts with the end of the one before.
        Assert.True(chunks.Count > 10, $"{chunks.Count} chunks");
        var overlaps = 0;
        for (var i = 1; i < chunks.Count; i++)
        {
            var words = chunks[i].Split(' ');
            var shared = Enumerable.Range(1, words.Length).LastOrDefault(n => chunks[i - 1].EndsWith(string.Join(' ', words[..n]), StringComparison.Ordinal));
            if (shared > 0)
            {
                overlaps++;
                Assert.InRange(tokenizer.CountTokens(string.Join(' ', words[..shared])) - 2, 1, 40);
            }
        }

        Assert.True(overlaps >= chunks.Count / 2 - 1, $"{overlaps} overlaps in {chunks.Count} chunks");
    }

    [Fact]
    public void Chunks_larger_than_the_model_takes_are_allowed_and_counted_so_the_cut_is_recorded()
    {
        var primary = Primary(("Embedding:Model", "all-minilm-l6-v2"));
        var chunking = new ModelChunking(new ChunkingOptions { MaxChunkTokens = 600, OverlapTokens = 0 }, primary);

        var counts = chunking.Count(chunking.Splitter.Split(LongText))!;

        Assert.Contains(counts, n => n > 256);
        Assert.All(counts, n => Assert.True(n <= 602, $"{n} tokens"));
    }

    [Fact]
    public void A_model_without_a_known_tokenizer_is_chunked_in_characters()
    {
        var chunking = new ModelChunking(new ChunkingOptions { MaxChunkChars = 500, OverlapChars = 50 }, Primary(("Embedding:Provider", "hashing")));

        var chunks = chunking.Splitter.Split(LongText);

        Assert.Equal(("characters", 500, null), (chunking.Splitter.Unit, chunking.Splitter.MaxChunk, chunking.TokenLimit));
        Assert.Null(chunking.Count(chunks));
        Assert.All(chunks, c => Assert.InRange(c.Length, 1, 500));
    }
}
