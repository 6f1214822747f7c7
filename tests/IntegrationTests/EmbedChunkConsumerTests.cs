using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Offline;
using VectorPipeline.EmbedWorker.Consumers;
using VectorPipeline.EmbedWorker.Extensions;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>The Embed.Worker composition, hosted in-process against the real PostgreSQL and RabbitMQ.</summary>
public class EmbedChunkConsumerTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_message_delivered_twice_stores_one_embedding_and_embeds_once()
    {
        var database = await servers.NewDatabaseAsync();
        var counting = new CountingGenerator(new OfflineEmbeddingGenerator(384));
        using var handled = new HandledMessages();
        using var host = await StartWorkerAsync(database, counting);
        var chunk = (await host.Services.GetRequiredService<DocumentStore>()
            .UpsertAsync(new DocumentToStore("doc", null, null, "{}", ["The Broncos won Super Bowl 50."]), Token))[0];
        var bus = host.Services.GetRequiredService<IBus>();

        await bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await handled.WaitForAsync(1);
        await bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await handled.WaitForAsync(3);

        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM embeddings WHERE chunk_id = $1");
        count.Parameters.AddWithValue(chunk.Id);
        Assert.Equal(1L, await count.ExecuteScalarAsync(Token));
        Assert.Equal(1, counting.TextsEmbedded);
        await host.StopAsync(Token);
    }

    [Fact]
    public async Task A_message_for_a_deleted_document_embeds_nothing()
    {
        var database = await servers.NewDatabaseAsync();
        var counting = new CountingGenerator(new OfflineEmbeddingGenerator(384));
        using var handled = new HandledMessages();
        using var host = await StartWorkerAsync(database, counting);
        var documents = host.Services.GetRequiredService<DocumentStore>();
        var chunk = (await documents.UpsertAsync(new DocumentToStore("gone", null, null, "{}", ["soon deleted"]), Token))[0];
        await documents.DeleteAsync("gone", Token);

        await host.Services.GetRequiredService<IBus>().Publish(new EmbedChunk("gone", chunk.Id), Token);
        await handled.WaitForAsync(1);

        Assert.Equal(0, counting.TextsEmbedded);
        await host.StopAsync(Token);
    }

    private async Task<IHost> StartWorkerAsync(string database, IEmbeddingGenerator<string, Embedding<float>> generator)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:vectordb"] = database,
            ["ConnectionStrings:messaging"] = servers.RabbitMq.ConnectionString,
            ["Embedding:BatchTimeLimitMs"] = "50",
        });
        builder.AddApplicationServices();
        builder.Services.AddSingleton(generator);
        var host = builder.Build();
        await host.Services.PrepareVectorStoreAsync(Token);
        await host.StartAsync(Token);
        return host;
    }

    private sealed class CountingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        private int _texts;

        public int TextsEmbedded => Volatile.Read(ref _texts);

        public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = values.ToList();
            Interlocked.Add(ref _texts, list.Count);
            return base.GenerateAsync(list, options, cancellationToken);
        }
    }

    /// <summary>Counts chunk messages the consumer finished with (embedded or skipped), from its own meter.</summary>
    private sealed class HandledMessages : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _handled;

        public HandledMessages()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EmbedChunkBatchConsumer.MeterName && instrument.Name is "vectorpipeline.chunks.embedded" or "vectorpipeline.chunks.skipped")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _handled, value));
            _listener.Start();
        }

        public async Task WaitForAsync(long count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Interlocked.Read(ref _handled) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {Interlocked.Read(ref _handled)} of {count} chunk messages handled within 30 s");
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
