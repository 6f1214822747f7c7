using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Ingest.Sync;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Sync from a table of a second PostgreSQL database: the scenarios every kind of source passes
/// (<see cref="TableSyncScenarios"/>), the replacement of documents an earlier version stored under bare keys, and
/// once through a real Ingest.Api process.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class TableSyncTests(ServersFixture servers) : TableSyncScenarios(servers)
{
    /// <inheritdoc />
    protected override async Task<ISourceDatabase> NewSourceAsync()
    {
        var source = new PostgresSource(await Servers.NewDatabaseAsync());
        await source.ExecuteAsync("CREATE TABLE articles (id integer PRIMARY KEY, title text, body text, answer text, category text, updated_at timestamptz NOT NULL)");
        return source;
    }

    /// <inheritdoc />
    protected override string MarkTextSql(string timestamp) => $"SELECT '{timestamp}'::timestamptz::text";

    [Fact]
    public async Task Documents_an_earlier_version_stored_under_bare_keys_are_read_again_under_the_source_prefix_and_the_bare_ones_deleted()
    {
        await using var db = await NewSourceAsync();
        var vectorStore = await NewVectorStoreAsync();
        var options = Options(db, o => o.PageSize = 2);
        var sink = new RecordingSink();
        TableSyncService NewProcess() => new(new Dictionary<string, TableSyncOptions> { ["articles"] = options }, _ => sink, vectorStore, NullLogger<TableSyncService>.Instance);
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) SELECT i, 'text ' || i, now() - interval '1 hour' FROM generate_series(1, 3) i");
        await NewProcess().SyncOnceAsync("articles", cancellationToken: Token);
        // What an earlier version left: the mark past every row, the documents under the bare keys; and a posted document.
        sink.Documents.Clear();
        foreach (var key in new[] { "1", "2", "3" })
        {
            sink.Documents[key] = new IncomingDocument(key, null, "text " + key, "articles", "{}");
        }

        sink.Documents["posted"] = new IncomingDocument("posted", null, "posted by hand", "elsewhere", "{}");
        sink.Calls.Clear();
        var upgraded = NewProcess();

        var pass = await upgraded.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal((3, 3, 3), (pass.Rows, pass.Accepted, pass.Deleted));
        Assert.Equal(["articles/1", "articles/2", "articles/3", "posted"], sink.Documents.Keys.Order());
        Assert.Equal(0, (await upgraded.SyncOnceAsync("articles", cancellationToken: Token)).Rows);
    }

    [Fact]
    public async Task Ingest_api_syncs_a_configured_table_into_documents()
    {
        await using var sourceDb = (PostgresSource)await NewSourceAsync();
        await sourceDb.ExecuteAsync("INSERT INTO articles (id, title, body, updated_at) VALUES (1, 'Sync', 'Rows become documents.', now() - interval '1 minute')");
        await Servers.PurgeChunkQueueAsync();
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await Servers.NewDatabaseAsync(),
            ["ConnectionStrings__messaging"] = Servers.RabbitMq.ConnectionString,
            ["Sync__Sources__articles__ConnectionString"] = sourceDb.ConnectionString,
            ["Sync__Sources__articles__Table"] = "public.articles",
            ["Sync__Sources__articles__KeyColumn"] = "id",
            ["Sync__Sources__articles__TitleColumn"] = "title",
            ["Sync__Sources__articles__TextColumn"] = "body",
            ["Sync__Sources__articles__MarkColumn"] = "updated_at",
            ["Sync__Sources__articles__IntervalSeconds"] = "1",
        });
        using var http = new HttpClient { BaseAddress = ingest.Url };

        var status = await PollAsync(http, "/documents/articles/1");
        Assert.Equal(("Sync", 1), (status.GetProperty("title").GetString(), status.GetProperty("chunks").GetProperty("total").GetInt32()));
        await sourceDb.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES (2, 'A second row.', now() - interval '1 minute')");
        Assert.Equal(1, (await PollAsync(http, "/documents/articles/2")).GetProperty("chunks").GetProperty("total").GetInt32());
        var source = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/status", Token)).GetProperty("sync").EnumerateArray());
        Assert.Equal(("articles", "postgres", "ok"), (source.GetProperty("name").GetString(), source.GetProperty("kind").GetString(), source.GetProperty("state").GetString()));
        await Servers.PurgeChunkQueueAsync();
    }

    /// <summary>Polls a GET until it answers 200; its body.</summary>
    /// <exception cref="TimeoutException">No 200 within 20 s.</exception>
    internal static async Task<JsonElement> PollAsync(HttpClient http, string path)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var response = await http.GetAsync(path, Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadFromJsonAsync<JsonElement>(Token);
            }

            await Task.Delay(200, Token);
        }

        throw new TimeoutException($"{path} did not appear within 20 s");
    }

    private sealed class PostgresSource(string connectionString) : ISourceDatabase
    {
        private readonly NpgsqlDataSource _dataSource = VectorStoreExtensions.CreateDataSource(connectionString);

        public string Kind => TableSyncOptions.PostgresKind;

        public string ConnectionString => connectionString;

        public async Task ExecuteAsync(string sql)
        {
            await using var command = _dataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(Token);
        }

        public async Task<string> ScalarAsync(string sql)
        {
            await using var command = _dataSource.CreateCommand(sql);
            return (string)(await command.ExecuteScalarAsync(Token))!;
        }

        public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
    }
}
