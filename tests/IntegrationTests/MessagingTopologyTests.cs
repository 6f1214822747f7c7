using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using RabbitMQ.Client;
using VectorPipeline.Embeddings;
using VectorPipeline.EmbedWorker.Extensions;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>Broker topology, on a RabbitMQ of its own that no worker has ever connected to.</summary>
[Collection(ServersFixture.BrokerCollection)]
public class MessagingTopologyTests(ServersFixture servers)
{
    [Fact]
    public async Task Chunks_published_before_any_worker_ever_started_wait_in_the_queue_and_are_embedded_once()
    {
        var token = TestContext.Current.CancellationToken;
        await using var rabbit = await RabbitMqServer.StartAsync();
        var database = await servers.NewDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = rabbit.ConnectionString,
            ["ConnectionStrings:vectordb"] = database,
            ["Embedding:BatchTimeLimitMs"] = "50",
            ["Embedding:Provider"] = "hashing", // a test of delivery: the fast lexical embedder
        };

        // Ingest's side: store a document and publish its chunks while no worker exists.
        var publisherBuilder = Host.CreateApplicationBuilder();
        publisherBuilder.Configuration.AddInMemoryCollection(settings);
        publisherBuilder.AddVectorStore();
        publisherBuilder.AddEmbeddings();
        publisherBuilder.AddMessaging();
        // (Disposed only at the end: MassTransit keeps the first bus's logger factory in a static log context.)
        using var publisher = publisherBuilder.Build();
        await publisher.Services.PrepareVectorStoreAsync(token);
        await publisher.StartAsync(token);
        var stored = await publisher.Services.GetRequiredService<DocumentStore>()
            .UpsertAsync(new DocumentToStore("early", null, null, "{}", ["published before any worker", "and waiting in the queue"]), token);
        await publisher.Services.GetRequiredService<IBus>().PublishBatch(stored.ChunksToEmbed.Select(c => new EmbedChunk("early", c)), token);
        await publisher.StopAsync(token);

        var factory = new ConnectionFactory { Uri = new Uri(rabbit.ConnectionString) };
        await using (var connection = await factory.CreateConnectionAsync(token))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: token))
        {
            Assert.Equal(2u, (await channel.QueueDeclarePassiveAsync(EmbedChunk.QueueName, token)).MessageCount);
        }

        // The first worker declares its own topology on top (same queue, same arguments) and consumes them.
        var workerBuilder = Host.CreateApplicationBuilder();
        workerBuilder.Configuration.AddInMemoryCollection(settings);
        workerBuilder.AddApplicationServices();
        using var worker = workerBuilder.Build();
        await worker.Services.PrepareVectorStoreAsync(token);
        await worker.StartAsync(token);
        await using var dataSource = VectorStoreExtensions.CreateDataSource(database);
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM embeddings");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((long)(await count.ExecuteScalarAsync(token))! < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the chunks published before the worker started were not embedded within 30 s");
            await Task.Delay(100, token);
        }

        await worker.StopAsync(token);

        // Two bindings now lead from the message exchange to the queue (ours, and the worker's through its
        // own exchange): a message published to it still lands in the queue once.
        await using (var connection = await factory.CreateConnectionAsync(token))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: token))
        {
            await channel.BasicPublishAsync("VectorPipeline.Messaging.Contracts:EmbedChunk", "", new byte[] { 1 }, token);
            await Task.Delay(500, token);
            Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(EmbedChunk.QueueName, token)).MessageCount);
        }

        Assert.Equal(2L, await count.ExecuteScalarAsync(token));
    }
}
