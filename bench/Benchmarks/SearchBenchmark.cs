using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Parts 3 and 5: a corpus grown level by level (bulk load by COPY, then the HNSW and text-search indexes built once
/// over all rows); at each level the services are started on it and measure search p50 (through <c>POST /search</c>
/// and as the same SQL run directly with the query vector precomputed), recall@10 of the HNSW index against an exact
/// scan, and the pipeline's ingest rate for a fixed number of new chunks. At the search level, the full latency
/// table at 1, 4 and 16 clients and the query-embedding time alone.
/// </summary>
public static class SearchBenchmark
{
    /// <summary>topK of every benchmark query.</summary>
    public const int TopK = 10;

    /// <summary>HNSW ef_search of every benchmark query (Search.Api's default).</summary>
    public const int EfSearch = 100;

    /// <summary>Topics of the search corpus and its queries (<see cref="SyntheticCorpus"/>): 100 chunks per topic at 100k.</summary>
    public const int Topics = 1000;

    /// <summary>Words per passage query (<see cref="Recall.PassageQueriesAsync"/>).</summary>
    public const int PassageWords = 12;

    /// <summary>Runs parts 3 and 5.</summary>
    public static async Task<(SearchResult? Search, List<GrowthLevel> Growth, List<HnswSweepRow> Sweep)> RunAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, Action<string> log)
    {
        var database = await BenchmarkDatabase.CreateAsync(postgres, "bench_search");
        await using var dataSource = VectorStoreExtensions.CreateDataSource(PipelineRunner.Unlimited(database));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        var store = new EmbeddingModelStore(dataSource);
        var registered = await store.EnsureAsync(HashingEmbeddingGenerator.ProviderName, HashingEmbeddingGenerator.ModelName, 384);
        await store.ActivateIfNoneActiveAsync(registered.Id);
        var hnswDefinition = await Baselines.IndexDefinitionAsync(dataSource, registered.IndexName);
        const string textIndex = "chunks_text_search_english";
        const string textIndexDefinition = $"CREATE INDEX {textIndex} ON chunks USING gin (to_tsvector('english'::regconfig, text))";

        var queryCorpus = new SyntheticCorpus(99, Topics);
        var queries = Enumerable.Range(0, 500).Select(_ => queryCorpus.Query()).Distinct().ToArray();
        using var embedder = new HashingEmbeddingGenerator(384);
        var vectors = queries.Select(q => embedder.Embed(q)).ToArray();

        var corpus = new SyntheticCorpus(3, Topics);
        SearchResult? searchResult = null;
        var growth = new List<GrowthLevel>();
        var sweep = new List<HnswSweepRow>();
        long loaded = 0;
        foreach (var level in size.CorpusLevels)
        {
            await Baselines.ExecuteAsync(dataSource, $"DROP INDEX IF EXISTS {registered.IndexName}; DROP INDEX IF EXISTS {textIndex}");
            var (embed, copy) = await BulkLoader.LoadAsync(dataSource, corpus, (int)(level - loaded), registered.Id, $"load{level}");
            var clock = Stopwatch.StartNew();
            await Baselines.BuildIndexAsync(dataSource, hnswDefinition, level >= 500_000 ? "4GB" : "1GB");
            var hnsw = clock.Elapsed;
            clock.Restart();
            await Baselines.BuildIndexAsync(dataSource, textIndexDefinition);
            var text = clock.Elapsed;
            foreach (var table in new[] { "documents", "chunks", "embeddings" })
            {
                await Baselines.ExecuteAsync(dataSource, $"VACUUM ANALYZE {table}");
            }

            log($"corpus {level}: embedded in {embed.TotalSeconds:F1} s, copied in {copy.TotalSeconds:F1} s, HNSW built in {hnsw.TotalSeconds:F1} s, text index in {text.TotalSeconds:F1} s");

            var model = (await store.GetActiveAsync())!;
            var search = new ChunkSearch(dataSource);
            await using var pipeline = new PipelineRunner($"corpus{level}", database, rabbit.ConnectionString);
            await pipeline.EnsureIngestAsync(size.GrowthWorkers);
            await pipeline.StartSearchAsync();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = pipeline.Search!.Url };

            // Warm-up of both paths.
            for (var i = 0; i < size.WarmupQueries; i++)
            {
                await ApiSearchAsync(http, queries[i % queries.Length]);
                await search.SearchAsync(model, vectors[i % vectors.Length], TopK, null, EfSearch);
            }

            // Each exact scan reads every vector: 100 queries per set up to 100k chunks, 20 above.
            var recallQueries = level > 200_000 ? 20 : 100;
            var wordVectors = vectors.Take(recallQueries).ToArray();
            var passageVectors = (await Recall.PassageQueriesAsync(dataSource, recallQueries, PassageWords, seed: 7)).Select(embedder.Embed).ToArray();
            var recall = await Recall.MeasureAsync(search, model, wordVectors, await Recall.ExactThresholdsAsync(search, model, wordVectors, TopK), TopK, EfSearch);
            var passageRecall = await Recall.MeasureAsync(search, model, passageVectors, await Recall.ExactThresholdsAsync(search, model, passageVectors, TopK), TopK, EfSearch);
            var apiP50 = LatencySummary.From(await SequentialAsync(size.GrowthSearchQueries, i => ApiSearchAsync(http, queries[i % queries.Length]))).P50;
            var sqlP50 = LatencySummary.From(await SequentialAsync(size.GrowthSearchQueries, i => search.SearchAsync(model, vectors[i % vectors.Length], TopK, null, EfSearch))).P50;
            log($"corpus {level}: search p50 {apiP50:F2} ms (API), {sqlP50:F2} ms (SQL); recall@10 {recall:F3} (word queries), {passageRecall:F3} (passage queries)");

            if (level == size.SearchLevel)
            {
                searchResult = new SearchResult { Chunks = level };
                var embedSamples = new List<double>();
                for (var round = 0; round < 3; round++)
                {
                    foreach (var query in queries)
                    {
                        var started = Stopwatch.GetTimestamp();
                        embedder.Embed(query);
                        embedSamples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }

                searchResult.QueryEmbedding = LatencySummary.From(embedSamples);
                foreach (var clients in size.SearchConcurrency)
                {
                    var duration = TimeSpan.FromSeconds(size.SearchSecondsPerLevel);
                    var (api, apiQps) = await ClosedLoopAsync(clients, duration, i => ApiSearchAsync(http, queries[i % queries.Length]));
                    var (sql, sqlQps) = await ClosedLoopAsync(clients, duration, i => search.SearchAsync(model, vectors[i % vectors.Length], TopK, null, EfSearch));
                    searchResult.Levels.Add(new SearchLevel(clients, api, Math.Round(apiQps, 1), sql, Math.Round(sqlQps, 1)));
                    log($"search {level}: {clients} client(s): API p50 {api.P50:F2} p95 {api.P95:F2} p99 {api.P99:F2} ms, {apiQps:F0} q/s; SQL p50 {sql.P50:F2} p95 {sql.P95:F2} p99 {sql.P99:F2} ms, {sqlQps:F0} q/s");
                }

                searchResult.PeakRssMiB = pipeline.PeakMemory();
                log($"search: peak RSS {string.Join(", ", searchResult.PeakRssMiB.Select(p => $"{p.Key} {p.Value:F0} MiB"))}");
            }

            // Ingest cost at this corpus size: new chunks through the pipeline into the indexed table.
            var (chunks, elapsed) = await pipeline.IngestAsync(corpus, size.GrowthIngestChunks, IngestBenchmark.Paragraphs, IngestBenchmark.ParagraphChars, TimeSpan.FromMinutes(10));
            var rate = chunks / elapsed.TotalSeconds;
            log($"corpus {level}: ingest of {chunks} more chunks: {rate:F0} chunks/s");
            loaded = await CountAsync(dataSource);
            growth.Add(new GrowthLevel(level, Math.Round(embed.TotalSeconds, 1), Math.Round(copy.TotalSeconds, 1), Math.Round(hnsw.TotalSeconds, 1), Math.Round(text.TotalSeconds, 1),
                Math.Round(rate, 1), chunks, Math.Round(apiP50, 2), Math.Round(sqlP50, 2), Math.Round(recall, 3), Math.Round(passageRecall, 3)));

            // Part 6 on the search-level corpus; the next level drops and rebuilds the index with the model's settings.
            if (level == size.SearchLevel && size.HnswBuilds is { Length: > 0 } builds)
            {
                await pipeline.DisposeAsync();
                sweep = await HnswSweep.RunAsync(dataSource, model, hnswDefinition, builds, size.EfSearchSweep ?? [EfSearch], wordVectors, passageVectors, size.GrowthSearchQueries, Math.Min(1000, size.GrowthIngestChunks), log);
            }
        }

        return (searchResult, growth, sweep);
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM chunks");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ApiSearchAsync(HttpClient http, string query)
    {
        using var response = await http.PostAsJsonAsync("/search", new { query, topK = TopK });
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Runs <paramref name="action"/> for 0..count-1, one after another; each one's wall time in ms.</summary>
    internal static async Task<List<double>> SequentialAsync(int count, Func<int, Task> action)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await action(i);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return samples;
    }

    /// <summary>
    /// Runs each of <paramref name="actions"/> for 0..count-1, interleaved: for item i every action runs once, in an order
    /// rotated by i, so that a slow stretch of a noisy machine, and the cold cost of a new item (the first path to run a
    /// question warms caches for the others), fall on every action alike. Each action's wall times in ms, in item order.
    /// </summary>
    internal static async Task<List<double>[]> InterleavedAsync(int count, params Func<int, Task>[] actions)
    {
        var samples = actions.Select(_ => new List<double>(count)).ToArray();
        for (var i = 0; i < count; i++)
        {
            for (var k = 0; k < actions.Length; k++)
            {
                var a = (i + k) % actions.Length;
                var started = Stopwatch.GetTimestamp();
                await actions[a](i);
                samples[a].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return samples;
    }

    private static async Task<(LatencySummary Latency, double Qps)> ClosedLoopAsync(int clients, TimeSpan duration, Func<int, Task> action)
    {
        var samples = new ConcurrentBag<double>();
        var next = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await action(Interlocked.Increment(ref next));
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })));
        return (LatencySummary.From(samples), samples.Count / clock.Elapsed.TotalSeconds);
    }
}
