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
    /// Mean recall@<paramref name="topK"/> over <paramref name="queries"/>: for each query, the share of the
    /// approximate top-k (through the model's index, <c>hnsw.ef_search</c> = <paramref name="efSearch"/>) whose
    /// score is at least the k-th score of the exact top-k (sequential scan), minus <see cref="TieTolerance"/>.
    /// </summary>
    /// <returns>Recall in [0, 1].</returns>
    public static async Task<double> MeasureAsync(ChunkSearch search, EmbeddingModel model, IReadOnlyList<float[]> queries, int topK, int efSearch)
    {
        double total = 0;
        foreach (var vector in queries)
        {
            var exact = await search.SearchAsync(model, vector, topK, null, efSearch, null, new VectorSearchOptions(Exact: true));
            var approximate = await search.SearchAsync(model, vector, topK, null, efSearch);
            if (exact.Count == 0)
            {
                total += 1;
                continue;
            }

            var threshold = exact.Min(h => h.Score) - TieTolerance;
            total += (double)Math.Min(exact.Count, approximate.Count(h => h.Score >= threshold)) / exact.Count;
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
