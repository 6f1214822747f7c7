using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Embeddings.Onnx;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Part 7, the built-in model (<c>onnx</c>, arctic-embed-xs) on real text:
/// <list type="number">
/// <item>the pipeline's chunks per second for the sample documents (pgai Markdown and SQuAD paragraphs), from the first
/// <c>POST /documents</c> to the last vector stored, at each worker count, against raw ONNX Runtime on the very texts
/// those runs embedded with the same session settings, in a process of its own (<see cref="RawOnnxRun"/>) at 1, 2 and 4
/// callers; the workers' peak RSS against that process's;</item>
/// <item>on a corpus of sentence windows of the same documents (<see cref="SentenceWindows"/>, 10,000 at the default
/// size) embedded by the model: <c>POST /search</c> p50 with the query embedded in Search.Api against the SQL p50 plus
/// the in-process query-embedding p50, SQuAD's questions as queries;</item>
/// <item>recall@10 of the HNSW index against an exact scan on those vectors (<see cref="HnswSweep"/>) for questions and
/// passage queries, at each (m, ef_construction) and ef_search of the size.</item>
/// </list>
/// The corpus vectors are kept under <c>.data/bench-cache/</c> (keyed by model and texts), so a second run skips
/// embedding them.
/// </summary>
public static class OnnxModelBenchmark
{
    /// <summary>Callers of the raw runs: one, one per core, and the workers' default concurrency.</summary>
    public static readonly int[] RawCallers = [1, 2, 4];

    /// <summary>Documents of the warm-up before each measured pipeline run (the store emptied before and after it, so that every worker of the round runs the model before the clock starts).</summary>
    public const int WarmupDocuments = 8;

    private static readonly Dictionary<string, string> Onnx = new() { ["Embedding__Provider"] = OnnxModelDefinition.ProviderName };

