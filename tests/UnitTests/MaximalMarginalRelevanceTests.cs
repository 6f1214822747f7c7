using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.UnitTests;

public class MaximalMarginalRelevanceTests
{
    // Four unit vectors on a quarter circle: cos(v0, v1) = 0.8, cos(v0, v2) = 0.6, cos(v0, v3) = 0,
    // cos(v1, v2) = 0.96, cos(v1, v3) = 0.6, cos(v2, v3) = 0.8.
    private static readonly float[][] Arc = [[1f, 0f], [0.8f, 0.6f], [0.6f, 0.8f], [0f, 1f]];
    private static readonly double[] ArcRelevance = [1.0, 0.9, 0.8, 0.7];

    [Fact]
    public void Cosine_similarity_of_hand_computed_pairs()
    {
        // (1,2,2)·(2,1,2) = 8, both norms 3: 8/9.
        Assert.Equal(8.0 / 9.0, MaximalMarginalRelevance.CosineSimilarity([1f, 2f, 2f], [2f, 1f, 2f]), 12);
        Assert.Equal(-1.0, MaximalMarginalRelevance.CosineSimilarity([1f, 0f], [-3f, 0f]), 12);
        Assert.Equal(0.0, MaximalMarginalRelevance.CosineSimilarity([0f, 0f], [1f, 1f]));
        Assert.Throws<ArgumentException>(() => MaximalMarginalRelevance.CosineSimilarity([1f], [1f, 0f]));
    }

    [Fact]
    public void Lambda_one_keeps_the_relevance_order()
    {
        Assert.Equal([0, 1, 2, 3], MaximalMarginalRelevance.Select(ArcRelevance, Arc, 4, 1.0));

        // Not sorted on input: 0.9 (index 1), 0.7 (index 2), 0.5 (index 0).
        Assert.Equal([1, 2, 0], MaximalMarginalRelevance.Select([0.5, 0.9, 0.7], [[1f, 0f], [1f, 0f], [1f, 0f]], 3, 1.0));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void Low_lambda_picks_the_most_different_items(double lambda)
    {
        // Pick 1: the diversity term is 0 while nothing is picked → the most relevant, v0 (λ = 0: all tie, the first).
        // Pick 2, λ = 0.1: v1 0.09 − 0.9·0.8 = −0.63, v2 0.08 − 0.9·0.6 = −0.46, v3 0.07 − 0.9·0 = 0.07 → v3
        //         (λ = 0: −0.8, −0.6, 0 → v3).
        // Pick 3, λ = 0.1: v1 0.09 − 0.9·max(0.8, 0.6) = −0.63, v2 0.08 − 0.9·max(0.6, 0.8) = −0.64 → v1
        //         (λ = 0: both −0.8, the tie goes to the earlier, v1).
        Assert.Equal([0, 3, 1, 2], MaximalMarginalRelevance.Select(ArcRelevance, Arc, 4, lambda));
        Assert.Equal([0, 3], MaximalMarginalRelevance.Select(ArcRelevance, Arc, 2, lambda));
    }

    [Fact]
    public void A_duplicate_is_pushed_below_a_less_relevant_distinct_item()
    {
        // a and its duplicate a', then b orthogonal to both; λ = 0.5.
        // Pick 1: 0.45, 0.425, 0.25 → a. Pick 2: a' 0.425 − 0.5·1 = −0.075, b 0.25 − 0.5·0 = 0.25 → b. Then a'.
        float[][] vectors = [[1f, 0f], [1f, 0f], [0f, 1f]];
        Assert.Equal([0, 2, 1], MaximalMarginalRelevance.Select([0.9, 0.85, 0.5], vectors, 3, 0.5));

        // λ = 0.9: a' 0.765 − 0.1 = 0.665 beats b 0.45 − 0 = 0.45, so the duplicate stays second.
        Assert.Equal([0, 1, 2], MaximalMarginalRelevance.Select([0.9, 0.85, 0.5], vectors, 3, 0.9));
    }

    [Fact]
    public void Count_is_capped_by_the_candidates_and_arguments_are_checked()
    {
        Assert.Equal([0, 1, 2, 3], MaximalMarginalRelevance.Select(ArcRelevance, Arc, 10, 1.0));
        Assert.Empty(MaximalMarginalRelevance.Select(ArcRelevance, Arc, 0, 0.5));
        Assert.Empty(MaximalMarginalRelevance.Select([], [], 5, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaximalMarginalRelevance.Select(ArcRelevance, Arc, 2, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaximalMarginalRelevance.Select(ArcRelevance, Arc, 2, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaximalMarginalRelevance.Select(ArcRelevance, Arc, -1, 0.5));
        Assert.Throws<ArgumentException>(() => MaximalMarginalRelevance.Select([1.0], Arc, 1, 0.5));
    }

    [Fact]
    public void Rerank_keeps_each_hits_score_and_needs_every_embedding()
    {
        var hits = new[]
        {
            new ChunkHit(10, "a", null, "a", 0.9, "{}", [1f, 0f]),
            new ChunkHit(11, "a-copy", null, "a", 0.85, "{}", [1f, 0f]),
            new ChunkHit(12, "b", null, "b", 0.5, "{}", [0f, 1f]),
        };

        var reranked = MaximalMarginalRelevance.Rerank(hits, hits.Select(h => h.Score).ToList(), 2, 0.5);

        Assert.Equal([10L, 12L], reranked.Select(h => h.ChunkId));
        Assert.Equal([0.9, 0.5], reranked.Select(h => h.Score));
        Assert.Throws<ArgumentException>(() => MaximalMarginalRelevance.Rerank([hits[0] with { Embedding = null }], [1.0], 1, 0.5));
    }
}
