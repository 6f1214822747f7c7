using System.Globalization;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.TestServers;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Part 2: the pipeline against a model server of known capacity (<see cref="SimulatedModelServer"/>), for every
/// batch size and worker count: pipeline throughput divided by the server's best throughput at that batch size.
/// The worker's batch (<c>Embedding__BatchMessageLimit</c>) and the provider's request size
/// (<c>Embedding__MaxBatchItems</c>) are both set to the batch size, so one batch is one request.
/// </summary>
public static class ModelBoundBenchmark
{
    /// <summary>a: fixed service time per request.</summary>
    public static readonly TimeSpan FixedTime = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// b: service time per text. With a = 40 ms and 2 requests at once the server tops out at 125 texts/s, below what
    /// the pipeline's database side sustains on 2 cores, so the model is the bottleneck being measured.
    /// </summary>
    public static readonly TimeSpan PerText = TimeSpan.FromMilliseconds(16);

    /// <summary>Requests the server runs at once.</summary>
    public const int Parallel = 2;

    /// <summary>Full requests per server slot a configuration ingests at least (see <see cref="RunAsync"/>).</summary>
    public const int MinRequestsPerSlot = 6;

    /// <summary>Batches in flight per worker (<c>Embedding__ConcurrencyLimit</c>); null = the product default.</summary>
    public static int? ConcurrencyLimit { get; set; }

    /// <summary>Runs part 2.</summary>
    public static async Task<ModelBoundResult> RunAsync(PostgresServer postgres, RabbitMqServer rabbit, BenchmarkSize size, Action<string> log)
    {
        await using var server = await SimulatedModelServer.StartAsync(FixedTime, PerText, Parallel, 384);
        var database = await BenchmarkDatabase.CreateAsync(postgres, "bench_model");
        var settings = new Dictionary<string, string>
        {
            ["Embedding__Provider"] = "http",
            ["Embedding__Endpoint"] = server.BaseAddress.ToString(),
            ["Embedding__Model"] = "simulated",
            ["Embedding__Dimensions"] = "384",
            // One batch = one request: no split by characters.
            ["Embedding__MaxBatchChars"] = "10000000",
        };
        var result = new ModelBoundResult { ConcurrencyLimit = ConcurrencyLimit, FixedMs = FixedTime.TotalMilliseconds, PerTextMs = PerText.TotalMilliseconds, Parallel = Parallel };
        var corpus = new SyntheticCorpus(2);
        await using var pipeline = new PipelineRunner("model", database, rabbit.ConnectionString, settings);
        foreach (var batch in size.ModelBatchSizes)
        {
            await pipeline.StopWorkersAsync();
            var workerSettings = new Dictionary<string, string>
            {
                ["Embedding__BatchMessageLimit"] = batch.ToString(CultureInfo.InvariantCulture),
                ["Embedding__MaxBatchItems"] = batch.ToString(CultureInfo.InvariantCulture),
            };
            if (ConcurrencyLimit is { } limit)
            {
                workerSettings["Embedding__ConcurrencyLimit"] = limit.ToString(CultureInfo.InvariantCulture);
            }

            foreach (var workers in size.ModelWorkers)
            {
                var started = pipeline.Workers.Count;
                await pipeline.EnsureIngestAsync(workers, workerSettings);
                var capacity = server.Capacity(batch);
                if (pipeline.Workers.Count > started)
                {
                    await pipeline.IngestAsync(corpus, Math.Max(2 * batch * (workers - started), 20), IngestBenchmark.Paragraphs, IngestBenchmark.ParagraphChars, TimeSpan.FromMinutes(5));
                }

                await pipeline.ResetDataAsync();
                server.Reset();
                // Long enough that filling the first batch and storing the last one are a small share of the run: at
                // least MinRequestsPerSlot full requests per server slot and 4 batches per worker.
                var target = (int)Math.Max(capacity * size.ModelSecondsPerConfig, Math.Max(4 * batch * workers, MinRequestsPerSlot * Parallel * batch));
                var (chunks, elapsed) = await pipeline.IngestAsync(corpus, target, IngestBenchmark.Paragraphs, IngestBenchmark.ParagraphChars, TimeSpan.FromMinutes(10));
                var rate = chunks / elapsed.TotalSeconds;
                var run = new ModelBoundRun(batch, workers, chunks, Math.Round(elapsed.TotalSeconds, 2), Math.Round(rate, 1), Math.Round(capacity, 1),
                    Math.Round(rate / capacity, 3), server.Requests);
                result.Runs.Add(run);
                log($"model-bound: batch {batch}, {workers} worker(s): {chunks} chunks in {elapsed.TotalSeconds:F1} s = {rate:F0} chunks/s of {capacity:F0} ({run.Efficiency:P0}); {server.Requests} requests");
            }

            foreach (var (name, peak) in pipeline.PeakMemory().Where(p => p.Key.Contains("worker", StringComparison.Ordinal)))
            {
                result.PeakRssMiB[$"{name} (batch {batch})"] = peak;
            }
        }

        return result;
    }
}
