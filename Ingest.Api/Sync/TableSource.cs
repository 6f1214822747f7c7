using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;

namespace VectorPipeline.Ingest.Sync;

/// <summary>Where a pass stopped: the mark column's value and the key of the last row read, both as text.</summary>
/// <param name="Mark">Mark column value, in the source database's own text form.</param>
/// <param name="Key">Key column value, as text.</param>
public sealed record SyncMark(string Mark, string Key);

/// <summary>One row of a source table, as text.</summary>
/// <param name="Key">The key column as text: the document id after the source's prefix.</param>
/// <param name="Title">The title column, or null.</param>
/// <param name="Texts">The text columns, in <see cref="TableSyncOptions.EffectiveTextColumns"/> order; null where the column is NULL.</param>
/// <param name="MetadataJson">A JSON object of the metadata columns (configured column name → value, JSON types as the database gives them).</param>
/// <param name="Mark">Where this row sits in (mark, key) order.</param>
public sealed record SourceRow(string Key, string? Title, IReadOnlyList<string?> Texts, string MetadataJson, SyncMark Mark);

/// <summary>
/// A configured table, column or source setting that does not fit the source database (a table or column that does
/// not exist); the message names it. <c>GET /status</c> shows this message for the failed source.
/// </summary>
/// <param name="message">What is wrong, naming the table or column.</param>
public sealed class SyncSourceException(string message) : InvalidOperationException(message);

/// <summary>
/// Reads a table of another database in (mark column, key column) order with keyset pagination, so rows sharing a
/// mark are neither skipped nor read twice: <c>WHERE (mark, key) &gt; (last mark, last key) ORDER BY mark, key
/// LIMIT page size</c>. This class holds the query and the reading, the same for every kind of source; a subclass per
/// database (<see cref="PostgresTableSource"/>, <see cref="MySqlTableSource"/>) gives its dialect: identifier quoting,
/// casts to text and from text to a column's type, the JSON object of the metadata columns, the mark lag, and where
/// its catalog lists a table's columns. Table and column names are checked plain SQL names
/// (<see cref="TableSyncOptions.Validate"/>), looked up in the catalog and written quoted as the catalog names them;
/// the last mark and key are parameters cast to their columns' types.
/// </summary>
public abstract class TableSource : IAsyncDisposable
{
    private readonly DbDataSource _dataSource;
    private Shape? _shape;

    /// <summary>Creates the reader over a data source of the database's client; connects on first use.</summary>
    /// <param name="options">The source's checked settings.</param>
    /// <param name="dataSource">The client's data source for <see cref="TableSyncOptions.ConnectionString"/>; disposed with this reader.</param>
    protected TableSource(TableSyncOptions options, DbDataSource dataSource)
    {
        Options = options;
        _dataSource = dataSource;
    }

    /// <summary>The source's settings.</summary>
    protected TableSyncOptions Options { get; }

    /// <summary>The reader for the source's <see cref="TableSyncOptions.Kind"/>.</summary>
    /// <exception cref="ArgumentException">The connection string is not valid for the kind's client.</exception>
    public static TableSource Create(TableSyncOptions options) => options.Kind switch
    {
        TableSyncOptions.MySqlKind => new MySqlTableSource(options),
        _ => new PostgresTableSource(options),
    };

    /// <summary>The next page of rows after <paramref name="after"/> (from the start when null), at most <see cref="TableSyncOptions.PageSize"/>.</summary>
    /// <exception cref="SyncSourceException">The table or a column does not exist; the message names it.</exception>
    /// <exception cref="DbException">The database refused the query or could not be reached.</exception>
    public async Task<IReadOnlyList<SourceRow>> ReadPageAsync(SyncMark? after, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var shape = _shape ??= await ResolveAsync(connection, cancellationToken);
        await using var command = connection.CreateCommand();
        var conditions = new List<string> { $"{shape.Mark} IS NOT NULL" };
        if (after is not null)
        {
            conditions.Add($"({shape.Mark}, {shape.Key}) > ({CastParameter(AddText(command, "mark", after.Mark), shape.MarkType)}, {CastParameter(AddText(command, "key", after.Key), shape.KeyType)})");
        }

        if (Options.MarkLagSeconds > 0 && LagCondition(shape.Mark, shape.MarkType, Options.MarkLagSeconds) is { } lag)
        {
            conditions.Add(lag);
        }

        var metadata = Options.MetadataColumns.Length == 0
            ? "'{}'"
            // Configured names are checked plain names (no quotes), so they are safe as string literals.
            : JsonObject(Options.MetadataColumns.Select((c, i) => ($"'{c}'", shape.Metadata[i])));
        command.CommandText = $"""
            SELECT {AsText(shape.Key)}, {AsText(shape.Mark)}, {(shape.Title is null ? "NULL" : AsText(shape.Title))}, {metadata},
                   {string.Join(", ", shape.Texts.Select(AsText))}
              FROM {shape.Table}
             WHERE {string.Join(" AND ", conditions)}
             ORDER BY {shape.Mark}, {shape.Key}
             LIMIT {Options.PageSize}
            """;

        var rows = new List<SourceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            var texts = new string?[shape.Texts.Count];
            for (var i = 0; i < texts.Length; i++)
            {
                texts[i] = reader.IsDBNull(4 + i) ? null : reader.GetString(4 + i);
            }

            rows.Add(new SourceRow(key, reader.IsDBNull(2) ? null : reader.GetString(2), texts, reader.GetString(3), new SyncMark(reader.GetString(1), key)));
        }

