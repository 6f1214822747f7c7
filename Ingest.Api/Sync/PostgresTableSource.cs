using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;

namespace VectorPipeline.Ingest.Sync;

/// <summary>Where a pass stopped: the mark column's value and the key of the last row read, both as text.</summary>
/// <param name="Mark">Mark column value (PostgreSQL's text form).</param>
/// <param name="Key">Key column value.</param>
public sealed record SyncMark(string Mark, string Key);

/// <summary>One row of a source table, mapped to a document.</summary>
/// <param name="Key">The key column as text: the document id.</param>
/// <param name="Title">The title column, or null.</param>
/// <param name="Text">The text column; null or blank rows are skipped by the sync.</param>
/// <param name="MetadataJson">A JSON object of the metadata columns (column name → value).</param>
/// <param name="Mark">Where this row sits in (mark, key) order.</param>
public sealed record SourceRow(string Key, string? Title, string? Text, string MetadataJson, SyncMark Mark);

/// <summary>
/// Reads a table of another PostgreSQL database in (mark column, key column) order with keyset pagination, so
/// rows sharing a timestamp are neither skipped nor read twice. Table and column names are checked plain SQL
/// names (<see cref="TableSyncOptions.Validate"/>), written unquoted as in a hand-written query; the mark
/// and key are parameters cast to their columns' types.
/// </summary>
public sealed class PostgresTableSource : IAsyncDisposable
{
    private readonly TableSyncOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private string? _markType;
    private string? _keyType;

    /// <summary>Creates the reader; connects on first use.</summary>
    public PostgresTableSource(TableSyncOptions options)
    {
        _options = options;
        _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
    }

    private string MarkColumn => _options.MarkColumn ?? _options.KeyColumn!;

    /// <summary>The next page of rows after <paramref name="after"/> (from the start when null), at most <see cref="TableSyncOptions.PageSize"/>.</summary>
    /// <exception cref="InvalidOperationException">The table or a column does not exist; the message names it.</exception>
    public async Task<IReadOnlyList<SourceRow>> ReadPageAsync(SyncMark? after, CancellationToken cancellationToken)
    {
        await ResolveTypesAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand();
        var metadata = _options.MetadataColumns.Length == 0
            ? "'{}'::jsonb"
            // The metadata keys are parameters $4.., after mark, key and lag.
            : "jsonb_build_object(" + string.Join(", ", _options.MetadataColumns.Select((c, i) => $"${4 + i}::text, {c}")) + ")";

        var sql = new StringBuilder($"""
            SELECT {_options.KeyColumn}::text, {(_options.TitleColumn is null ? "NULL" : _options.TitleColumn + "::text")}, {_options.TextColumn}::text,
                   {metadata}::text, {MarkColumn}::text
              FROM {_options.Table}
             WHERE {MarkColumn} IS NOT NULL
               AND ($1::text IS NULL OR ({MarkColumn}, {_options.KeyColumn}) > ($1::text::{_markType}, $2::text::{_keyType}))
            """);
        if (_options.MarkLagSeconds > 0 && _markType!.StartsWith("timestamp", StringComparison.Ordinal))
        {
            sql.Append($" AND {MarkColumn} < now() - make_interval(secs => $3)");
        }
        else
        {
            sql.Append(" AND $3::integer IS NOT NULL");
        }

        sql.Append($" ORDER BY {MarkColumn}, {_options.KeyColumn} LIMIT {_options.PageSize}");
        command.CommandText = sql.ToString();
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)after?.Mark ?? DBNull.Value);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)after?.Key ?? DBNull.Value);
        command.Parameters.AddWithValue(_options.MarkLagSeconds);
        foreach (var column in _options.MetadataColumns)
        {
            command.Parameters.AddWithValue(column);
        }

        var rows = new List<SourceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            rows.Add(new SourceRow(key, reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), new SyncMark(reader.GetString(4), key)));
        }

        return rows;
    }

    /// <summary>Every key of the table, as text, streamed (for the deleted-row check).</summary>
    public async IAsyncEnumerable<string> ReadAllKeysAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {_options.KeyColumn}::text FROM {_options.Table}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return reader.GetString(0);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private async Task ResolveTypesAsync(CancellationToken cancellationToken)
    {
        if (_markType is not null)
        {
            return;
        }

        await using var command = _dataSource.CreateCommand("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
              FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
            """);
        command.Parameters.AddWithValue(_options.Table!);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                types[reader.GetString(0)] = reader.GetString(1);
            }
        }

        if (types.Count == 0)
        {
            throw new InvalidOperationException($"Table {_options.Table} does not exist in the source database (or has no columns).");
        }

        var missing = new[] { _options.KeyColumn!, _options.TextColumn!, MarkColumn }.Concat(_options.MetadataColumns)
            .Concat(_options.TitleColumn is null ? [] : [_options.TitleColumn])
            .Where(c => !types.ContainsKey(c.ToLowerInvariant()) && !types.ContainsKey(c)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"Table {_options.Table} has no column {string.Join(", ", missing)}; it has {string.Join(", ", types.Keys)}.");
        }

        _markType = types.TryGetValue(MarkColumn.ToLowerInvariant(), out var mark) ? mark : types[MarkColumn];
        _keyType = types.TryGetValue(_options.KeyColumn!.ToLowerInvariant(), out var key) ? key : types[_options.KeyColumn!];
    }
}
