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

    /// <summary>Part 7: the built-in ONNX model (rendered into docs/benchmarks-onnx.md).</summary>
    public OnnxModelResult? OnnxModel { get; set; }

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

    /// <summary>The statements of the last pipeline run by PostgreSQL execution time (pg_stat_statements), most first; empty when the extension is not there.</summary>
    public List<StatementCost> Statements { get; set; } = [];

    /// <summary>CPU seconds of the one-connection COPY, by process group (the benchmark program as the COPY client, PostgreSQL).</summary>
    public Dictionary<string, double> CopyCpuSeconds { get; set; } = [];

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

/// <summary>One statement's share of a run: calls, rows, total execution time (ms) and the normalised text (shortened).</summary>
public sealed record StatementCost(long Calls, long Rows, double TotalMs, string Query);

/// <summary>One pipeline ingest run; <paramref name="CpuSeconds"/>: CPU seconds it cost, by process group (services, PostgreSQL, RabbitMQ), where measured.</summary>
public sealed record IngestRun(int Workers, int Chunks, double Seconds, double ChunksPerSecond, Dictionary<string, double>? CpuSeconds = null);

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

/// <summary>Part 7: the pipeline with the built-in ONNX model against raw ONNX Runtime, search with in-process query embedding, and HNSW recall on the model's vectors.</summary>
public sealed class OnnxModelResult
{
    /// <summary>The model key, <c>arctic-embed-xs@384</c>.</summary>
    public string Model { get; set; } = "";

    /// <summary>ONNX Runtime intra-op threads of every session (the services' default).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Texts per session run (<c>Embedding:Onnx:RunBatchSize</c>).</summary>
    public int RunBatchSize { get; set; }

    /// <summary>Chunk messages per worker batch (<c>Embedding:BatchMessageLimit</c>), also the raw runs' batch.</summary>
    public int BatchMessageLimit { get; set; }

    /// <summary>Batches one worker embeds at once (<c>Embedding:ConcurrencyLimit</c>).</summary>
    public int ConcurrencyLimit { get; set; }

    /// <summary>Documents posted per pipeline run (pgai Markdown files and SQuAD paragraphs).</summary>
    public int Documents { get; set; }

    /// <summary>Chunks they make, the texts of every run.</summary>
    public int Chunks { get; set; }

    /// <summary>Mean word pieces per chunk the model read ([CLS] and [SEP] included).</summary>
    public double MeanTokens { get; set; }

    /// <summary>Pipeline runs, one per worker count.</summary>
    public List<IngestRun> Pipeline { get; set; } = [];

    /// <summary>Raw runs, one per number of callers.</summary>
    public List<RawOnnxRun.Result> Raw { get; set; } = [];

    /// <summary>Peak RSS (VmHWM) of each worker after each pipeline run, MiB, keyed by <see cref="OnnxModelBenchmark.WorkerRssKey"/>.</summary>
    public Dictionary<string, double> WorkerPeakRssMiB { get; set; } = [];

    /// <summary>Chunks of the search and HNSW corpus (sentence windows embedded by the model).</summary>
    public int SearchChunks { get; set; }

    /// <summary>Seconds the corpus took to embed in this run (0 when its vectors came from the cache).</summary>
    public double CorpusEmbedSeconds { get; set; }

    /// <summary><c>POST /search</c> (vector mode, top 10) with the question embedded in Search.Api, one client, ms.</summary>
    public LatencySummary? Api { get; set; }

    /// <summary>The same search as SQL with the query vector precomputed, one client, ms.</summary>
    public LatencySummary? Sql { get; set; }

    /// <summary>
    /// The SQL as Search.Api runs it: confined to the caller's tenant (the default tenant here), which joins chunks and
    /// documents below the index scan; query vector precomputed, one client, ms.
    /// </summary>
    public LatencySummary? SqlTenant { get; set; }

    /// <summary>
    /// Inside <see cref="Api"/>: each phase's wall time as Search.Api reports it in <c>Server-Timing</c> (<c>model</c>,
    /// <c>embed</c>, <c>vector</c>), ms; what the phases do not cover is HTTP, JSON, authentication and routing.
    /// </summary>
    public Dictionary<string, LatencySummary>? ApiPhases { get; set; }

    /// <summary><c>GET /alive</c> of Search.Api, interleaved with the other paths: the HTTP round trip alone, ms.</summary>
    public LatencySummary? ApiRoundTrip { get; set; }

    /// <summary>Query embedding alone, in-process (the questions with the model's query prefix), ms.</summary>
    public LatencySummary? QueryEmbedding { get; set; }

    /// <summary>Query embedding of questions of exactly 10 words, ms.</summary>
    public LatencySummary? QueryEmbedding10Words { get; set; }

    /// <summary>Search.Api's peak RSS, MiB.</summary>
    public double SearchPeakRssMiB { get; set; }

    /// <summary>HNSW sweep on the model's vectors: question recall in <see cref="HnswSweepRow.WordRecallAt10"/>, passage recall in <see cref="HnswSweepRow.PassageRecallAt10"/>.</summary>
    public List<HnswSweepRow> Hnsw { get; set; } = [];

    /// <summary>Questions (and as many passage queries) per recall figure.</summary>
    public int RecallQueries { get; set; }
}
