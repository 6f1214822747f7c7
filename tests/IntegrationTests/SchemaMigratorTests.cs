using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

public class SchemaMigratorTests(ServersFixture servers)
{
    [Fact]
    public async Task Migrations_started_by_many_services_at_once_are_applied_once()
    {
        var connectionString = await servers.NewDatabaseAsync();
        var dataSources = Enumerable.Range(0, 6).Select(_ => VectorStoreExtensions.CreateDataSource(connectionString)).ToList();

        var applied = await Task.WhenAll(dataSources.Select(ds =>
            new SchemaMigrator(ds, NullLogger<SchemaMigrator>.Instance).MigrateAsync(TestContext.Current.CancellationToken)));

        Assert.Equal(SchemaMigrator.Migrations.Count, applied.Sum());
        Assert.Single(applied, count => count > 0);
        await using var command = dataSources[0].CreateCommand("SELECT count(*) FROM schema_migrations");
        Assert.Equal((long)SchemaMigrator.Migrations.Count, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        foreach (var dataSource in dataSources)
        {
            await dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task Running_migrations_again_changes_nothing()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        var migrator = new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance);

        Assert.Equal(SchemaMigrator.Migrations.Count, await migrator.MigrateAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await migrator.MigrateAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_model_registered_by_many_services_at_once_gets_one_row_and_one_hnsw_index()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(TestContext.Current.CancellationToken);
        var store = new EmbeddingModelStore(dataSource);

        var models = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => store.EnsureAsync("hashing", "m", 384, cancellationToken: TestContext.Current.CancellationToken)));

        Assert.Single(models.Select(m => m.Id).Distinct());
        await using var command = dataSource.CreateCommand(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'embeddings' AND indexname LIKE 'embeddings_hnsw_%'");
        var definition = (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        Assert.Contains("USING hnsw (((embedding)::vector(384)) vector_cosine_ops)", definition);
        Assert.Contains($"WHERE (model_id = {models[0].Id})", definition);
    }

    [Fact]
    public async Task Dimensions_beyond_the_hnsw_limit_are_refused_with_both_numbers()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            new EmbeddingModelStore(dataSource).EnsureAsync("hashing", "m", 3072, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("2000", error.Message);
        Assert.Contains("3072", error.Message);
    }
}