    /// <summary>Runs part 7.</summary>
    /// <param name="postgres">The benchmark's PostgreSQL server.</param>
    /// <param name="rabbit">The benchmark's RabbitMQ node.</param>
    /// <param name="size">Work per part.</param>
    /// <param name="log">Progress lines.</param>
    /// <param name="searchOnly">Only 7.2 and 7.3 (search latency and HNSW recall; <c>--parts onnx-search</c>): no pipeline or raw runs.</param>
    public static async Task<OnnxModelResult> RunAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, Action<string> log, bool searchOnly = false)
    {
        var definition = RawOnnxRun.Definition();
        var result = new OnnxModelResult
        {
            Model = EmbeddingModel.FormatKey(definition.Name, definition.Dimensions),
            IntraOpThreads = definition.IntraOpThreads,
            RunBatchSize = definition.RunBatchSize,
            BatchMessageLimit = 64,
            // Embed.Worker's default with the onnx provider at 1 worker: run slots (the cores) + 1 (BatchConcurrencyDefault).
            ConcurrencyLimit = Environment.ProcessorCount + 1,
            RecallQueries = size.OnnxQueries,
        };
        var (squad, questions) = SampleData.Squad();
        var pgai = SampleData.PgaiDocs();
        // Interleaved, so that a smaller size still has both kinds of document.
        var documents = pgai.Zip(squad, (p, q) => new[] { p, q }).SelectMany(pair => pair).Concat(squad.Skip(pgai.Count)).Take(size.OnnxDocuments).ToList();
        result.Documents = documents.Count;

        var texts = searchOnly ? [] : await PipelineRunsAsync(postgres, rabbit, size, documents, result, log);
        foreach (var callers in searchOnly ? [] : RawCallers)
        {
            var raw = await RawOnnxRun.MeasureAsync(texts, callers, result.BatchMessageLimit);
            result.Raw.Add(raw);
            result.MeanTokens = Math.Round(raw.Tokens / (double)Math.Max(1, raw.Texts), 1);
            log($"onnx raw: {callers} caller(s): {raw.Texts} texts in {raw.Seconds:F1} s = {raw.TextsPerSecond:F1} texts/s, CPU {raw.CpuSeconds:F1} s; RSS {raw.RssBeforeLoadMiB:F0} MiB before the model, peak {raw.PeakRssMiB:F0} MiB");
        }

        await SearchAndRecallAsync(postgres, rabbit, size, definition, [.. pgai.Concat(squad).Select(d => d.Text)], [.. questions.Select(q => q.Question)], result, log);
        return result;
    }

    /// <summary>Key of <see cref="OnnxModelResult.WorkerPeakRssMiB"/>: the run's worker count, then the worker.</summary>
    public static string WorkerRssKey(int workers, string worker) => $"{workers}: {worker}";

    // The pipeline runs; returns the chunk texts of the last run, in id order (what the workers embedded: the default
    // chunk template is the chunk itself, and the model's document prefix is empty).
    private static async Task<string[]> PipelineRunsAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, List<SampleDocument> documents, OnnxModelResult result, Action<string> log)
    {
        var database = await BenchmarkDatabase.CreateAsync(postgres, "bench_onnx");
        await using var pipeline = new PipelineRunner("onnx", database, rabbit.ConnectionString, Onnx);
        foreach (var workers in size.IngestWorkers)
        {
            // As under the AppHost (AppHost/Program.cs): the workers share this machine's cores, each runs the model on its share.
            await pipeline.StopWorkersAsync();
            var runs = Math.Max(1, Environment.ProcessorCount / workers);
            await pipeline.EnsureIngestAsync(workers, new Dictionary<string, string> { ["Embedding__Onnx__MaxConcurrentRuns"] = runs.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            // Warm-up (model load, JIT, pools, ONNX Runtime's first runs), not measured. The store starts empty: a chunk
            // whose text already has a vector is not embedded again, and the workers of a later round would start cold.
            await pipeline.ResetDataAsync();
            await pipeline.IngestDocumentsAsync(documents.Take(WarmupDocuments).ToList(), $"warm-up-{workers}/", TimeSpan.FromMinutes(5));
            await pipeline.ResetDataAsync();
            var groups = pipeline.CpuGroups(postgres, rabbit);
            var before = CpuMeter.Seconds(groups);
            var own = Process.GetCurrentProcess().TotalProcessorTime;
            var (chunks, elapsed) = await pipeline.IngestDocumentsAsync(documents, $"run-{workers}/", TimeSpan.FromMinutes(30));
            var cpu = CpuMeter.Difference(before, CpuMeter.Seconds(groups));
            cpu["benchmark"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - own).TotalSeconds, 2);
            var run = new IngestRun(workers, chunks, Math.Round(elapsed.TotalSeconds, 2), Math.Round(chunks / elapsed.TotalSeconds, 2), cpu);
            result.Pipeline.Add(run);
            log($"onnx pipeline: {workers} worker(s), {runs} ONNX run(s) at once each: {chunks} chunks in {elapsed.TotalSeconds:F1} s = {run.ChunksPerSecond:F1} chunks/s (the last POST /documents answered after {pipeline.LastPostingTime.TotalSeconds:F1} s, the first vector seen after {pipeline.FirstVectorTime.TotalSeconds:F1} s); CPU {cpu.Values.Sum():F1} s of {elapsed.TotalSeconds * Environment.ProcessorCount:F1} ({string.Join(", ", cpu.Select(c => $"{c.Key} {c.Value:F1}"))})");
            foreach (var (name, peak) in pipeline.PeakMemory().Where(p => p.Key.Contains("embed-worker", StringComparison.Ordinal)))
            {
                result.WorkerPeakRssMiB[WorkerRssKey(workers, name)] = peak;
            }
        }

        await using var command = pipeline.DataSource.CreateCommand("SELECT text FROM chunks ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync();
        var texts = new List<string>();
        while (await reader.ReadAsync())
        {
            texts.Add(reader.GetString(0));
        }

        result.Chunks = texts.Count;
        return [.. texts];
    }

    private static async Task SearchAndRecallAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, OnnxModelDefinition definition,
        string[] documentTexts, string[] questions, OnnxModelResult result, Action<string> log)
    {
        var database = await BenchmarkDatabase.CreateAsync(postgres, "bench_onnx_search");
        await using var dataSource = VectorStoreExtensions.CreateDataSource(PipelineRunner.Unlimited(database));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        var store = new EmbeddingModelStore(dataSource);
        var registered = await store.EnsureAsync(OnnxModelDefinition.ProviderName, definition.Name, definition.Dimensions);
        await store.ActivateIfNoneActiveAsync(registered.Id);
        var indexDefinition = await Baselines.IndexDefinitionAsync(dataSource, registered.IndexName);
        var model = (await store.GetActiveAsync())!;

        var windows = SentenceWindows.Build(documentTexts, size.OnnxSearchChunks);
        using var generator = new OnnxEmbeddingGenerator(definition);
        var (vectors, embedSeconds) = await EmbedCachedAsync(generator, windows, log);
        result.SearchChunks = windows.Count;
        result.CorpusEmbedSeconds = Math.Round(embedSeconds, 1);
        await Baselines.ExecuteAsync(dataSource, $"DROP INDEX IF EXISTS {registered.IndexName}");
        await BulkLoader.LoadAsync(dataSource, windows, vectors, registered.Id, "window");
        var clock = Stopwatch.StartNew();
        await Baselines.BuildIndexAsync(dataSource, indexDefinition);
        log($"onnx corpus: {windows.Count} sentence windows loaded, HNSW ({string.Join(", ", HnswSweep.Parameters(indexDefinition))}) built in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var table in new[] { "documents", "chunks", "embeddings" })
        {
            await Baselines.ExecuteAsync(dataSource, $"VACUUM ANALYZE {table}");
        }

        var prefix = KnownModelPrefixes.For(definition.Name).Query;
        var queries = questions.Take(size.OnnxQueries).ToArray();
        var queryVectors = await EmbedAsync(generator, queries.Select(q => prefix + q).ToArray());
        var search = new ChunkSearch(dataSource);

        // Search latency, with the model's own index in place.
        await using (var pipeline = new PipelineRunner("onnx-search", database, rabbit.ConnectionString, Onnx))
        {
            await pipeline.StartSearchAsync();
            using var http = new HttpClient { BaseAddress = pipeline.Search!.Url };
            for (var i = 0; i < Math.Min(size.WarmupQueries, 50); i++)
            {
                await ApiSearchAsync(http, queries[i % queries.Length]);
                await search.SearchAsync(model, queryVectors[i % queries.Length], SearchBenchmark.TopK, null, SearchBenchmark.EfSearch);
                await search.SearchAsync(model, queryVectors[i % queries.Length], SearchBenchmark.TopK, null, SearchBenchmark.EfSearch, SearchFilter.ForTenant(""));
                await generator.GenerateAsync([prefix + queries[i % queries.Length]]);
            }

            // The paths interleaved question by question, so that the API and its baseline see the same machine.
            var phases = new Dictionary<string, List<double>>();
            var paths = await SearchBenchmark.InterleavedAsync(queries.Length,
                i => ApiSearchAsync(http, queries[i], phases),
                i => search.SearchAsync(model, queryVectors[i], SearchBenchmark.TopK, null, SearchBenchmark.EfSearch),
                i => search.SearchAsync(model, queryVectors[i], SearchBenchmark.TopK, null, SearchBenchmark.EfSearch, SearchFilter.ForTenant("")),
                i => generator.GenerateAsync([prefix + queries[i]]),
                i => http.GetAsync("/alive"));
            (result.Api, result.Sql, result.SqlTenant, result.QueryEmbedding) =
                (LatencySummary.From(paths[0]), LatencySummary.From(paths[1]), LatencySummary.From(paths[2]), LatencySummary.From(paths[3]));
            result.ApiPhases = phases.ToDictionary(p => p.Key, p => LatencySummary.From(p.Value));
            result.ApiRoundTrip = LatencySummary.From(paths[4]);
            var tenWords = questions.Where(q => q.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 10).Take(queries.Length).ToArray();
            result.QueryEmbedding10Words = LatencySummary.From(await SearchBenchmark.SequentialAsync(tenWords.Length, i => generator.GenerateAsync([prefix + tenWords[i]])));
            result.SearchPeakRssMiB = Math.Round(MemorySampler.PeakRssMiB(pipeline.Search.ProcessId) ?? double.NaN, 1);
            log($"onnx search ({windows.Count} chunks): POST /search p50 {result.Api.P50:F2} ms; SQL p50 {result.Sql.P50:F2} ms ({result.SqlTenant.P50:F2} ms confined to the tenant); query embedding p50 {result.QueryEmbedding.P50:F2} ms ({result.QueryEmbedding10Words.P50:F2} ms for {tenWords.Length} 10-word questions)");
            log($"onnx search: inside POST /search (Server-Timing) p50 {string.Join(", ", result.ApiPhases.Select(p => $"{p.Key} {p.Value.P50:F2} ms"))}; GET /alive p50 {result.ApiRoundTrip.P50:F2} ms");
        }

        // Recall of HNSW against an exact scan on the model's vectors.
        var passages = await Recall.PassageQueriesAsync(dataSource, size.OnnxQueries, SearchBenchmark.PassageWords, seed: 7);
        var passageVectors = await EmbedAsync(generator, passages.Select(p => prefix + p).ToArray());
        if (size.HnswBuilds is { Length: > 0 } builds)
        {
            result.Hnsw = await HnswSweep.RunAsync(dataSource, model, indexDefinition, builds, size.EfSearchSweep ?? [SearchBenchmark.EfSearch],
                queryVectors, passageVectors, latencyQueries: Math.Min(200, queries.Length), insertRows: Math.Min(1000, windows.Count / 10), log);
        }
    }

    // The corpus vectors, from .data/bench-cache/ when a run embedded these very texts with this model before.
    private static async Task<(float[][] Vectors, double Seconds)> EmbedCachedAsync(OnnxEmbeddingGenerator generator, IReadOnlyList<string> texts, Action<string> log)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(generator.Definition.SessionKey + "\n" + string.Join("\n", texts))))[..16].ToLowerInvariant();
        var file = Path.Combine(RepositoryPaths.Root, ".data", "bench-cache", $"{generator.Definition.Name}-{texts.Count}-{key}.f32");
        var dimensions = generator.Definition.Dimensions;
        if (File.Exists(file) && new FileInfo(file).Length == (long)texts.Count * dimensions * sizeof(float))
        {
            var all = MemoryMarshal.Cast<byte, float>(await File.ReadAllBytesAsync(file)).ToArray();
            log($"onnx corpus: {texts.Count} vectors read from {Path.GetRelativePath(RepositoryPaths.Root, file)}");
            return ([.. Enumerable.Range(0, texts.Count).Select(i => all.AsSpan(i * dimensions, dimensions).ToArray())], 0);
        }

        log($"onnx corpus: embedding {texts.Count} sentence windows (2 callers; cached afterwards)");
        var clock = Stopwatch.StartNew();
        var vectors = await EmbedAsync(generator, texts, log);
        var seconds = clock.Elapsed.TotalSeconds;
        log($"onnx corpus: embedded in {seconds:F0} s ({texts.Count / seconds:F1} texts/s)");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllBytesAsync(file, MemoryMarshal.AsBytes(vectors.SelectMany(v => v).ToArray().AsSpan()).ToArray());
        return (vectors, seconds);
    }

    // Embeds in batches of 64 on two callers (one per core of the machine this is written for), input order kept.
    private static async Task<float[][]> EmbedAsync(OnnxEmbeddingGenerator generator, IReadOnlyList<string> texts, Action<string>? log = null)
    {
        const int batch = 64;
        var vectors = new float[texts.Count][];
        var next = -1;
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            for (var start = Interlocked.Increment(ref next) * batch; start < texts.Count; start = Interlocked.Increment(ref next) * batch)
            {
                var count = Math.Min(batch, texts.Count - start);
                var embedded = await generator.GenerateAsync(texts.Skip(start).Take(count).ToArray());
                for (var i = 0; i < count; i++)
                {
                    vectors[start + i] = embedded[i].Vector.ToArray();
                }

                var total = Interlocked.Add(ref done, count);
                if (log is not null && total / 1000 != (total - count) / 1000)
                {
                    log($"onnx corpus: {total} of {texts.Count} embedded ({total / clock.Elapsed.TotalSeconds:F1} texts/s)");
                }
            }
        })));
        return vectors;
    }

    // One vector search through the API; with phases, adds each phase of its Server-Timing header (name;dur=ms, ...).
    private static async Task ApiSearchAsync(HttpClient http, string query, Dictionary<string, List<double>>? phases = null)
    {
        using var response = await http.PostAsJsonAsync("/search", new { query, topK = SearchBenchmark.TopK, mode = "vector" });
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
        if (phases is not null && response.Headers.TryGetValues("Server-Timing", out var values))
        {
            foreach (var metric in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)))
            {
                var parts = metric.Split(";dur=");
                if (parts.Length == 2 && double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var ms))
                {
                    (phases.TryGetValue(parts[0], out var list) ? list : phases[parts[0]] = []).Add(ms);
                }
            }
        }
    }
}
