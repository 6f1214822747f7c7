namespace VectorPipeline.Benchmarks;

/// <summary>
/// How much work each part of the benchmark does. <c>tiny</c> only proves the program runs (CI, under a minute);
/// <c>default</c> is the published run (parts 1-6 about 20 minutes on a 2-core machine, plus 15 for the built-in model's part
/// 7); <c>large</c> adds the 1M-chunk level. Part 7: documents posted per run, chunks of its search and HNSW corpus,
/// and queries per latency and recall figure.
/// </summary>
public sealed record BenchmarkSize(
    string Name,
    int IngestChunks,
    int[] IngestWorkers,
    int[] ModelBatchSizes,
    int[] ModelWorkers,
    double ModelSecondsPerConfig,
    int[] CorpusLevels,
    int SearchLevel,
    int[] SearchConcurrency,
    double SearchSecondsPerLevel,
    int GrowthIngestChunks,
    int GrowthSearchQueries,
    int GrowthWorkers = 2,
    int WarmupQueries = 100,
    (int M, int EfConstruction)[]? HnswBuilds = null,
    int[]? EfSearchSweep = null,
    int OnnxDocuments = 76,
    int OnnxSearchChunks = 10_000,
    int OnnxQueries = 300)
{
    /// <summary>The CI smoke size: every part runs, on a few hundred chunks.</summary>
    public static readonly BenchmarkSize Tiny = new("tiny", IngestChunks: 300, IngestWorkers: [1], ModelBatchSizes: [8], ModelWorkers: [1],
        ModelSecondsPerConfig: 1.5, CorpusLevels: [2_000], SearchLevel: 2_000, SearchConcurrency: [1, 4], SearchSecondsPerLevel: 1,
        GrowthIngestChunks: 50, GrowthSearchQueries: 50, GrowthWorkers: 1, WarmupQueries: 10,
        HnswBuilds: [(16, 64), (8, 32)], EfSearchSweep: [40, 100], OnnxDocuments: 3, OnnxSearchChunks: 100, OnnxQueries: 10);

    /// <summary>The published run.</summary>
    public static readonly BenchmarkSize Default = new("default", IngestChunks: 6_000, IngestWorkers: [1, 2], ModelBatchSizes: [1, 8, 32, 64, 128],
        ModelWorkers: [1, 2, 4], ModelSecondsPerConfig: 8, CorpusLevels: [10_000, 100_000], SearchLevel: 100_000, SearchConcurrency: [1, 4, 16],
        SearchSecondsPerLevel: 6, GrowthIngestChunks: 2_000, GrowthSearchQueries: 300,
        HnswBuilds: [(16, 64), (32, 64), (32, 128)], EfSearchSweep: [40, 100, 200, 400]);

    /// <summary>The published run plus the 1M-chunk corpus level (outside CI; tens of minutes).</summary>
    public static readonly BenchmarkSize Large = Default with { Name = "large", CorpusLevels = [10_000, 100_000, 1_000_000] };

    /// <summary>The size named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static BenchmarkSize Parse(string name) => name switch
    {
        "tiny" => Tiny,
        "default" => Default,
        "large" => Large,
        _ => throw new ArgumentException($"Unknown size '{name}': tiny, default or large."),
    };
}
