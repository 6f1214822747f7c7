using Npgsql;
using VectorPipeline.TestServers;

[assembly: AssemblyFixture(typeof(VectorPipeline.IntegrationTests.ServersFixture))]

namespace VectorPipeline.IntegrationTests;

/// <summary>One PostgreSQL and one RabbitMQ for the whole assembly; each test takes its own database.</summary>
public sealed class ServersFixture : IAsyncLifetime
{
    private int _databases;

    public PostgresServer Postgres { get; private set; } = null!;

    public RabbitMqServer RabbitMq { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync();
        var rabbit = RabbitMqServer.StartAsync();
        Postgres = await postgres;
        RabbitMq = await rabbit;
    }

    /// <summary>A new empty database; tests never share one.</summary>
    public Task<string> NewDatabaseAsync() => Postgres.CreateDatabaseAsync($"test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():n}"[..30]);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (RabbitMq is not null)
        {
            await RabbitMq.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }
}
