using Npgsql;
using VectorPipeline.TestServers;

[assembly: AssemblyFixture(typeof(VectorPipeline.IntegrationTests.ServersFixture))]

namespace VectorPipeline.IntegrationTests;

/// <summary>One PostgreSQL and one RabbitMQ for the whole assembly; each test takes its own database.</summary>
public sealed class ServersFixture : IAsyncLifetime
{
    /// <summary>
    /// Collection of the tests that publish chunk messages or host a worker: they run one after another, because
    /// chunk ids restart in every test database (a message left by one test would name a chunk of the next) and
    /// the worker's meter, which the tests read, is shared by every worker in the process.
    /// </summary>
    public const string BrokerCollection = "shared embed-chunk queue";

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

    /// <summary>Drops every message waiting in the shared broker's <c>embed-chunk</c> queue (none if it does not exist yet).</summary>
    public async Task PurgeChunkQueueAsync()
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(RabbitMq.ConnectionString) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueuePurgeAsync(VectorPipeline.Messaging.Contracts.EmbedChunk.QueueName);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // The queue does not exist yet: nothing to drop.
        }
    }

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
