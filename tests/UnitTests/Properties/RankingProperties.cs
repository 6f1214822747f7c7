using CsCheck;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.UnitTests.Properties;

/// <summary>
/// Reciprocal rank fusion and maximal marginal relevance keep their defining properties on generated inputs:
/// RRF scores are the sum of <c>weight / (k + rank)</c> and order the union of the lists; MMR picks greedily by
/// <c>λ·rel − (1 − λ)·max sim</c>, and λ = 1 is the relevance order.
/// </summary>
public class RankingProperties
{
    private static ChunkHit Hit(long id) => new(id, "d" + id, null, "t" + id, 0, "{}");

    // A ranked list: distinct chunk ids from a small pool, so that the two lists share some.
    private static readonly Gen<long[]> Ranked = Gen.Long[1, 30].Array[0, 15].Select(ids => ids.Distinct().ToArray());

    private static readonly Gen<(long[] Vector, long[] Keyword, int K, double VectorWeight, double KeywordWeight, int TopK)> FusionInputs =
        from vector in Ranked
        from keyword in Ranked
        from k in Gen.Int[1, 100]
        from vectorWeight in Gen.Int[0, 10]
        from keywordWeight in Gen.Int[0, 10]
        from topK in Gen.Int[1, 40]
        select (vector, keyword, k, vectorWeight / 2.0, keywordWeight / 2.0, topK);

    [Fact]
    public void Rrf_scores_are_the_sum_of_weight_over_k_plus_rank_and_order_the_union_of_both_lists() =>
        FusionInputs.Sample(input =>
        {
            var (vector, keyword, k, vw, kw, topK) = input;

            var fused = HybridFusion.Fuse(vector.Select(Hit).ToList(), keyword.Select(Hit).ToList(), k, vw, kw, topK);

            var union = vector.Union(keyword).ToList();
            Assert.Equal(Math.Min(topK, union.Count), fused.Count);
            Assert.Equal(fused.Count, fused.Select(h => h.ChunkId).Distinct().Count());
            double Expected(long id) =>
                (Array.IndexOf(vector, id) is var v and >= 0 ? vw / (k + v + 1) : 0) + (Array.IndexOf(keyword, id) is var w and >= 0 ? kw / (k + w + 1) : 0);
            foreach (var hit in fused)
            {
                Assert.Contains(hit.ChunkId, union);
                Assert.Equal(Expected(hit.ChunkId), hit.Score, 12);
            }

            for (var i = 1; i < fused.Count; i++)
            {
                Assert.True(fused[i - 1].Score >= fused[i].Score, $"rank {i} scores more than rank {i - 1}");
            }

            // Nothing left out scores more than what was kept.
            var lowest = fused.Count == 0 ? double.PositiveInfinity : fused[^1].Score;
            Assert.All(union.Except(fused.Select(h => h.ChunkId)), id => Assert.True(Expected(id) <= lowest + 1e-12, $"chunk {id} left out with a higher score"));
        }, iter: 1000, threads: 1);

    [Fact]
    public void Rrf_with_equal_weights_is_symmetric_and_a_chunk_ranked_higher_in_both_lists_fuses_higher() =>
        FusionInputs.Sample(input =>
        {
            var (vector, keyword, k, _, _, _) = input;
            var all = vector.Length + keyword.Length;
            var fused = HybridFusion.Fuse(vector.Select(Hit).ToList(), keyword.Select(Hit).ToList(), k, 1, 1, all).ToDictionary(h => h.ChunkId, h => h.Score);
            var swapped = HybridFusion.Fuse(keyword.Select(Hit).ToList(), vector.Select(Hit).ToList(), k, 1, 1, all).ToDictionary(h => h.ChunkId, h => h.Score);

            Assert.Equal(fused.Keys.Order(), swapped.Keys.Order());
            Assert.All(fused, pair => Assert.Equal(pair.Value, swapped[pair.Key], 12));
            static int Rank(long[] list, long id) => Array.IndexOf(list, id) is var i and >= 0 ? i : int.MaxValue;
            foreach (var a in fused.Keys)
            {
                foreach (var b in fused.Keys.Where(b => b != a && Rank(vector, a) < Rank(vector, b) && Rank(keyword, a) <= Rank(keyword, b)))
                {
                    Assert.True(fused[a] > fused[b], $"chunk {a} is ranked above {b} in both lists but fuses to {fused[a]} <= {fused[b]}");
                }
            }
        }, iter: 500, threads: 1);

    private static readonly Gen<(double[] Relevance, float[][] Vectors, int Count, double Lambda)> MmrInputs =
        from n in Gen.Int[0, 12]
        from dimensions in Gen.Int[1, 6]
        from relevance in Gen.Int[-100, 100].Select(r => r / 100.0).Array[n, n]
        from vectors in Gen.Int[-4, 4].Select(x => (float)x).Array[dimensions, dimensions].Array[n, n]
        from count in Gen.Int[0, 14]
        from lambda in Gen.Int[0, 10]
        select (relevance, vectors, count, lambda / 10.0);

    [Fact]
    public void Mmr_picks_distinct_candidates_greedily_by_its_objective() =>
        MmrInputs.Sample(input =>
        {
            var (relevance, vectors, count, lambda) = input;

            var picked = MaximalMarginalRelevance.Select(relevance, vectors, count, lambda);

            Assert.Equal(Math.Min(count, relevance.Length), picked.Count);
            Assert.Equal(picked.Count, picked.Distinct().Count());
            for (var step = 0; step < picked.Count; step++)
            {
                var before = picked.Take(step).ToList();
                double Objective(int i) => lambda * relevance[i]
                    - (before.Count == 0 ? 0 : (1 - lambda) * before.Max(s => MaximalMarginalRelevance.CosineSimilarity(vectors[i], vectors[s])));
                var best = Enumerable.Range(0, relevance.Length).Where(i => !before.Contains(i)).Max(Objective);
                Assert.True(Objective(picked[step]) >= best - 1e-9, $"pick {step} ({picked[step]}) has objective {Objective(picked[step])} < {best}");
            }
        }, iter: 1000, threads: 1);

    [Fact]
    public void Mmr_with_lambda_one_is_the_relevance_order_ties_by_input_order() =>
        MmrInputs.Sample(input =>
        {
            var (relevance, vectors, count, _) = input;

            var picked = MaximalMarginalRelevance.Select(relevance, vectors, count, 1.0);

            var expected = Enumerable.Range(0, relevance.Length).OrderByDescending(i => relevance[i]).ThenBy(i => i).Take(count);
            Assert.Equal(expected, picked);
        }, iter: 1000, threads: 1);
}
