using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// One table in another PostgreSQL database kept in sync as documents: section <c>Sync:Sources:{name}</c>
/// (environment form <c>Sync__Sources__products__Table=public.products</c>, ...).
/// </summary>
public sealed partial class TableSyncOptions
{
    /// <summary>Configuration section holding one child section per source.</summary>
    public const string SectionName = "Sync:Sources";

    /// <summary>Npgsql connection string of the source database (read-only access is enough). Required.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The table or view, <c>name</c> or <c>schema.name</c>. Required.</summary>
    public string? Table { get; set; }

    /// <summary>Primary-key column: becomes the document id (as text). Required.</summary>
    public string? KeyColumn { get; set; }

    /// <summary>Column holding the text to embed. Required.</summary>
    public string? TextColumn { get; set; }

    /// <summary>Column holding the title; none by default.</summary>
    public string? TitleColumn { get; set; }

    /// <summary>Columns copied into the document's metadata (by column name); none by default.</summary>
    public string[] MetadataColumns { get; set; } = [];

    /// <summary>
    /// High-water mark column: rows are read in (mark, key) order after the last recorded mark. An
    /// increasing id, or an updated-at timestamp so that changed rows are read again. The key column by default.
    /// </summary>
    public string? MarkColumn { get; set; }

    /// <summary>
    /// With a timestamp mark: only rows whose mark is older than this many seconds are read, so a transaction that
    /// commits late with an earlier timestamp is not skipped; 0..3600, 0 by default.
    /// </summary>
    public int MarkLagSeconds { get; set; }

    /// <summary>Seconds between two passes, 1..86,400; 30 by default.</summary>
    public int IntervalSeconds { get; set; } = 30;

    /// <summary>Rows read and ingested per page (the mark is recorded after each page), 1..10,000; 500 by default.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>
    /// Seconds between two key comparisons that delete the documents whose row is gone (all source keys are read),
    /// 10..604,800; null (the default) = deleted rows are not detected.
    /// </summary>
    public int? DeleteCheckIntervalSeconds { get; set; }

    /// <summary>Tenant the documents belong to (see README, "Security"); the default tenant by default.</summary>
    public string Tenant { get; set; } = "";

    /// <summary>The documents' <c>source</c> (a search filter); the source's name by default.</summary>
    public string? DocumentSource { get; set; }

    /// <summary>Checks the settings.</summary>
    /// <param name="name">The source's name, for messages.</param>
    /// <exception cref="InvalidOperationException">A setting is missing or out of range; the message names the key.</exception>
    public void Validate(string name)
    {
        var prefix = $"{SectionName}:{name}";
        foreach (var (key, value) in new[] { ("ConnectionString", ConnectionString), ("Table", Table), ("KeyColumn", KeyColumn), ("TextColumn", TextColumn) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"{prefix}:{key} is required.");
            }
        }

        foreach (var (key, value) in new[] { ("Table", Table), ("KeyColumn", KeyColumn), ("TextColumn", TextColumn), ("TitleColumn", TitleColumn), ("MarkColumn", MarkColumn) }
                     .Concat(MetadataColumns.Select((c, i) => ($"MetadataColumns:{i}", (string?)c))))
        {
            if (value is not null && !QualifiedName().IsMatch(value))
            {
                throw new InvalidOperationException($"{prefix}:{key} '{value}' is not a plain SQL name (letters, digits, _ and $, optionally schema.name).");
            }
        }

        if (!TenantName().IsMatch(Tenant))
        {
            throw new InvalidOperationException($"{prefix}:Tenant '{Tenant}' is not a tenant name (letters, digits, '.', '_' and '-', at most 64).");
        }

        if (IntervalSeconds is < 1 or > 86_400 || PageSize is < 1 or > 10_000 || MarkLagSeconds is < 0 or > 3600 || DeleteCheckIntervalSeconds is < 10 or > 604_800)
        {
            throw new InvalidOperationException(
                $"{prefix}: IntervalSeconds must be 1..86400, PageSize 1..10000, MarkLagSeconds 0..3600, DeleteCheckIntervalSeconds 10..604800.");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9._-]{0,64}$")]
    private static partial Regex TenantName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$")]
    private static partial Regex QualifiedName();
}
