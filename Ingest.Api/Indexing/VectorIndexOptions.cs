using VectorPipeline.VectorStore.Indexing;
namespace VectorPipeline.Ingest.Indexing;

/// <summary>The <c>VectorIndex</c> configuration section (environment form <c>VectorIndex__CheckIntervalSeconds</c>).</summary>
public sealed class VectorIndexOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "VectorIndex";

    /// <summary>
    /// How often Ingest.Api checks that every configured model's index matches its settings (and that IVFFlat
    /// lists left to the row count still fit), in seconds, 10..86,400; 300 by default. The first check runs at start.
    /// </summary>
    public int CheckIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// <c>maintenance_work_mem</c> of the session that builds a model's index (a PostgreSQL memory size: 1GB,
    /// 512MB, ...); empty for the server's own setting. 1GB by default: pgvector builds an HNSW graph that fits in
    /// it about 4× faster than one that does not (docs/benchmarks.md, tuning notes), and PostgreSQL's default of
    /// 64MB holds only some 30,000 vectors of 384 dimensions. It is a ceiling: the build takes what the graph needs.
    /// </summary>
    public string MaintenanceWorkMem { get; set; } = "1GB";

    /// <summary><see cref="MaintenanceWorkMem"/> as the store takes it: null for the server's setting.</summary>
    public string? BuildMemory => string.IsNullOrWhiteSpace(MaintenanceWorkMem) ? null : MaintenanceWorkMem.Trim();

    /// <summary>Checks the values above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        if (CheckIntervalSeconds is < 10 or > 86_400)
        {
            throw new ArgumentOutOfRangeException(nameof(CheckIntervalSeconds), CheckIntervalSeconds,
                $"{SectionName}:{nameof(CheckIntervalSeconds)} must be between 10 and 86400.");
        }

        if (BuildMemory is { } memory && !VectorIndexBuilder.IsMemorySize(memory))
        {
            throw new ArgumentOutOfRangeException(nameof(MaintenanceWorkMem), MaintenanceWorkMem,
                $"{SectionName}:{nameof(MaintenanceWorkMem)} must be a PostgreSQL memory size such as 1GB or 512MB (units kB, MB, GB, TB), or empty for the server's setting.");
        }
    }
}
