using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using VectorPipeline.Embeddings;
using VectorPipeline.EmbedWorker.Consumers;
using VectorPipeline.EmbedWorker.Extensions;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// The Embed.Worker composition, hosted in-process against the real PostgreSQL and RabbitMQ, embedding
/// through the custom HTTP provider against a local model server that counts the texts it embeds.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class EmbedChunkConsumerTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_message_delivered_three_times_stores_one_embedding_and_embeds_once()
    {
        await using var worker = await WorkerAsync();
        var chunk = (await worker.Documents.UpsertAsync(new DocumentToStore("doc", null, null, "{}", ["The Broncos won Super Bowl 50."]), Token)).Chunks[0];

        await worker.Bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await worker.Handled.WaitForAsync(1);
        await worker.Bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await worker.Bus.Publish(new EmbedChunk("doc", chunk.Id), Token);
        await worker.Handled.WaitForAsync(3);

        await using var count = worker.DataSource.CreateCommand("SELECT count(*) FROM embeddings WHERE chunk_id = $1");
        count.Parameters.AddWithValue(chunk.Id);
        Assert.Equal(1L, await count.ExecuteScalarAsync(Token));
        Assert.Equal(1, worker.Server.TextsEmbedded);
    }

    [Fact]
    public async Task A_message_for_a_deleted_document_embeds_nothing()
    {
        await using var worker = await WorkerAsync();
        var chunk = (await worker.Documents.UpsertAsync(new DocumentToStore("gone", null, null, "{}", ["soon deleted"]), Token)).Chunks[0];
        await worker.Documents.DeleteAsync("gone", Token);

        await worker.Bus.Publish(new EmbedChunk("gone", chunk.Id), Token);
        await worker.Handled.WaitForAsync(1);

        Assert.Equal(0, worker.Server.Requests);
    }

    [Fact]
    public async Task Only_new_texts_reach_the_provider_when_documents_are_reposted_edited_or_share_chunks()
    {
        await using var worker = await WorkerAsync();
        string[] paragraphs = ["Denver won Super Bowl 50.", "The game was played in Santa Clara.", "Beyonce sang at halftime."];

        await worker.PostAsync("a", paragraphs);
        Assert.Equal(3, worker.Server.TextsEmbedded);

        worker.Server.Reset();
        Assert.Equal(0, await worker.PostAsync("a", paragraphs));
        Assert.Equal(0, worker.Server.Requests);

        await worker.PostAsync("a", [paragraphs[0], "The game was played at Levi's Stadium.", paragraphs[2]]);
        Assert.Equal(["The game was played at Levi's Stadium."], worker.Server.ReceivedTexts);

        worker.Server.Reset();
        await worker.PostAsync("b", [paragraphs[2], "A new paragraph.", "A new paragraph."]);
        Assert.Equal(["A new paragraph."], worker.Server.ReceivedTexts);
        await using var count = worker.DataSource.CreateCommand("SELECT count(*) FROM embeddings e JOIN chunks c ON c.id = e.chunk_id WHERE c.document_id = 'b'");
        Assert.Equal(3L, await count.ExecuteScalarAsync(Token));
    }

    [Fact]
    public async Task Every_enabled_model_the_worker_is_configured_for_embeds_each_chunk_and_a_failing_one_is_retried_alone()
    {
        await using var second = await FakeEmbeddingServer.StartAsync(256);
        await using var worker = await WorkerAsync(new Dictionary<string, string?>
        {
            ["Embedding:Models:next:Provider"] = "http",
            ["Embedding:Models:next:Endpoint"] = second.BaseAddress.ToString(),
            ["Embedding:Models:next:Model"] = "fake-next",
            ["Embedding:Models:next:Dimensions"] = "256",
            ["Embedding:Models:next:MaxRetries"] = "0",
        });
        var models = worker.Host.Services.GetRequiredService<EmbeddingModelStore>();
        var primary = (await models.GetActiveAsync(Token))!;
        var next = (await models.FindAsync("fake-next@256", Token))!;
        await models.RequestBackfillAsync(next.Id, activateWhenComplete: false, Token);
        second.EnqueueFault(FakeFault.Status(500));

        await worker.PostAsync("doc", ["first paragraph", "second paragraph"]);

        Assert.Equal(2, worker.Server.TextsEmbedded);
        Assert.Equal(2, second.TextsEmbedded);
        await using var count = worker.DataSource.CreateCommand("SELECT model_id, count(*), min(dimensions) FROM embeddings GROUP BY model_id ORDER BY model_id");
        await using var reader = await count.ExecuteReaderAsync(Token);
        var rows = new List<(int, long, int)>();
        while (await reader.ReadAsync(Token))
        {
            rows.Add((reader.GetInt32(0), reader.GetInt64(1), reader.GetInt32(2)));
        }

        Assert.Equal([(primary.Id, 2L, 64), (next.Id, 2L, 256)], rows);
    }

    [Fact]
    public async Task A_permanent_provider_error_marks_the_chunks_failed_at_once_without_retrying()
    {
        await using var worker = await WorkerAsync();
        worker.Server.AlwaysFault = FakeFault.Status(401);

        await worker.PostAsync("refused", ["first paragraph", "second paragraph"]);

        Assert.Equal(1, worker.Server.Attempts);
        await using var errors = worker.DataSource.CreateCommand("SELECT count(DISTINCT chunk_id), min(error) FROM embedding_errors");
        await using var reader = await errors.ExecuteReaderAsync(Token);
        Assert.True(await reader.ReadAsync(Token));
        Assert.Equal(2L, reader.GetInt64(0));
        Assert.Contains("401", reader.GetString(1));
        var state = await worker.Documents.GetStateAsync("refused", await ActiveModelIdAsync(worker), Token);
        Assert.Equal(("failed", 2), (state!.Status, state.Chunks.Failed));
    }

    [Fact]
    public async Task A_batch_the_server_refuses_as_too_large_is_embedded_text_by_text()
    {
        await using var worker = await WorkerAsync(new Dictionary<string, string?> { ["Embedding:BatchTimeLimitMs"] = "500" });
        worker.Server.MaxBatchItemsAccepted = 1;

        await worker.PostAsync("large", ["one paragraph", "another paragraph", "a third paragraph"]);

        var state = await worker.Documents.GetStateAsync("large", await ActiveModelIdAsync(worker), Token);
        Assert.Equal(("ready", 3, 0), (state!.Status, state.Chunks.Embedded, state.Chunks.Failed));
    }

    private static async Task<int> ActiveModelIdAsync(Worker worker) =>
        (await worker.Host.Services.GetRequiredService<EmbeddingModelStore>().GetActiveAsync(Token))!.Id;

    private async Task<Worker> WorkerAsync(Dictionary<string, string?>? settings = null)
    {
        var server = await FakeEmbeddingServer.StartAsync(64);
        var database = await servers.NewDatabaseAsync();
        await servers.PurgeChunkQueueAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:vectordb"] = database,
            ["ConnectionStrings:messaging"] = servers.RabbitMq.ConnectionString,
            ["Embedding:BatchTimeLimitMs"] = "50",
            ["Embedding:RetryLimit"] = "2",
            ["Embedding:Provider"] = "http",
            ["Embedding:Endpoint"] = server.BaseAddress.ToString(),
            ["Embedding:Model"] = "fake-primary",
            ["Embedding:Dimensions"] = "64",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddApplicationServices();
        var host = builder.Build();
        await host.Services.PrepareVectorStoreAsync(Token);
        await host.StartAsync(Token);
        return new Worker(host, server, VectorStoreExtensions.CreateDataSource(database));
    }

    private sealed class Worker(IHost host, FakeEmbeddingServer server, NpgsqlDataSource dataSource) : IAsyncDisposable
    {
        private long _published;

        public IHost Host => host;

        public FakeEmbeddingServer Server => server;

        public NpgsqlDataSource DataSource => dataSource;

        public HandledMessages Handled { get; } = new();

        public DocumentStore Documents => host.Services.GetRequiredService<DocumentStore>();

        public IBus Bus => host.Services.GetRequiredService<IBus>();

        /// <summary>Stores the document as Ingest.Api does, publishes the chunks it reports as needing an embedding, waits until they are handled.</summary>
        public async Task<int> PostAsync(string id, string[] chunks)
        {
            var stored = await Documents.UpsertAsync(new DocumentToStore(id, null, null, "{}", chunks), Token);
            await Bus.PublishBatch(stored.ChunksToEmbed.Select(c => new EmbedChunk(id, c)), Token);
            _published += stored.ChunksToEmbed.Count;
            await Handled.WaitForAsync(_published);
            return stored.ChunksToEmbed.Count;
        }

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
            Handled.Dispose();
            await dataSource.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    /// <summary>Counts chunk messages the consumer finished with, from its own meter.</summary>
    private sealed class HandledMessages : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _handled;

        public HandledMessages()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EmbedChunkBatchConsumer.MeterName && instrument.Name == "vectorpipeline.messages.handled")
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
