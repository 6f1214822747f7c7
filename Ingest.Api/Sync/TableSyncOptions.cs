using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// One table in another database (PostgreSQL, or MySQL / MariaDB) kept in sync as documents: section
/// <c>Sync:Sources:{name}</c> (environment form <c>Sync__Sources__products__Table=public.products</c>, ...).
/// </summary>
public sealed partial class TableSyncOptions
{
    /// <summary>Configuration section holding one child section per source.</summary>
    public const string SectionName = "Sync:Sources";

    /// <summary><see cref="Kind"/> of a PostgreSQL source (the default).</summary>
    public const string PostgresKind = "postgres";

    /// <summary><see cref="Kind"/> of a MySQL or MariaDB source.</summary>
    public const string MySqlKind = "mysql";

    /// <summary>The kinds <see cref="Kind"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Kinds = [PostgresKind, MySqlKind];

    /// <summary>
    /// Which database the source is: <c>postgres</c> (the default, read with Npgsql) or <c>mysql</c> (MySQL or
    /// MariaDB, read with MySqlConnector); case-insensitive.
    /// </summary>
    public string Kind { get; set; } = PostgresKind;

    /// <summary>
    /// Connection string of the source database in its client's form (Npgsql for <c>postgres</c>, MySqlConnector
    /// for <c>mysql</c>); read-only access is enough. Required.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The table or view, <c>name</c> or <c>schema.name</c> (for MySQL the schema is the database; the connection's
    /// database by default). Required.
    /// </summary>
    public string? Table { get; set; }

    /// <summary>Primary-key column: becomes the document id (as text). Required.</summary>
    public string? KeyColumn { get; set; }

    /// <summary>Column holding the text to embed. This or <see cref="TextColumns"/> is required.</summary>
    public string? TextColumn { get; set; }

    /// <summary>
    /// Several columns holding text (for example a question and its answer), instead of <see cref="TextColumn"/>:
    /// combined into one document per row (<see cref="TextTemplate"/>, or joined by a blank line), or one document
    /// per column with <see cref="DocumentPerColumn"/>.
    /// </summary>
    public string[] TextColumns { get; set; } = [];

    /// <summary>
    /// Each text column becomes its own document, id <c>{source}/{key}/{column}</c>, with the column's name in the
    /// metadata key <c>textColumn</c>; false (the default) = one document per row, id <c>{source}/{key}</c>.
    /// </summary>
    public bool DocumentPerColumn { get; set; }

    /// <summary>
    /// How the text columns are combined into a row's text: placeholders <c>{column}</c> naming text columns, for
    /// example <c>"Question: {question}\n\nAnswer: {answer}"</c> (a null column puts in nothing; the result is
    /// trimmed). None by default: the non-blank columns joined by a blank line. Not with <see cref="DocumentPerColumn"/>.
    /// </summary>
    public string? TextTemplate { get; set; }

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

    /// <summary>The text columns in order: <see cref="TextColumns"/>, or <see cref="TextColumn"/> alone.</summary>
    public IReadOnlyList<string> EffectiveTextColumns => TextColumns.Length > 0 ? TextColumns : TextColumn is null ? [] : [TextColumn];

    /// <summary>The mark column: <see cref="MarkColumn"/>, or the key column.</summary>
    public string EffectiveMarkColumn => MarkColumn ?? KeyColumn!;

    /// <summary>Checks the settings.</summary>
    /// <param name="name">The source's name, for messages.</param>
    /// <exception cref="InvalidOperationException">
    /// A setting is missing, out of range or not one of its allowed values (<see cref="Kind"/>); the message names the key.
    /// </exception>
    public void Validate(string name)
    {
        var prefix = $"{SectionName}:{name}";
        if (!Kinds.Contains(Kind, StringComparer.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{prefix}:Kind '{Kind}' is not a kind of source; use one of: {string.Join(", ", Kinds)}.");
        }

        Kind = Kind.ToLowerInvariant();
        foreach (var (key, value) in new[] { ("ConnectionString", ConnectionString), ("Table", Table), ("KeyColumn", KeyColumn) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException($"{prefix}:{key} is required.");
            }
        }

        if (string.IsNullOrWhiteSpace(TextColumn) == (TextColumns.Length == 0))
        {
            throw new InvalidOperationException($"{prefix}: set TextColumn (one text column) or TextColumns (several), not both and not neither.");
        }

        foreach (var (key, value) in new[] { ("Table", Table), ("KeyColumn", KeyColumn), ("TextColumn", TextColumn), ("TitleColumn", TitleColumn), ("MarkColumn", MarkColumn) }
                     .Concat(TextColumns.Select((c, i) => ($"TextColumns:{i}", (string?)c)))
                     .Concat(MetadataColumns.Select((c, i) => ($"MetadataColumns:{i}", (string?)c))))
        {
            if (value is not null && !(key == "Table" ? QualifiedName() : PlainName()).IsMatch(value))
            {
                throw new InvalidOperationException(key == "Table"
                    ? $"{prefix}:{key} '{value}' is not a plain SQL name (letters, digits, _ and $, optionally schema.name)."
                    : $"{prefix}:{key} '{value}' is not a plain SQL column name (letters, digits, _ and $, starting with a letter or _).");
            }
        }

        if (TextColumns.Distinct(StringComparer.OrdinalIgnoreCase).Count() != TextColumns.Length)
        {
            throw new InvalidOperationException($"{prefix}:TextColumns names a column twice.");
        }

        if (DocumentPerColumn && TextTemplate is not null)
        {
            throw new InvalidOperationException($"{prefix}:TextTemplate combines the text columns into one document; it cannot be used with DocumentPerColumn.");
        }

        if (DocumentPerColumn && EffectiveTextColumns.FirstOrDefault(c => Documents.DocumentValidator.ReservedLastSegments.Contains(c, StringComparer.Ordinal)) is { } reserved)
        {
            throw new InvalidOperationException($"{prefix}:TextColumns: with DocumentPerColumn a column named '{reserved}' would give ids ending in '/{reserved}', which /documents/{{id}} reads as an endpoint.");
        }

        if (TextTemplate is not null)
        {
            _ = new RowTextTemplate(TextTemplate, EffectiveTextColumns, $"{prefix}:TextTemplate");
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

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")]
    private static partial Regex PlainName();
}
