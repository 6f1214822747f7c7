namespace VectorPipeline.Ingest.Backfill;

/// <summary>The <c>Backfill</c> configuration section (environment form <c>Backfill__PageSize</c>, ...).</summary>
public sealed class BackfillOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Backfill";

    /// <summary>Chunk messages published per page of a backfill, 1..10,000; 1,000 by default.</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>How often unfinished backfills are checked for completion (and auto-activation), in ms, 100..600,000; 2,000 by default.</summary>
    public int CheckIntervalMs { get; set; } = 2000;

    /// <summary>Checks the ranges above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        if (PageSize is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(PageSize), PageSize, $"{SectionName}:{nameof(PageSize)} must be between 1 and 10000.");
        }

        if (CheckIntervalMs is < 100 or > 600_000)
        {
            throw new ArgumentOutOfRangeException(nameof(CheckIntervalMs), CheckIntervalMs, $"{SectionName}:{nameof(CheckIntervalMs)} must be between 100 and 600000.");
        }
    }
}
