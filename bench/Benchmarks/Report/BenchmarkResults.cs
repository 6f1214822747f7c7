namespace VectorPipeline.Benchmarks.Report;

/// <summary>Everything one run measured; written as <c>bench/results/latest.json</c> and rendered into <c>docs/benchmarks.md</c>.</summary>
public sealed class BenchmarkResults
{
    /// <summary>Size profile name.</summary>
    public string Size { get; set; } = "";

    /// <summary>The command line that produced the run.</summary>
    public string Command { get; set; } = "";

    /// <summary>Machine, runtime and server versions, load average before and after.</summary>
    public Dictionary<string, string> Machine { get; set; } = [];

    /// <summary>When the run started, UTC.</summary>
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>Wall time of the whole run, seconds.</summary>
    public double DurationSeconds { get; set; }

    /// <summary>Part 1 (and the ingest half of part 4).</summary>
    public IngestResult? Ingest { get; set; }

    /// <summary>Part 2.</summary>
    public ModelBoundResult? ModelBound { get; set; }

    /// <summary>Part 3 (and the search half of part 4).</summary>
    public SearchResult? Search { get; set; }

    /// <summary>Part 5.</summary>
    public List<GrowthLevel> Growth { get; set; } = [];

    /// <summary>Part 6: HNSW m / ef_construction / ef_search against recall and latency, at the search level.</summary>
    public List<HnswSweepRow> HnswSweep { get; set; } = [];

    /// <summary>Parts that failed, with their error.</summary>
    public List<string> Errors { get; set; } = [];
}

/// <summary>Ingest with the hashing embedder against the COPY, INSERT and RabbitMQ baselines.</summary>
public sealed class IngestResult
{
    /// <summary>Pipeline runs, one per worker count.</summary>
    public List<IngestRun> Runs { get; set; } = [];

    /// <summary>Chunks of the baseline runs (those of the last pipeline run).</summary>
    public int BaselineRows { get; set; }

    /// <summary>Binary COPY into the indexed table, one connection, rows/s.</summary>
    public double CopyRowsPerSecond { get; set; }

    /// <summary>Binary COPY into the indexed table, two connections at once, rows/s.</summary>
    public double Copy2RowsPerSecond { get; set; }

    /// <summary>Parameterised INSERTs, 64 per round trip, one connection, rows/s.</summary>
    public double InsertRowsPerSecond { get; set; }

    /// <summary>COPY into the table without the vector index, then one index build, rows/s over both.</summary>
    public double CopyThenIndexRowsPerSecond { get; set; }

    /// <summary>Seconds of the COPY part of <see cref="CopyThenIndexRowsPerSecond"/>.</summary>
    public double CopyThenIndexCopySeconds { get; set; }

    /// <summary>Seconds of the index build part of <see cref="CopyThenIndexRowsPerSecond"/>.</summary>
    public double CopyThenIndexBuildSeconds { get; set; }

    /// <summary>Plain RabbitMQ publish (confirms) + consume (acks) of as many messages, messages/s.</summary>
    public double RabbitMqMessagesPerSecond { get; set; }

    /// <summary>Peak RSS (VmHWM) of each service at the end of the part, MiB.</summary>
    public Dictionary<string, double> PeakRssMiB { get; set; } = [];
}

/// <summary>One pipeline ingest run.</summary>
public sealed record IngestRun(int Workers, int Chunks, double Seconds, double ChunksPerSecond);

/// <summary>The batch size × worker sweep against the simulated model server.</summary>
public sealed class ModelBoundResult
{
    /// <summary>Embedding__ConcurrencyLimit given to the workers; null = the product default.</summary>
    public int? ConcurrencyLimit { get; set; }

    /// <summary>a, ms.</summary>
    public double FixedMs { get; set; }

    /// <summary>b, ms per text.</summary>
    public double PerTextMs { get; set; }

    /// <summary>Requests the server runs at once.</summary>
    public int Parallel { get; set; }

    /// <summary>One per configuration.</summary>
    public List<ModelBoundRun> Runs { get; set; } = [];

    /// <summary>Peak RSS (VmHWM) of each worker, MiB.</summary>
    public Dictionary<string, double> PeakRssMiB { get; set; } = [];
}

/// <summary>One configuration of the sweep.</summary>
public sealed record ModelBoundRun(int BatchSize, int Workers, int Chunks, double Seconds, double ChunksPerSecond, double CapacityPerSecond, double Efficiency, long Requests);

/// <summary>Search latency at the search level of the corpus.</summary>
public sealed class SearchResult
{
    /// <summary>Chunks stored.</summary>
    public int Chunks { get; set; }

    /// <summary>Query embedding alone (hashing embedder, in-process), ms.</summary>
    public LatencySummary? QueryEmbedding { get; set; }

    /// <summary>One per client count.</summary>
    public List<SearchLevel> Levels { get; set; } = [];

    /// <summary>Peak RSS (VmHWM) of each service at the end of the part, MiB.</summary>
    public Dictionary<string, double> PeakRssMiB { get; set; } = [];
}

/// <summary>Search at one number of concurrent clients: through <c>POST /search</c> and as raw SQL.</summary>
public sealed record SearchLevel(int Clients, LatencySummary Api, double ApiQps, LatencySummary Sql, double SqlQps);

/// <summary>Cost at one corpus size.</summary>
public sealed record GrowthLevel(int Chunks, double EmbedSeconds, double CopySeconds, double HnswBuildSeconds, double TextIndexSeconds,
    double IngestChunksPerSecond, int IngestChunks, double SearchP50Ms, double SqlP50Ms, double RecallAt10, double PassageRecallAt10);

/// <summary>
/// One point of the HNSW sweep: index parameters, its build time (s; NaN when the index in place was measured) and
/// size (MiB), ef_search, recall@10 for the random-word and the passage queries, the SQL p50 (ms) at one client, and
/// the rate of binary COPY into the table with this index (rows/s, measured once per build).
/// </summary>
public sealed record HnswSweepRow(int M, int EfConstruction, double BuildSeconds, double IndexMiB, int EfSearch, double WordRecallAt10, double PassageRecallAt10, double SqlP50Ms,
    double InsertRowsPerSecond = double.NaN);
