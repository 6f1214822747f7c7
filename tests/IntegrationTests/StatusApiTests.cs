using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary><c>GET /status</c> against a real Ingest.Api process, PostgreSQL and RabbitMQ (no worker runs, so messages wait).</summary>
[Collection(ServersFixture.BrokerCollection)]
public class StatusApiTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Status_reports_the_queue_depth_document_totals_and_recent_failures()
    {
        await servers.PurgeChunkQueueAsync();
        var database = await servers.NewDatabaseAsync();
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = database,
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
        });
        using var http = new HttpClient { BaseAddress = ingest.Url };
        var chunks = 0;
        foreach (var (id, text) in new[] { ("a", "First document."), ("b", "Second document, with more words in it.") })
        {
            var posted = await (await http.PostAsJsonAsync("/documents", new { id, text }, Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
            chunks += posted.GetProperty("queued").GetInt32();
        }

        var status = await http.GetFromJsonAsync<JsonElement>("/status", Token);

        var queue = status.GetProperty("queue");
        Assert.Equal(("embed-chunk", chunks, 0, 0L), (queue.GetProperty("name").GetString(), queue.GetProperty("messages").GetInt32(),
            queue.GetProperty("consumers").GetInt32(), queue.GetProperty("deadLetters").GetInt64()));
        Assert.Equal("hashing-ngram-v1@384", status.GetProperty("activeModel").GetString());
        Assert.Equal("""{"total":2,"ready":0,"failed":0,"failedChunks":0}""", status.GetProperty("documents").GetRawText());
        Assert.Equal(0, status.GetProperty("recentFailures").GetArrayLength());

        // A recorded failure of document b's only chunk: b is failed, and the failure is listed.
        await using (var dataSource = VectorStoreExtensions.CreateDataSource(database))
        await using (var fail = dataSource.CreateCommand("""
            INSERT INTO embedding_errors (chunk_id, model_id, error)
            SELECT c.id, m.id, 'http 400: input too long' FROM chunks c, embedding_models m WHERE c.document_id = 'b' AND m.active
            """))
        {
            Assert.Equal(1, await fail.ExecuteNonQueryAsync(Token));
        }

        status = await http.GetFromJsonAsync<JsonElement>("/status", Token);
        Assert.Equal("""{"total":2,"ready":0,"failed":1,"failedChunks":1}""", status.GetProperty("documents").GetRawText());
        var failure = Assert.Single(status.GetProperty("recentFailures").EnumerateArray());
        Assert.Equal(("b", "hashing-ngram-v1@384", "http 400: input too long"),
            (failure.GetProperty("documentId").GetString(), failure.GetProperty("model").GetString(), failure.GetProperty("error").GetString()));
        await servers.PurgeChunkQueueAsync();
    }
}
