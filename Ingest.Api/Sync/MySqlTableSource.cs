using System.Data.Common;
using System.Text.RegularExpressions;
using MySqlConnector;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// The MySQL and MariaDB dialect of <see cref="TableSource"/> (kind <c>mysql</c>), read with MySqlConnector:
/// identifiers in backticks, the table found in <c>information_schema.COLUMNS</c> (<c>database.table</c>, or the
/// connection's database for a bare name; column names compared case-insensitively, as MySQL does), values read as
/// <c>CAST(... AS CHAR)</c>, the last mark and key cast back to the column's type (<c>SIGNED</c>, <c>UNSIGNED</c>,
/// <c>DECIMAL(p,s)</c>, <c>DATETIME(6)</c>, ...; string columns compared in their own collation). Every connection
/// uses the session time zone UTC (<c>SET time_zone = '+00:00'</c>), so <c>TIMESTAMP</c> marks have one text form
/// and the mark lag on <c>DATETIME</c> and <c>TIMESTAMP</c> marks is measured against UTC.
/// </summary>
public sealed partial class MySqlTableSource : TableSource
{
    /// <summary>Creates the reader; connects on first use.</summary>
    /// <exception cref="ArgumentException">The connection string is not a valid MySqlConnector connection string.</exception>
    public MySqlTableSource(TableSyncOptions options)
        : base(options, new MySqlDataSource(options.ConnectionString!))
    {
    }

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = await base.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SET time_zone = '+00:00'";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    protected override string Quote(string identifier) => "`" + identifier.Replace("`", "``", StringComparison.Ordinal) + "`";

    /// <inheritdoc />
    protected override string AsText(string expression) => $"CAST({expression} AS CHAR)";

    /// <inheritdoc />
    protected override string CastParameter(string parameter, string columnType)
    {
        var type = columnType.ToLowerInvariant();
        var baseType = BaseType().Match(type).Value;
        return baseType switch
        {
            "tinyint" or "smallint" or "mediumint" or "int" or "integer" or "bigint" or "year" =>
                $"CAST({parameter} AS {(type.Contains("unsigned", StringComparison.Ordinal) ? "UNSIGNED" : "SIGNED")})",
            "decimal" or "numeric" => $"CAST({parameter} AS DECIMAL{Precision().Match(type).Value})",
            "float" or "double" or "real" => $"CAST({parameter} AS DOUBLE)",
            "datetime" or "timestamp" => $"CAST({parameter} AS DATETIME(6))",
            "date" => $"CAST({parameter} AS DATE)",
            "time" => $"CAST({parameter} AS TIME(6))",
            // Strings (and anything else) compare as the column's own collation orders them.
            _ => parameter,
        };
    }

    /// <inheritdoc />
    protected override string JsonObject(IEnumerable<(string Key, string Value)> members) =>
        "CAST(JSON_OBJECT(" + string.Join(", ", members.Select(m => $"{m.Key}, {m.Value}")) + ") AS CHAR)";

    /// <inheritdoc />
    protected override string? LagCondition(string mark, string markType, int seconds) =>
        BaseType().Match(markType.ToLowerInvariant()).Value is "datetime" or "timestamp" ? $"{mark} < NOW(6) - INTERVAL {seconds} SECOND" : null;

    /// <inheritdoc />
    protected override bool SameName(string catalogName, string configuredName) => string.Equals(catalogName, configuredName, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    protected override DbCommand CatalogCommand(DbConnection connection)
    {
        var dot = Options.Table!.IndexOf('.', StringComparison.Ordinal);
        var command = connection.CreateCommand();
        command.CommandText = """
            SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE
              FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = COALESCE(@schema, DATABASE()) AND TABLE_NAME = @table
             ORDER BY ORDINAL_POSITION
            """;
        command.Parameters.Add(new MySqlParameter("schema", dot < 0 ? DBNull.Value : Options.Table[..dot]));
        command.Parameters.Add(new MySqlParameter("table", dot < 0 ? Options.Table : Options.Table[(dot + 1)..]));
        return command;
    }

    [GeneratedRegex(@"^[a-z]+")]
    private static partial Regex BaseType();

    [GeneratedRegex(@"\(\d+(,\d+)?\)")]
    private static partial Regex Precision();
}
