using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pgvector.Npgsql;
using VectorPipeline.VectorStore.Indexing;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.VectorStore;

/// <summary>
/// Registers the PostgreSQL data source (Aspire.Npgsql, from <c>ConnectionStrings:vectordb</c>, with pgvector's
/// <c>vector</c> type mapped) and the stores.
/// </summary>
public static class VectorStoreExtensions
{
    /// <summary>Configuration key of the database (Aspire database resource name <c>vectordb</c>).</summary>
    public const string ConnectionStringName = ResourceNames.VectorDb;

    /// <summary>
    /// Adds the data source with Aspire.Npgsql (its <c>PostgreSql</c> health check, Npgsql's traces and metrics; settings
    /// in <c>Aspire:Npgsql</c>), configured by <see cref="ConfigureDataSource"/>, then <see cref="SchemaMigrator"/> and the stores.
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection string is missing.</exception>
    public static IHostApplicationBuilder AddVectorStore(this IHostApplicationBuilder builder)
    {
        _ = builder.Configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} is not set. Give the PostgreSQL database as " +
                $"ConnectionStrings__{ConnectionStringName}=\"Host=127.0.0.1;Port=5432;Database=vectordb;Username=postgres\"");

        builder.AddNpgsqlDataSource(ConnectionStringName, configureDataSourceBuilder: ConfigureDataSource);
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.AddSingleton<VectorIndexBuilder>();
        builder.Services.AddSingleton<EmbeddingModelStore>();
        builder.Services.AddSingleton<DocumentStore>();
        builder.Services.AddSingleton<EmbeddingStore>();
        builder.Services.AddSingleton<DeliveryStore>();
        builder.Services.AddSingleton<ChunkSearch>();
        builder.Services.AddSingleton<PipelineStatistics>();
        return builder;
    }

    /// <summary>
    /// What every data source of the vector store needs beyond the connection string: pgvector's <c>vector</c> type
    /// mapped to <see cref="Pgvector.Vector"/> (binary COPY, parameters and results). Used by <see cref="AddVectorStore"/>
    /// and by tools and tests that build their own data source (<see cref="CreateDataSource"/>).
    /// </summary>
    public static void ConfigureDataSource(NpgsqlDataSourceBuilder dataSourceBuilder)
    {
        ArgumentNullException.ThrowIfNull(dataSourceBuilder);
        dataSourceBuilder.UseVector();
    }

    /// <summary>A data source outside dependency injection (tools, benchmarks, tests), configured as the services' is.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString);
        ConfigureDataSource(dataSourceBuilder);
        return dataSourceBuilder.Build();
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
}
