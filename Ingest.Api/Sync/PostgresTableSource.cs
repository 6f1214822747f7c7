using System.Data.Common;
using Npgsql;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// The PostgreSQL dialect of <see cref="TableSource"/> (kind <c>postgres</c>), read with Npgsql: identifiers in double
/// quotes, the table found with <c>to_regclass</c> (so an unqualified name follows the connection's
/// <c>search_path</c> and unquoted names fold to lower case, as in a hand-written query), marks and keys in their
/// types' text form, the mark lag on <c>timestamp</c> and <c>timestamptz</c> marks.
/// </summary>
public sealed class PostgresTableSource : TableSource
{
    /// <summary>Creates the reader; connects on first use.</summary>
    /// <exception cref="ArgumentException">The connection string is not a valid Npgsql connection string.</exception>
    public PostgresTableSource(TableSyncOptions options)
        : base(options, NpgsqlDataSource.Create(options.ConnectionString!))
    {
    }

    /// <inheritdoc />
    protected override string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <inheritdoc />
    protected override string AsText(string expression) => $"({expression})::text";

    /// <inheritdoc />
    protected override string CastParameter(string parameter, string columnType) => $"({parameter})::text::{columnType}";

    /// <inheritdoc />
    protected override string JsonObject(IEnumerable<(string Key, string Value)> members) =>
        "jsonb_build_object(" + string.Join(", ", members.Select(m => $"{m.Key}::text, {m.Value}")) + ")::text";

    /// <inheritdoc />
    protected override string? LagCondition(string mark, string markType, int seconds) =>
        markType.StartsWith("timestamp", StringComparison.Ordinal) ? $"{mark} < now() - make_interval(secs => {seconds})" : null;

    /// <inheritdoc />
    protected override bool SameName(string catalogName, string configuredName) => catalogName == configuredName.ToLowerInvariant();

    /// <inheritdoc />
    protected override DbCommand CatalogCommand(DbConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText = """
            SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.oid = to_regclass(@table) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """;
        command.Parameters.Add(new NpgsqlParameter("table", Options.Table!));
        return command;
    }
}
