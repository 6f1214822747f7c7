using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Hashing;

namespace VectorPipeline.UnitTests;

public class HashingEmbeddingGeneratorTests
{
    private readonly HashingEmbeddingGenerator _embedder = new(384);

    [Fact]
    public void Same_text_gives_the_same_vector_in_separate_instances()
    {
        const string text = "The Denver Broncos defeated the Carolina Panthers 24–10.";

        Assert.Equal(_embedder.Embed(text), new HashingEmbeddingGenerator(384).Embed(text));
    }

    [Theory]
    [InlineData("Super Bowl 50 was an American football game.")]
    [InlineData("the of and")]
    [InlineData("!!! ???")]
    [InlineData("x")]
    public void Vectors_have_the_configured_dimensions_and_unit_norm(string text)
    {
        var vector = _embedder.Embed(text);

        Assert.Equal(384, vector.Length);
        Assert.Equal(1.0, VectorMath.Norm(vector), 5);
    }

    [Fact]
    public void Texts_that_share_words_score_higher_than_unrelated_texts()
    {
        var query = _embedder.Embed("Which team won Super Bowl 50?");
        var related = _embedder.Embed("The Denver Broncos won Super Bowl 50, beating the Carolina Panthers.");
        var unrelated = _embedder.Embed("PostgreSQL stores vectors in a table and builds an HNSW index over them.");

        Assert.True(VectorMath.CosineSimilarity(query, related) > VectorMath.CosineSimilarity(query, unrelated) + 0.2,
            $"related {VectorMath.CosineSimilarity(query, related):F3}, unrelated {VectorMath.CosineSimilarity(query, unrelated):F3}");
    }

    [Fact]
    public void Word_forms_that_share_character_trigrams_are_closer_than_unrelated_words()
    {
        var stadium = _embedder.Embed("stadiums");

        Assert.True(VectorMath.CosineSimilarity(stadium, _embedder.Embed("stadium")) > VectorMath.CosineSimilarity(stadium, _embedder.Embed("quarterback")));
    }

    [Fact]
    public async Task GenerateAsync_keeps_input_order_and_reports_the_model()
    {
        string[] texts = ["first text about football", "second text about databases"];

        var embeddings = await _embedder.GenerateAsync(texts, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, embeddings.Count);
        Assert.Equal(_embedder.Embed(texts[0]), embeddings[0].Vector.ToArray());
        Assert.Equal(_embedder.Embed(texts[1]), embeddings[1].Vector.ToArray());
        var metadata = _embedder.GetService<EmbeddingGeneratorMetadata>();
        Assert.Equal((HashingEmbeddingGenerator.ProviderName, HashingEmbeddingGenerator.ModelName, 384),
            (metadata!.ProviderName, metadata.DefaultModelId, metadata.DefaultModelDimensions));
    }

    [Fact]
    public async Task Asking_for_other_dimensions_is_an_error_not_a_cut()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _embedder.GenerateAsync(["text"], new EmbeddingGenerationOptions { Dimensions = 768 }, TestContext.Current.CancellationToken));

        Assert.Contains("384", error.Message);
        Assert.Contains("768", error.Message);
    }
}
