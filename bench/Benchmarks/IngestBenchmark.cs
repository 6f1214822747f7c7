using Npgsql;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Part 1: chunks per second from the first <c>POST /documents</c> to the last vector stored, with the hashing
/// embedder (so the pipeline's own overhead), for each worker count; then, in the same run and on the same vectors,
/// a plain binary COPY into the same indexed table (one and two connections), INSERTs, COPY-then-index, and a plain
/// RabbitMQ publish/consume of as many messages.
/// </summary>
public static class IngestBenchmark
{
    /// <summary>Paragraphs per posted document.</summary>
    public const int Paragraphs = 10;

    /// <summary>Characters per paragraph (about one chunk each with the default chunking).</summary>
    public const int ParagraphChars = 850;

    /// <summary>Runs part 1.</summary>
    public static async Task<IngestResult> RunAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, Action<string> log)
    {
        var database = await BenchmarkDatabase.CreateAsync(postgres, "bench_ingest");
        var result = new IngestResult();
        var corpus = new SyntheticCorpus(1);
        await using (var pipeline = new PipelineRunner("ingest", database, rabbit.ConnectionString))
        {
            foreach (var workers in size.IngestWorkers)
            {
                await pipeline.EnsureIngestAsync(workers);
                // Warm-up (JIT, pools, prepared plans), not measured.
                await pipeline.IngestAsync(corpus, Math.Min(200, size.IngestChunks), Paragraphs, ParagraphChars, TimeSpan.FromMinutes(2));
                await pipeline.ResetDataAsync();
                var groups = pipeline.CpuGroups(postgres, rabbit);
                var profiling = await ResetStatementsAsync(pipeline.DataSource);
                var before = CpuMeter.Seconds(groups);
                var (chunks, elapsed) = await pipeline.IngestAsync(corpus, size.IngestChunks, Paragraphs, ParagraphChars, TimeSpan.FromMinutes(10));
                var cpu = CpuMeter.Difference(before, CpuMeter.Seconds(groups));
                var run = new IngestRun(workers, chunks, Math.Round(elapsed.TotalSeconds, 2), Math.Round(chunks / elapsed.TotalSeconds, 1), cpu);
                result.Runs.Add(run);
                if (profiling)
                {
                    result.Statements = await StatementsAsync(pipeline.DataSource);
                }

                log($"ingest: {workers} worker(s): {chunks} chunks in {elapsed.TotalSeconds:F1} s = {run.ChunksPerSecond:F0} chunks/s; CPU {cpu.Values.Sum():F1} s ({string.Join(", ", cpu.Select(c => $"{c.Key} {c.Value:F1}"))})");
            }

            result.PeakRssMiB = pipeline.PeakMemory();
            log($"ingest: peak RSS {string.Join(", ", result.PeakRssMiB.Select(p => $"{p.Key} {p.Value:F0} MiB"))}");
        }

        // Baselines on the vectors the last run stored, with the services stopped.
        await using var dataSource = VectorStoreExtensions.CreateDataSource(PipelineRunner.Unlimited(database));
        var rows = await Baselines.ReadEmbeddingsAsync(dataSource);
        result.BaselineRows = rows.Count;
        string indexName;
        await using (var command = dataSource.CreateCommand("SELECT index_name FROM embedding_models WHERE active"))
        {
            indexName = (string)(await command.ExecuteScalarAsync())!;
        }

        var copyGroups = new Dictionary<string, int[]> { ["benchmark (COPY client)"] = [Environment.ProcessId], ["postgres"] = [postgres.ProcessId ?? 0] };
        var copyBefore = CpuMeter.Seconds(copyGroups);
        result.CopyRowsPerSecond = Math.Round(await Baselines.CopyAsync(dataSource, rows), 1);
        result.CopyCpuSeconds = CpuMeter.Difference(copyBefore, CpuMeter.Seconds(copyGroups));
        log($"ingest baseline: COPY into the indexed table: {result.CopyRowsPerSecond:F0} rows/s; CPU {result.CopyCpuSeconds.Values.Sum():F1} s ({string.Join(", ", result.CopyCpuSeconds.Select(c => $"{c.Key} {c.Value:F1}"))})");
        result.Copy2RowsPerSecond = Math.Round(await Baselines.CopyAsync(dataSource, rows, streams: 2), 1);
        log($"ingest baseline: COPY, 2 connections: {result.Copy2RowsPerSecond:F0} rows/s");
        result.InsertRowsPerSecond = Math.Round(await Baselines.InsertAsync(dataSource, rows), 1);
        log($"ingest baseline: INSERT, 64 per round trip: {result.InsertRowsPerSecond:F0} rows/s");
        var (rate, copy, build) = await Baselines.CopyThenIndexAsync(dataSource, rows, indexName);
        (result.CopyThenIndexRowsPerSecond, result.CopyThenIndexCopySeconds, result.CopyThenIndexBuildSeconds) =
            (Math.Round(rate, 1), Math.Round(copy.TotalSeconds, 2), Math.Round(build.TotalSeconds, 2));
        log($"ingest baseline: COPY without index then build: {rate:F0} rows/s (copy {copy.TotalSeconds:F1} s, build {build.TotalSeconds:F1} s)");
        result.RabbitMqMessagesPerSecond = Math.Round(await Baselines.RabbitMqAsync(rabbit.ConnectionString, Math.Max(rows.Count, 1)), 1);
        log($"ingest baseline: RabbitMQ publish/consume: {result.RabbitMqMessagesPerSecond:F0} messages/s");
        return result;
    }

    // Empties pg_stat_statements for this database; false when the server has not loaded it.
    private static async Task<bool> ResetStatementsAsync(NpgsqlDataSource dataSource)
    {
        try
        {
            await Baselines.ExecuteAsync(dataSource, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()");
            return true;
        }
        catch (PostgresException)
        {
            return false;
        }
    }

    // The statements that took the most execution time since the reset, in this database.
    private static async Task<List<StatementCost>> StatementsAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT calls, rows, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 160)
              FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY total_exec_time DESC LIMIT 12
            """);
        var statements = new List<StatementCost>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statements.Add(new StatementCost(reader.GetInt64(0), reader.GetInt64(1), Math.Round(reader.GetDouble(2), 1), reader.GetString(3)));
        }

        return statements;
    }
}
