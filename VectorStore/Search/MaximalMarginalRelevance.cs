namespace VectorPipeline.VectorStore.Search;

/// <summary>
/// Maximal marginal relevance (Carbonell and Goldstein, "The use of MMR, diversity-based reranking for
/// reordering documents and producing summaries", SIGIR 1998): picks results one at a time, each time the
/// candidate with the largest <c>λ·rel(d) − (1 − λ)·max over already picked s of sim(d, s)</c>, where
/// <c>rel</c> is the candidate's relevance to the query and <c>sim</c> the cosine similarity of two
/// candidates' embeddings. λ = 1 keeps the relevance order; smaller λ favours candidates unlike the ones
/// already picked, so near-duplicates are pushed down.
/// </summary>
public static class MaximalMarginalRelevance
{
    /// <summary>
    /// Cosine similarity <c>a·b / (|a|·|b|)</c> of two vectors of the same length, computed in double
    /// precision; −1..1, and 0 when either vector is all zeros (the cosine is undefined there).
    /// </summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector, same length as <paramref name="a"/>.</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double CosineSimilarity(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors have {a.Length} and {b.Length} dimensions.", nameof(b));
        }

        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            normA += (double)a[i] * a[i];
            normB += (double)b[i] * b[i];
        }

        return normA == 0 || normB == 0 ? 0 : Math.Clamp(dot / Math.Sqrt(normA * normB), -1, 1);
    }

    /// <summary>
    /// Greedy MMR selection. The first pick is the most relevant candidate (the diversity term is 0 while
    /// nothing is picked, so for λ = 0 it is the first candidate); ties go to the candidate that comes first
    /// in the input, so with λ = 1 the output is the input order of the <paramref name="count"/> most
    /// relevant candidates. Cost: O(count · n · dimensions) for n candidates.
    /// </summary>
    /// <param name="relevance">Relevance of each candidate to the query, higher is better (for example the cosine similarity to the query embedding).</param>
    /// <param name="vectors">Embedding of each candidate, one per entry of <paramref name="relevance"/>, all of the same length.</param>
    /// <param name="count">Number of candidates to pick, ≥ 0; fewer are returned when there are fewer candidates.</param>
    /// <param name="lambda">Trade-off λ, 0..1: 1 = relevance only, 0 = diversity only.</param>
    /// <returns>Indexes into the candidates, in the order picked.</returns>
    /// <exception cref="ArgumentException">The two lists differ in length, or the vectors differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is not in 0..1 or <paramref name="count"/> is negative.</exception>
    public static IReadOnlyList<int> Select(IReadOnlyList<double> relevance, IReadOnlyList<float[]> vectors, int count, double lambda)
    {
        ArgumentNullException.ThrowIfNull(relevance);
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(lambda is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Lambda must be between 0 and 1.");
        }

        if (relevance.Count != vectors.Count)
        {
            throw new ArgumentException($"{relevance.Count} relevance scores but {vectors.Count} vectors.", nameof(vectors));
        }

        var n = relevance.Count;
        var picked = new List<int>(Math.Min(count, n));
        var taken = new bool[n];
        // Largest similarity of each candidate to any picked one; updated after every pick, so each
        // candidate pair's similarity is computed at most once.
        var maxSimilarity = new double[n];
        while (picked.Count < Math.Min(count, n))
        {
            var best = -1;
            var bestScore = double.NegativeInfinity;
            for (var i = 0; i < n; i++)
            {
                if (taken[i])
                {
                    continue;
                }

                var score = lambda * relevance[i] - (picked.Count == 0 ? 0 : (1 - lambda) * maxSimilarity[i]);
                if (score > bestScore || best < 0)
                {
                    (best, bestScore) = (i, score);
                }
            }

            taken[best] = true;
            picked.Add(best);
            for (var i = 0; i < n; i++)
            {
                if (!taken[i])
                {
                    var similarity = CosineSimilarity(vectors[i], vectors[best]);
                    maxSimilarity[i] = picked.Count == 1 ? similarity : Math.Max(maxSimilarity[i], similarity);
                }
            }
        }

        return picked;
    }

    /// <summary>
    /// Reorders search hits by MMR and keeps <paramref name="topK"/> of them. The hits keep their own
    /// <see cref="ChunkHit.Score"/> (the search mode's score); MMR only decides which hits and in what order.
    /// </summary>
    /// <param name="hits">Candidates, best first, each with its <see cref="ChunkHit.Embedding"/>.</param>
    /// <param name="relevance">Relevance of each hit to the query (same order as <paramref name="hits"/>).</param>
    /// <param name="topK">Number of hits to keep.</param>
    /// <param name="lambda">Trade-off λ, 0..1 (see <see cref="Select"/>).</param>
    /// <returns>At most <paramref name="topK"/> hits in MMR order.</returns>
    /// <exception cref="ArgumentException">A hit has no embedding, or the lengths differ.</exception>
    public static IReadOnlyList<ChunkHit> Rerank(IReadOnlyList<ChunkHit> hits, IReadOnlyList<double> relevance, int topK, double lambda)
    {
        ArgumentNullException.ThrowIfNull(hits);
        var vectors = hits.Select(h => h.Embedding ?? throw new ArgumentException($"Chunk {h.ChunkId} has no embedding; MMR needs every candidate's vector.", nameof(hits))).ToList();
        return Select(relevance, vectors, topK, lambda).Select(i => hits[i]).ToList();
    }
}
