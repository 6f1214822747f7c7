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
/// Sync from a table of a second PostgreSQL database: inserts, updates by an updated-at mark, a crash between
/// ingest and mark, deleted rows; the sync service in-process with a recording sink, and once through a real
/// Ingest.Api process.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class TableSyncTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // Another Ingest.Api process on the same databases and sink (set by SetUpAsync).
    private Func<TableSyncService>? _newProcess;

    [Fact]
    public async Task New_and_changed_rows_become_documents_and_the_mark_moves_only_past_accepted_pages()
    {
        var (source, service, sink, sourceDb) = await SetUpAsync(pageSize: 3);
        await using var _ = sourceDb;
        await ExecuteAsync(sourceDb, """
            INSERT INTO articles (id, title, body, category, updated_at)
            SELECT i, 'Article ' || i, 'Body of article ' || i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, '2026-01-01'::timestamptz + i * interval '1 minute'
              FROM generate_series(1, 7) i;
            INSERT INTO articles (id, title, body, updated_at) VALUES (8, 'Empty', NULL, '2026-01-01 01:00');
            """);

        var first = await service.SyncOnceAsync(source, cancellationToken: Token);

        Assert.Equal((8, 7, 1), (first.Rows, first.Accepted, first.Skipped));
        Assert.Equal("Body of article 4", sink.Documents["articles/4"].Text);
        Assert.Equal(("Article 4", "articles"), (sink.Documents["articles/4"].Title, sink.Documents["articles/4"].Source));
        Assert.Equal("even", JsonDocument.Parse(sink.Documents["articles/4"].MetadataJson).RootElement.GetProperty("category").GetString());
        Assert.Equal(0, (await service.SyncOnceAsync(source, cancellationToken: Token)).Rows);

        // An update moves the row past the mark; rows sharing one timestamp are all read (keyset on (mark, key)).
        await ExecuteAsync(sourceDb, "UPDATE articles SET body = 'Changed body', updated_at = '2026-02-01' WHERE id IN (2, 5)");
        sink.Calls.Clear();
        var second = await service.SyncOnceAsync(source, cancellationToken: Token);
        Assert.Equal((2, 2), (second.Rows, second.Accepted));
        Assert.Equal(["articles/2", "articles/5"], sink.Calls);
        Assert.Equal("Changed body", sink.Documents["articles/5"].Text);

        // A crash between ingest and mark: the sink dies on the second row of a page. The mark stays before the
        // page, so the next pass reads the whole page again instead of skipping its rows.
        await ExecuteAsync(sourceDb, "UPDATE articles SET body = body || '!', updated_at = '2026-03-01' WHERE id IN (1, 3, 6)");
        sink.Calls.Clear();
        sink.FailOnCall = 2;
        await Assert.ThrowsAsync<InvalidOperationException>(() => service.SyncOnceAsync(source, cancellationToken: Token));
        Assert.Equal(["articles/1", "articles/3"], sink.Calls);
        sink.FailOnCall = null;
        var retried = await service.SyncOnceAsync(source, cancellationToken: Token);
        Assert.Equal((3, 3), (retried.Rows, retried.Accepted));
        Assert.Equal(["articles/1", "articles/3", "articles/1", "articles/3", "articles/6"], sink.Calls);
        Assert.Equal("Body of article 6!", sink.Documents["articles/6"].Text);
    }

    [Fact]
    public async Task Deleted_rows_are_found_by_comparing_keys_and_their_documents_deleted()
    {
        var (source, service, sink, sourceDb) = await SetUpAsync(pageSize: 100);
        await using var _ = sourceDb;
        await ExecuteAsync(sourceDb, "INSERT INTO articles (id, body, updated_at) SELECT i, 'text ' || i, now() - interval '1 hour' FROM generate_series(1, 5) i");
        await service.SyncOnceAsync(source, cancellationToken: Token);
        sink.Documents["other"] = new IncomingDocument("other", null, "not from this source", "elsewhere", "{}");

        await ExecuteAsync(sourceDb, "DELETE FROM articles WHERE id IN (2, 4)");
        var pass = await service.SyncOnceAsync(source, checkDeletes: true, cancellationToken: Token);

        Assert.Equal(2, pass.Deleted);
        Assert.Equal(["articles/1", "articles/3", "articles/5", "other"], sink.Documents.Keys.Order());
    }

    [Fact]
    public async Task Documents_an_earlier_version_stored_under_bare_keys_are_read_again_under_the_source_prefix_and_the_bare_ones_deleted()
    {
        var (source, service, sink, sourceDb) = await SetUpAsync(pageSize: 2);
        await using var _ = sourceDb;
        await ExecuteAsync(sourceDb, "INSERT INTO articles (id, body, updated_at) SELECT i, 'text ' || i, now() - interval '1 hour' FROM generate_series(1, 3) i");
        await service.SyncOnceAsync(source, cancellationToken: Token);
        // What an earlier version left: the mark past every row, the documents under the bare keys; and a posted document.
        sink.Documents.Clear();
        foreach (var key in new[] { "1", "2", "3" })
        {
            sink.Documents[key] = new IncomingDocument(key, null, "text " + key, "articles", "{}");
        }

        sink.Documents["posted"] = new IncomingDocument("posted", null, "posted by hand", "elsewhere", "{}");
        sink.Calls.Clear();
        var upgraded = _newProcess!();

        var pass = await upgraded.SyncOnceAsync(source, cancellationToken: Token);

        Assert.Equal((3, 3, 3), (pass.Rows, pass.Accepted, pass.Deleted));
        Assert.Equal(["articles/1", "articles/2", "articles/3", "posted"], sink.Documents.Keys.Order());
        Assert.Equal(0, (await upgraded.SyncOnceAsync(source, cancellationToken: Token)).Rows);
    }

    [Fact]
    public async Task Ingest_api_syncs_a_configured_table_into_documents()
    {
        var sourceDb = await NewSourceAsync();
        await using var _ = sourceDb.DataSource;
        await ExecuteAsync(sourceDb.DataSource, "INSERT INTO articles (id, title, body, updated_at) VALUES (1, 'Sync', 'Rows become documents.', now() - interval '1 minute')");
        await servers.PurgeChunkQueueAsync();
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await servers.NewDatabaseAsync(),
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
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
        await ExecuteAsync(sourceDb.DataSource, "INSERT INTO articles (id, body, updated_at) VALUES (2, 'A second row.', now() - interval '1 minute')");
        Assert.Equal(1, (await PollAsync(http, "/documents/articles/2")).GetProperty("chunks").GetProperty("total").GetInt32());
        await servers.PurgeChunkQueueAsync();
    }

    private async Task<(string Source, TableSyncService Service, RecordingSink Sink, NpgsqlDataSource SourceDb)> SetUpAsync(int pageSize)
    {
        var source = await NewSourceAsync();
        var vectorStore = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(vectorStore, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var options = new TableSyncOptions
        {
            ConnectionString = source.ConnectionString, Table = "articles", KeyColumn = "id", TitleColumn = "title", TextColumn = "body",
            MetadataColumns = ["category"], MarkColumn = "updated_at", PageSize = pageSize,
        };
        options.Validate("articles");
        var sink = new RecordingSink();
        TableSyncService NewProcess() => new(new Dictionary<string, TableSyncOptions> { ["articles"] = options }, _ => sink, vectorStore, NullLogger<TableSyncService>.Instance);
        _newProcess = NewProcess;
        var service = NewProcess();
        return ("articles", service, sink, source.DataSource);
    }

    private async Task<(string ConnectionString, NpgsqlDataSource DataSource)> NewSourceAsync()
    {
        var connectionString = await servers.NewDatabaseAsync();
        var dataSource = VectorStoreExtensions.CreateDataSource(connectionString);
        await ExecuteAsync(dataSource, "CREATE TABLE articles (id integer PRIMARY KEY, title text, body text, category text, updated_at timestamptz NOT NULL)");
        return (connectionString, dataSource);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Token);
    }

    private static async Task<JsonElement> PollAsync(HttpClient http, string path)
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

    private sealed class RecordingSink : IDocumentSink
    {
        public Dictionary<string, IncomingDocument> Documents { get; } = new(StringComparer.Ordinal);

        public List<string> Calls { get; } = [];

        public int? FailOnCall { get; set; }

        public Task<SinkResult> UpsertAsync(IncomingDocument document, CancellationToken cancellationToken)
        {
            Calls.Add(document.Id);
            if (Calls.Count == FailOnCall)
            {
                throw new InvalidOperationException("the process died here");
            }

            Documents[document.Id] = document;
            return Task.FromResult(new SinkResult(true, null, 1));
        }

        public async IAsyncEnumerable<string> ListIdsAsync(string source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var document in Documents.Values.Where(d => d.Source == source).ToList())
            {
                await Task.Yield();
                yield return document.Id;
            }
        }

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => Task.FromResult(Documents.Remove(id));
    }
}
