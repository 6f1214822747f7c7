using VectorPipeline.TestServers;

namespace VectorPipeline.Benchmarks;

/// <summary>The databases the parts run in.</summary>
public static class BenchmarkDatabase
{
    /// <summary>Environment variable of Npgsql settings added to every part's connection string (services and the benchmark's own queries alike), to compare them, for example <c>Max Auto Prepare=0</c>.</summary>
    public const string NpgsqlOptionsVariable = "VP_BENCH_NPGSQL_OPTIONS";

    /// <summary>Creates database <paramref name="name"/> on <paramref name="postgres"/> and returns its connection string, with <see cref="NpgsqlOptionsVariable"/>'s settings when set.</summary>
    public static async Task<string> CreateAsync(PostgresServer postgres, string name)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        var connectionString = await postgres.CreateDatabaseAsync(name);
        return Environment.GetEnvironmentVariable(NpgsqlOptionsVariable) is { Length: > 0 } extra ? connectionString + ";" + extra : connectionString;
    }
}
