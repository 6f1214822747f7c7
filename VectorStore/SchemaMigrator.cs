using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace VectorPipeline.VectorStore;

/// <summary>
/// Applies the versioned SQL migrations embedded in this assembly (<c>Migrations/NNNN_name.sql</c>),
/// each in its own transaction, and records them in <c>schema_migrations</c>. Every service calls it at
/// start; a PostgreSQL advisory lock serialises them, so each migration runs exactly once even when
/// all services start at the same moment.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    /// <summary>Advisory lock key shared by every process that migrates this database.</summary>
    public const long AdvisoryLockKey = 0x5650_4D49_4752_4154; // "VPMIGRAT"

    /// <summary>The migrations this build knows, in version order.</summary>
    public static IReadOnlyList<Migration> Migrations { get; } = LoadMigrations();

    /// <summary>Applies the migrations not yet recorded. Returns how many this call applied (0 when up to date).</summary>
    /// <exception cref="NpgsqlException">The database is unreachable or a migration failed (its transaction is rolled back).</exception>
    /// <exception cref="InvalidOperationException">The database holds a newer schema version than this build knows.</exception>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken);

            var applied = new HashSet<int>();
            await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var newest = Migrations.Count == 0 ? 0 : Migrations[^1].Version;
            if (applied.Count > 0 && applied.Max() > newest)
            {
                throw new InvalidOperationException(
                    $"The database is at schema version {applied.Max()}, newer than this build's {newest}: upgrade this service.");
            }

            var count = 0;
            foreach (var migration in Migrations.Where(m => !applied.Contains(m.Version)))
            {
                logger.LogInformation("Applying schema migration {Version} {Name}", migration.Version, migration.Name);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
                await using (var record = new NpgsqlCommand(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection, transaction))
                {
                    record.Parameters.AddWithValue(migration.Version);
                    record.Parameters.AddWithValue(migration.Name);
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                count++;
            }

            // Types created by a migration (vector) must be visible to connections opened from now on; also when another
            // process applied it, since this data source loaded its types with its first connection, possibly before.
            await connection.ReloadTypesAsync(cancellationToken);

            return count;
        }
        finally
        {
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static List<Migration> LoadMigrations()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Migrations.", StringComparison.Ordinal)))
        {
            var fileName = resource["Migrations.".Length..^".sql".Length];
            var separator = fileName.IndexOf('_');
            var version = int.Parse(fileName[..separator], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, fileName[(separator + 1)..], reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }
}

/// <summary>One versioned schema change.</summary>
/// <param name="Version">Sequence number from the file name (<c>0001</c> → 1).</param>
/// <param name="Name">The rest of the file name (<c>initial_schema</c>).</param>
/// <param name="Sql">The SQL script, run in one transaction.</param>
public sealed record Migration(int Version, string Name, string Sql);
