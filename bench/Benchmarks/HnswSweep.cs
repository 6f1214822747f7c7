using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Part 6: the HNSW trade-off on the search-level corpus. For each (m, ef_construction) the model's index is rebuilt
/// under its own name (build time and size measured), and for each ef_search recall@10 against an exact scan (both
/// query sets, <see cref="Recall"/>) and the SQL p50 at one client are measured, then the rate of COPY into the indexed
/// table (what each new chunk costs with this index). The last build stays in place.
/// </summary>
public static partial class HnswSweep
{
    /// <summary>Runs the sweep over <paramref name="builds"/> × <paramref name="efSearch"/>.</summary>
    /// <param name="dataSource">The benchmark database.</param>
    /// <param name="model">The active model (its index name is kept for every build).</param>
    /// <param name="definition">The index's <c>CREATE INDEX</c> statement, with a <c>WITH (m=…, ef_construction=…)</c> clause.</param>
    /// <param name="builds">(m, ef_construction) pairs; a pair equal to the index in place is measured without a rebuild.</param>
    /// <param name="efSearch">ef_search values.</param>
    /// <param name="wordQueries">Random-word query vectors.</param>
    /// <param name="passageQueries">Passage query vectors.</param>
    /// <param name="latencyQueries">Sequential SQL queries per p50.</param>
    /// <param name="insertRows">Rows copied (and rolled back) per build to measure the incremental insert rate.</param>
    /// <param name="log">Progress.</param>
    /// <exception cref="InvalidOperationException">The definition has no m / ef_construction parameters.</exception>
    public static async Task<List<HnswSweepRow>> RunAsync(NpgsqlDataSource dataSource, EmbeddingModel model, string definition, IReadOnlyList<(int M, int EfConstruction)> builds,
        IReadOnlyList<int> efSearch, IReadOnlyList<float[]> wordQueries, IReadOnlyList<float[]> passageQueries, int latencyQueries, int insertRows, Action<string> log)
    {
        var current = Parameters(definition);
        var search = new ChunkSearch(dataSource);
        var rows = new List<HnswSweepRow>();
        var wordThresholds = await Recall.ExactThresholdsAsync(search, model, wordQueries, SearchBenchmark.TopK);
        var passageThresholds = await Recall.ExactThresholdsAsync(search, model, passageQueries, SearchBenchmark.TopK);
        foreach (var (m, efConstruction) in builds)
        {
            double buildSeconds = double.NaN;
            if ((m, efConstruction) != current)
            {
                await Baselines.ExecuteAsync(dataSource, $"DROP INDEX IF EXISTS {model.IndexName}");
                var clock = Stopwatch.StartNew();
                await Baselines.BuildIndexAsync(dataSource, WithParameters(definition, m, efConstruction));
                buildSeconds = clock.Elapsed.TotalSeconds;
                current = Parameters(await Baselines.IndexDefinitionAsync(dataSource, model.IndexName));
                if (current != (m, efConstruction))
                {
                    throw new InvalidOperationException($"The rebuilt index has m {current.M}, ef_construction {current.EfConstruction}; asked for {m}, {efConstruction}.");
                }
            }

            var size = await IndexMiBAsync(dataSource, model.IndexName);
            log($"hnsw m {m}, ef_construction {efConstruction}: {(double.IsNaN(buildSeconds) ? "index in place" : $"built in {buildSeconds:F1} s")}, {size:F0} MiB");
            foreach (var ef in efSearch)
            {
                var words = await Recall.MeasureAsync(search, model, wordQueries, wordThresholds, SearchBenchmark.TopK, ef);
                var passages = await Recall.MeasureAsync(search, model, passageQueries, passageThresholds, SearchBenchmark.TopK, ef);
                var samples = new List<double>(latencyQueries);
                for (var i = 0; i < latencyQueries; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await search.SearchAsync(model, wordQueries[i % wordQueries.Count], SearchBenchmark.TopK, null, ef);
                    samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                var p50 = LatencySummary.From(samples).P50;
                rows.Add(new HnswSweepRow(m, efConstruction, Math.Round(buildSeconds, 1), Math.Round(size, 1), ef, Math.Round(words, 3), Math.Round(passages, 3), Math.Round(p50, 2)));
                log($"hnsw m {m}, ef_construction {efConstruction}, ef_search {ef}: recall@10 {words:F3} (word queries), {passages:F3} (passage queries); SQL p50 {p50:F2} ms");
            }

            var insertRate = await InsertRateAsync(dataSource, model, insertRows);
            for (var i = rows.Count - efSearch.Count; i < rows.Count; i++)
            {
                rows[i] = rows[i] with { InsertRowsPerSecond = Math.Round(insertRate, 1) };
            }

            log($"hnsw m {m}, ef_construction {efConstruction}: COPY of {insertRows} rows into the indexed table: {insertRate:F0} rows/s");
        }

        return rows;
    }

    /// <summary>The (m, ef_construction) of an HNSW index definition.</summary>
    /// <exception cref="InvalidOperationException">The definition has no such parameters.</exception>
    public static (int M, int EfConstruction) Parameters(string definition)
    {
        var m = MParameter().Match(definition);
        var ef = EfConstructionParameter().Match(definition);
        if (!m.Success || !ef.Success)
        {
            throw new InvalidOperationException($"The index definition names no m / ef_construction: {definition}");
        }

        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(ef.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The definition with other m and ef_construction.</summary>
    public static string WithParameters(string definition, int m, int efConstruction)
    {
        Parameters(definition);
        var replaced = MParameter().Replace(definition, $"m='{m}'");
        return EfConstructionParameter().Replace(replaced, $"ef_construction='{efConstruction}'");
    }

    // What one more row costs with this index: the model's newest rows are deleted and copied back in one
    // transaction that is rolled back (the index keeps the dead entries until the next build or vacuum).
    private static async Task<double> InsertRateAsync(NpgsqlDataSource dataSource, EmbeddingModel model, int count)
    {
        var rows = await Baselines.ReadEmbeddingsAsync(dataSource, model.Id, count);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand($"DELETE FROM embeddings WHERE model_id = {model.Id} AND chunk_id = ANY($1)", connection, transaction))
        {
            delete.Parameters.AddWithValue(rows.Select(r => r.ChunkId).ToArray());
            await delete.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        await Baselines.CopyRowsAsync(connection, rows);
        var elapsed = clock.Elapsed;
        await transaction.RollbackAsync();
        return rows.Count / elapsed.TotalSeconds;
    }

    private static async Task<double> IndexMiBAsync(NpgsqlDataSource dataSource, string indexName)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_relation_size($1::regclass)");
        command.Parameters.AddWithValue(indexName);
        return (long)(await command.ExecuteScalarAsync())! / 1048576.0;
    }

    [GeneratedRegex(@"\bm\s*=\s*'?(\d+)'?")]
    private static partial Regex MParameter();

    [GeneratedRegex(@"\bef_construction\s*=\s*'?(\d+)'?")]
    private static partial Regex EfConstructionParameter();
}
