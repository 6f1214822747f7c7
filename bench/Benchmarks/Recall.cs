using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Recall@k of the model's approximate index against an exact scan, and the two query sets it is measured with.
/// </summary>
public static class Recall
{
    /// <summary>
    /// Scores within this of the k-th exact score count as ties: an approximate hit scoring at least the k-th exact
    /// score minus this counts as a true neighbour (the distance-threshold rule of ann-benchmarks' k-NN recall, so
    /// that equally near chunks returned in another order are not counted as misses).
    /// </summary>
    public const double TieTolerance = 1e-6;

    /// <summary>
    /// The exact top-<paramref name="topK"/> of each query (sequential scan, no index): the smallest score a hit
    /// may have to count as a true neighbour, that is the k-th exact score minus <see cref="TieTolerance"/>
    /// (<see cref="double.NegativeInfinity"/> when fewer than k chunks exist, so every hit counts).
    /// </summary>
    /// <returns>One threshold per query, in query order.</returns>
    public static async Task<double[]> ExactThresholdsAsync(ChunkSearch search, EmbeddingModel model, IReadOnlyList<float[]> queries, int topK)
    {
        var thresholds = new double[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            var exact = await search.SearchAsync(model, queries[i], topK, null, topK, null, new VectorSearchOptions(Exact: true));
            thresholds[i] = exact.Count < topK ? double.NegativeInfinity : exact.Min(h => h.Score) - TieTolerance;
        }

        return thresholds;
    }

    /// <summary>
    /// Mean recall@<paramref name="topK"/> over <paramref name="queries"/>: for each query, the share of the
    /// approximate top-k (through the model's index, <c>hnsw.ef_search</c> = <paramref name="efSearch"/>) scoring at
    /// least the query's threshold from <see cref="ExactThresholdsAsync"/>.
    /// </summary>
    /// <returns>Recall in [0, 1].</returns>
    public static async Task<double> MeasureAsync(ChunkSearch search, EmbeddingModel model, IReadOnlyList<float[]> queries, double[] thresholds, int topK, int efSearch)
    {
        double total = 0;
        for (var i = 0; i < queries.Count; i++)
        {
            var approximate = await search.SearchAsync(model, queries[i], topK, null, efSearch);
            total += Math.Min(topK, approximate.Count(h => h.Score >= thresholds[i])) / (double)topK;
        }

        return total / queries.Count;
    }

    /// <summary>
    /// Passage queries: a window of <paramref name="words"/> consecutive words taken from each of
    /// <paramref name="count"/> stored chunks picked by a seeded generator, the way a user quotes or paraphrases a
    /// passage that is in the corpus (unlike the short random-word queries, these have a clear nearest chunk).
    /// </summary>
    public static async Task<string[]> PassageQueriesAsync(Npgsql.NpgsqlDataSource dataSource, int count, int words, int seed)
    {
        await using var command = dataSource.CreateCommand("SELECT min(id), max(id) FROM chunks");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (low, high) = (reader.GetInt64(0), reader.GetInt64(1));
        await reader.CloseAsync();
        var random = new Random(seed);
        var ids = Enumerable.Range(0, count * 2).Select(_ => random.NextInt64(low, high + 1)).Distinct().ToArray();
        await using var texts = dataSource.CreateCommand("SELECT text FROM chunks WHERE id = ANY($1) ORDER BY id");
        texts.Parameters.AddWithValue(ids);
        var queries = new List<string>();
        await using var rows = await texts.ExecuteReaderAsync();
        while (await rows.ReadAsync() && queries.Count < count)
        {
            var tokens = rows.GetString(0).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var start = tokens.Length <= words ? 0 : random.Next(tokens.Length - words);
            queries.Add(string.Join(' ', tokens.Skip(start).Take(words)));
        }

        return [.. queries];
    }
}
