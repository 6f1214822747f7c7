namespace VectorPipeline.VectorStore.Search;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each list contributes
/// <c>weight / (k + rank)</c> (rank from 1) for every chunk it holds, and chunks are ordered by the sum.
/// </summary>
public static class HybridFusion
{
    /// <summary>The customary k, 60.</summary>
    public const int DefaultK = 60;

    /// <summary>Fuses two ranked lists into the top <paramref name="topK"/>; the hit's score is the fused score.</summary>
    /// <param name="vector">Vector hits, best first.</param>
    /// <param name="keyword">Keyword hits, best first.</param>
    /// <param name="k">The RRF constant, 1..1000.</param>
    /// <param name="vectorWeight">Weight of the vector list, ≥ 0.</param>
    /// <param name="keywordWeight">Weight of the keyword list, ≥ 0.</param>
    /// <param name="topK">Number of hits to keep.</param>
    /// <returns>Hits by descending fused score; ties keep the vector list's order, then the keyword list's.</returns>
    public static IReadOnlyList<ChunkHit> Fuse(IReadOnlyList<ChunkHit> vector, IReadOnlyList<ChunkHit> keyword, int k, double vectorWeight, double keywordWeight, int topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var fused = new Dictionary<long, (ChunkHit Hit, double Score, int Order)>();
        void Add(IReadOnlyList<ChunkHit> hits, double weight, int offset)
        {
            for (var i = 0; i < hits.Count; i++)
            {
                var contribution = weight / (k + i + 1);
                fused[hits[i].ChunkId] = fused.TryGetValue(hits[i].ChunkId, out var entry)
                    ? (entry.Hit, entry.Score + contribution, entry.Order)
                    : (hits[i], contribution, offset + i);
            }
        }

        Add(vector, vectorWeight, 0);
        Add(keyword, keywordWeight, vector.Count);
        return fused.Values
            .OrderByDescending(e => e.Score).ThenBy(e => e.Order)
            .Take(topK)
            .Select(e => e.Hit with { Score = e.Score })
            .ToList();
    }
}
