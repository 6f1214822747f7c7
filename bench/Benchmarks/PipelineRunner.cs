using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Ingest.Api, any number of Embed.Worker processes and Search.Api against one database, started as real processes
/// (<see cref="ServiceProcess"/>) with the same configuration, plus the client side of a run: posting documents and
/// waiting until the last vector is stored.
/// </summary>
public sealed class PipelineRunner : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly List<ServiceProcess> _workers = [];
    private readonly string _label;

    /// <summary>Creates a runner; nothing starts until asked.</summary>
    /// <param name="label">Prefix of the process names (for messages).</param>
    /// <param name="databaseConnectionString">The database every service uses.</param>
    /// <param name="messaging">The broker address.</param>
    /// <param name="extra">More service settings (model, batch options); applied to every process.</param>
    public PipelineRunner(string label, string databaseConnectionString, string messaging, IReadOnlyDictionary<string, string>? extra = null)
    {
        _label = label;
        _environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = databaseConnectionString,
            ["ConnectionStrings__messaging"] = messaging,
            // The benchmark drops and rebuilds indexes itself; the maintenance job must not race it.
            ["VectorIndex__CheckIntervalSeconds"] = "86400",
            // Timestamps in the saved logs (bench/results/logs) show where a batch's time goes.
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }

        DataSource = VectorStoreExtensions.CreateDataSource(Unlimited(databaseConnectionString));
    }

    /// <summary>The database, for polling and resetting.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Ingest.Api, once started.</summary>
    public ServiceProcess? Ingest { get; private set; }

    /// <summary>Search.Api, once started.</summary>
    public ServiceProcess? Search { get; private set; }

    /// <summary>The running workers.</summary>
    public IReadOnlyList<ServiceProcess> Workers => _workers;

    /// <summary>Every running service process.</summary>
    public IEnumerable<ServiceProcess> All => new[] { Ingest, Search }.OfType<ServiceProcess>().Concat(_workers);

    /// <summary>Starts Ingest.Api (if not running) and as many workers as needed to have <paramref name="workers"/>.</summary>
    public async Task EnsureIngestAsync(int workers, IReadOnlyDictionary<string, string>? workerSettings = null)
    {
        var starting = new List<Task<ServiceProcess>>();
        Task<ServiceProcess>? ingest = Ingest is null ? ServiceProcess.StartAsync($"{_label}-ingest-api", "Ingest.Api", _environment) : null;
        var environment = new Dictionary<string, string>(_environment);
        foreach (var (key, value) in workerSettings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        for (var i = _workers.Count; i < workers; i++)
        {
            starting.Add(ServiceProcess.StartAsync($"{_label}-embed-worker-{i + 1}", "Embed.Worker", environment));
        }

        // Keep every process that did start, even when another failed, so that it is stopped with the runner: a
        // leaked worker would keep consuming queue embed-chunk of the shared broker for another part's database.
        await Task.WhenAll(starting.Append(ingest ?? Task.FromResult<ServiceProcess>(null!))).ContinueWith(_ => { }, TaskScheduler.Default);
        if (ingest is { IsCompletedSuccessfully: true })
        {
            Ingest = ingest.Result;
        }

        _workers.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        if ((ingest?.Exception ?? starting.FirstOrDefault(t => t.IsFaulted)?.Exception) is { } failure)
        {
            throw failure.InnerException ?? failure;
        }
    }

    /// <summary>Starts Search.Api.</summary>
    public async Task StartSearchAsync() => Search ??= await ServiceProcess.StartAsync($"{_label}-search-api", "Search.Api", _environment);

    /// <summary>Where each stopped service's console output is written (<c>{name}.log</c>); null = nowhere.</summary>
    public static string? LogDirectory { get; set; }

    /// <summary>The process trees whose CPU a run costs (<see cref="CpuMeter"/>): Ingest.Api, the workers, PostgreSQL, RabbitMQ.</summary>
    public Dictionary<string, int[]> CpuGroups(PostgresServer postgres, RabbitMqServer rabbit) => new()
    {
        ["ingest-api"] = [Ingest?.ProcessId ?? 0],
        ["embed-worker"] = [.. _workers.Select(w => w.ProcessId)],
        ["postgres"] = [postgres.ProcessId ?? 0],
        ["rabbitmq"] = [rabbit.ProcessId ?? 0],
    };

    /// <summary>Stops every worker (SIGTERM).</summary>
    public async Task StopWorkersAsync()
    {
        await Task.WhenAll(_workers.Select(w => w.StopAsync(TimeSpan.FromSeconds(20))));
        foreach (var worker in _workers)
        {
            await SaveOutputAsync(worker);
            await worker.DisposeAsync();
        }

        _workers.Clear();
    }

    /// <summary>Deletes every document, chunk, embedding and error (models and indexes stay).</summary>
    public async Task ResetDataAsync()
    {
        await using var command = DataSource.CreateCommand("TRUNCATE documents, chunks, embeddings, embedding_errors");
        await command.ExecuteNonQueryAsync();
        await using var vacuum = DataSource.CreateCommand("VACUUM ANALYZE embeddings");
        await vacuum.ExecuteNonQueryAsync();
    }

    /// <summary>Embeddings stored now, all models.</summary>
    public async Task<long> CountEmbeddingsAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT count(*) FROM embeddings");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Posts documents (4 at a time) until at least <paramref name="chunks"/> chunks are queued, while polling the
    /// embeddings table (every 200 ms, every 20 ms for the last 5%); returns when every posted chunk has its vector. Time runs from the first
    /// <c>POST /documents</c> to the poll that saw the last vector.
    /// </summary>
    /// <returns>Chunks posted and the elapsed time.</returns>
    public async Task<(int Chunks, TimeSpan Elapsed)> IngestAsync(SyntheticCorpus corpus, int chunks, int paragraphs, int paragraphChars, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(Ingest);
        var baseline = await CountEmbeddingsAsync();
        using var http = new HttpClient { BaseAddress = Ingest.Url, Timeout = TimeSpan.FromSeconds(60) };
        // Texts are generated before the clock starts.
        var documents = new List<string>();
        var estimate = Math.Max(1, chunks / Math.Max(1, paragraphs)) + 4;
        for (var i = 0; i < estimate * 2; i++)
        {
            documents.Add(corpus.Document(paragraphs, paragraphChars));
        }

        var posted = 0;
        var next = -1;
        var prefix = Guid.NewGuid().ToString("n")[..8];
        var clock = Stopwatch.StartNew();
        var posting = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref posted) < chunks)
            {
                var index = Interlocked.Increment(ref next);
                var text = index < documents.Count ? documents[index] : corpus.Document(paragraphs, paragraphChars);
                Interlocked.Add(ref posted, await PostAsync(http, $"bench-{prefix}-{index}", $"Benchmark document {index}", text));
            }
        })));

        return (await WaitForVectorsAsync(posting, () => Volatile.Read(ref posted), baseline, clock, timeout), clock.Elapsed);
    }

    /// <summary>
    /// Posts <paramref name="documents"/> (4 at a time) while polling the embeddings table (as above); returns when
    /// every posted chunk has its vector. Time runs from the first <c>POST /documents</c> to the poll that saw the last
    /// vector.
    /// </summary>
    /// <returns>Chunks posted and the elapsed time.</returns>
    /// <exception cref="TimeoutException">Not every chunk had its vector within <paramref name="timeout"/>.</exception>
    public async Task<(int Chunks, TimeSpan Elapsed)> IngestDocumentsAsync(IReadOnlyList<SampleDocument> documents, string idPrefix, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(Ingest);
        var baseline = await CountEmbeddingsAsync();
        using var http = new HttpClient { BaseAddress = Ingest.Url, Timeout = TimeSpan.FromSeconds(60) };
        var posted = 0;
        var next = -1;
        var clock = Stopwatch.StartNew();
        var posting = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var index = Interlocked.Increment(ref next); index < documents.Count; index = Interlocked.Increment(ref next))
            {
                var document = documents[index];
                Interlocked.Add(ref posted, await PostAsync(http, $"{idPrefix}{document.Id}", document.Title, document.Text));
            }
        })));
        return (await WaitForVectorsAsync(posting, () => Volatile.Read(ref posted), baseline, clock, timeout), clock.Elapsed);
    }

    // POST /documents; the chunks it queued.
    private static async Task<int> PostAsync(HttpClient http, string id, string title, string text)
    {
        var response = await http.PostAsJsonAsync("/documents", new { id, title, text });
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /documents answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("queued").GetInt32();
    }

    /// <summary>
    /// When the last ingest run's last <c>POST /documents</c> was answered, from its start: a run whose posting takes
    /// about as long as the run itself is bound by Ingest.Api, not by the workers.
    /// </summary>
    public TimeSpan LastPostingTime { get; private set; }

    /// <summary>When the last ingest run's poll first saw a vector of the run, from its start (the pipeline's latency to its first stored batch).</summary>
    public TimeSpan FirstVectorTime { get; private set; }

    // Polls until posting has finished and every posted chunk has its vector; returns the chunks posted.
    private async Task<int> WaitForVectorsAsync(Task posting, Func<int> posted, long baseline, Stopwatch clock, TimeSpan timeout)
    {
        _ = posting.ContinueWith(_ => LastPostingTime = clock.Elapsed, TaskScheduler.Default);
        FirstVectorTime = TimeSpan.Zero;
        while (true)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{posted()} chunks posted, {await CountEmbeddingsAsync() - baseline} embedded after {timeout}.");
            }

            if (posting.IsFaulted)
            {
                await posting;
            }

            var stored = await CountEmbeddingsAsync() - baseline;
            if (stored > 0 && FirstVectorTime == TimeSpan.Zero)
            {
                FirstVectorTime = clock.Elapsed;
            }

            if (posting.IsCompletedSuccessfully && stored >= posted())
            {
                return posted();
            }

            // Each poll counts the embeddings table (PostgreSQL CPU that is not the pipeline's): every 200 ms until
            // the last 5% of the chunks, then every 20 ms, so the end is still seen within 20 ms.
            await Task.Delay(posting.IsCompleted && stored >= posted() * 0.95 ? 20 : 200);
        }
    }

    /// <summary>Peak RSS (VmHWM, MiB) of every running service, by process name.</summary>
    public Dictionary<string, double> PeakMemory() =>
        All.Select(s => (s.Name, Peak: MemorySampler.PeakRssMiB(s.ProcessId))).Where(x => x.Peak is not null)
            .ToDictionary(x => x.Name, x => Math.Round(x.Peak!.Value, 1));

    /// <summary>Stops everything (SIGTERM first).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopWorkersAsync();
        foreach (var service in new[] { Ingest, Search }.OfType<ServiceProcess>())
        {
            await service.StopAsync(TimeSpan.FromSeconds(20));
            await SaveOutputAsync(service);
            await service.DisposeAsync();
        }

        Ingest = null;
        Search = null;
        await DataSource.DisposeAsync();
    }

    private static async Task SaveOutputAsync(ServiceProcess service)
    {
        if (LogDirectory is null)
        {
            return;
        }

        Directory.CreateDirectory(LogDirectory);
        await File.AppendAllLinesAsync(Path.Combine(LogDirectory, service.Name + ".log"), service.Output);
    }

    /// <summary>
    /// The connection string without a command timeout: a COPY into an HNSW-indexed table or an index build on a
    /// loaded machine takes longer than Npgsql's default 30 s.
    /// </summary>
    public static string Unlimited(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 0 }.ConnectionString;

    /// <summary>Formats a number for messages.</summary>
    public static string F(double value, string format = "F0") => value.ToString(format, CultureInfo.InvariantCulture);
}
