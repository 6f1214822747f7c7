using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.VectorStore;

/// <summary>
/// Registers the PostgreSQL data source and the stores. This stands in for
/// <c>Npgsql.DependencyInjection</c>/<c>Aspire.Npgsql</c>, which do not restore on this project's
/// machines: one singleton <see cref="NpgsqlDataSource"/> built from <c>ConnectionStrings:vectordb</c>.
/// </summary>
public static class VectorStoreExtensions
{
    /// <summary>Configuration key of the database (Aspire database resource name <c>vectordb</c>).</summary>
    public const string ConnectionStringName = ResourceNames.VectorDb;

    /// <summary>Adds the data source, <see cref="SchemaMigrator"/>, the stores and a <c>postgres</c> readiness check.</summary>
    /// <exception cref="InvalidOperationException">The connection string is missing.</exception>
    public static IHostApplicationBuilder AddVectorStore(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} is not set. Give the PostgreSQL database as " +
                $"ConnectionStrings__{ConnectionStringName}=\"Host=127.0.0.1;Port=5432;Database=vectordb;Username=postgres\"");

        builder.Services.AddSingleton(services =>
        {
            var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString);
            dataSourceBuilder.UseLoggerFactory(services.GetRequiredService<ILoggerFactory>());
            return dataSourceBuilder.Build();
        });
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.AddSingleton<EmbeddingModelStore>();
        builder.Services.AddSingleton<DocumentStore>();
        builder.Services.AddSingleton<EmbeddingStore>();
        builder.Services.AddSingleton<DeliveryStore>();
        builder.Services.AddSingleton<ChunkSearch>();
        builder.Services.AddSingleton<PipelineStatistics>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Applies pending migrations, retrying while the database is unreachable (it may still be
    /// starting) for up to <paramref name="timeout"/> (60 s by default), logging each failed attempt.
    /// </summary>
    /// <exception cref="TimeoutException">The database stayed unreachable for the whole timeout.</exception>
    public static async Task MigrateVectorStoreAsync(this IServiceProvider services, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var migrator = services.GetRequiredService<SchemaMigrator>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(VectorStoreExtensions));
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var applied = await migrator.MigrateAsync(cancellationToken);
                logger.LogInformation("Schema is up to date ({Applied} migrations applied now)", applied);
                return;
            }
            catch (NpgsqlException ex) when (ex.IsTransient || ex.InnerException is System.Net.Sockets.SocketException)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"PostgreSQL stayed unreachable for {timeout ?? TimeSpan.FromSeconds(60)}: {ex.Message}", ex);
                }

                logger.LogWarning("PostgreSQL not reachable yet (attempt {Attempt}): {Message}", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), cancellationToken);
            }
        }
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL is unreachable", ex);
            }
        }
    }
}
