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

    /// <summary>Checks the range above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        if (CheckIntervalSeconds is < 10 or > 86_400)
        {
            throw new ArgumentOutOfRangeException(nameof(CheckIntervalSeconds), CheckIntervalSeconds,
                $"{SectionName}:{nameof(CheckIntervalSeconds)} must be between 10 and 86400.");
        }
    }
}