        return rows;
    }

    /// <summary>Every key of the table, as text, streamed (for the deleted-row check).</summary>
    /// <exception cref="SyncSourceException">The table or a column does not exist; the message names it.</exception>
    public async IAsyncEnumerable<string> ReadAllKeysAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var shape = _shape ??= await ResolveAsync(connection, cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AsText(shape.Key)} FROM {shape.Table}";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return reader.GetString(0);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Opens a connection for one page or key scan; a dialect may set session settings here.</summary>
    protected virtual async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>An identifier quoted for the dialect (<c>"name"</c>, <c>`name`</c>), quote characters inside doubled.</summary>
    protected abstract string Quote(string identifier);

    /// <summary>An expression converted to the dialect's text type.</summary>
    protected abstract string AsText(string expression);

    /// <summary>A text parameter converted to a column's type for the keyset comparison.</summary>
    /// <param name="parameter">The parameter's placeholder, for example <c>@mark</c>.</param>
    /// <param name="columnType">The column's type as <see cref="CatalogCommand"/> gave it.</param>
    protected abstract string CastParameter(string parameter, string columnType);

    /// <summary>An expression giving a JSON object, as text, of the given (string literal key, value expression) pairs.</summary>
    protected abstract string JsonObject(IEnumerable<(string Key, string Value)> members);

    /// <summary>
    /// The condition that leaves out rows whose mark is younger than <paramref name="seconds"/>, or null when the mark
    /// column is not a timestamp (the lag does not apply).
    /// </summary>
    protected abstract string? LagCondition(string mark, string markType, int seconds);

    /// <summary>Whether a column name from the catalog is the configured one, as the database compares unquoted names.</summary>
    protected abstract bool SameName(string catalogName, string configuredName);

    /// <summary>
    /// A catalog query over <paramref name="connection"/> listing the configured table's columns in column order, one row
    /// each: schema, table, column name and column type, all text; no rows when the table does not exist.
    /// </summary>
    protected abstract DbCommand CatalogCommand(DbConnection connection);

    private static string AddText(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.String;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return "@" + name;
    }

    private async Task<Shape> ResolveAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var table = "";
        var columns = new List<(string Name, string Type)>();
        await using (var command = CatalogCommand(connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                table = Quote(reader.GetString(0)) + "." + Quote(reader.GetString(1));
                columns.Add((reader.GetString(2), reader.GetString(3)));
            }
        }

        if (columns.Count == 0)
        {
            throw new SyncSourceException($"Table {Options.Table} does not exist in the source database (or has no columns).");
        }

        (string Name, string Type)? Find(string configured) =>
            columns.Any(c => c.Name == configured) ? columns.First(c => c.Name == configured)
            : columns.Where(c => SameName(c.Name, configured)).Select(c => ((string, string)?)c).FirstOrDefault();

        var wanted = new[] { Options.KeyColumn!, Options.EffectiveMarkColumn }.Concat(Options.EffectiveTextColumns).Concat(Options.MetadataColumns)
            .Concat(Options.TitleColumn is null ? [] : [Options.TitleColumn]);
        var missing = wanted.Where(c => Find(c) is null).Distinct().ToList();
        if (missing.Count > 0)
        {
            throw new SyncSourceException($"Table {Options.Table} has no column {string.Join(", ", missing)}; it has {string.Join(", ", columns.Select(c => c.Name))}.");
        }

        string Quoted(string configured) => Quote(Find(configured)!.Value.Name);
        return new Shape(table, Quoted(Options.KeyColumn!), Find(Options.KeyColumn!)!.Value.Type, Quoted(Options.EffectiveMarkColumn), Find(Options.EffectiveMarkColumn)!.Value.Type,
            Options.TitleColumn is null ? null : Quoted(Options.TitleColumn), Options.EffectiveTextColumns.Select(Quoted).ToList(), Options.MetadataColumns.Select(Quoted).ToList());
    }

    // The table and columns as the query writes them (quoted catalog names), and the key's and mark's types.
    private sealed record Shape(string Table, string Key, string KeyType, string Mark, string MarkType, string? Title, IReadOnlyList<string> Texts, IReadOnlyList<string> Metadata);
}
