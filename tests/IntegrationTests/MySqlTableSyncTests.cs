using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using MySqlConnector;
using VectorPipeline.Ingest.Sync;
using VectorPipeline.TestServers;

namespace VectorPipeline.IntegrationTests;

/// <summary>One MariaDB 10.11 server for the MySQL sync tests; each test takes its own database.</summary>
public sealed class MariaDbFixture : IAsyncLifetime
{
    private int _databases;

    public MariaDbServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await MariaDbServer.StartAsync();

    /// <summary>A new empty database; its MySqlConnector connection string.</summary>
    public Task<string> NewDatabaseAsync() => Server.CreateDatabaseAsync($"test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():n}"[..30]);

    public async ValueTask DisposeAsync()
    {
        MySqlConnection.ClearAllPools();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>
/// Sync from a table of a MariaDB 10.11 database (kind <c>mysql</c>, MySqlConnector): the scenarios every kind of
/// source passes (<see cref="TableSyncScenarios"/>), MySQL's own column types, the start refused for an unknown kind,
/// and the whole path through real Ingest.Api, Embed.Worker and Search.Api processes: a question-and-answer table
/// combined by a template and one document per column, both found by search, and a missing table marked failed in
/// <c>GET /status</c> while the other sources sync.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class MySqlTableSyncTests(ServersFixture servers, MariaDbFixture mariaDb) : TableSyncScenarios(servers), IClassFixture<MariaDbFixture>
{
    /// <inheritdoc />
    protected override async Task<ISourceDatabase> NewSourceAsync()
    {
        var source = new MySqlSource(await mariaDb.NewDatabaseAsync());
        await source.ExecuteAsync("CREATE TABLE articles (id int PRIMARY KEY, title varchar(200), body text, answer text, category varchar(50), updated_at datetime(6) NOT NULL)");
        return source;
    }

    /// <inheritdoc />
    protected override string MarkTextSql(string timestamp) => $"SELECT CAST(CAST('{timestamp}' AS DATETIME(6)) AS CHAR)";

    [Fact]
    public async Task String_keys_unsigned_bigint_marks_and_backquoted_names_keep_keyset_order()
    {
        await using var db = new MySqlSource(await mariaDb.NewDatabaseAsync());
        // `order` and `select` are reserved words: the source must quote them. Column names match in any case (as
        // MySQL compares them); table names as the server does (case-sensitive on Linux).
        await db.ExecuteAsync("CREATE TABLE `Faq` (`select` varchar(20) PRIMARY KEY, `order` bigint unsigned NOT NULL, body text, score decimal(6,2), active tinyint(1))");
        await db.ExecuteAsync("INSERT INTO `Faq` VALUES ('b', 18446744073709551610, 'big mark', 1.50, 1), ('a', 18446744073709551610, 'same big mark', 2.25, 0), ('c', 7, 'small mark', NULL, NULL)");
        var vectorStore = await NewVectorStoreAsync();
        var sink = new RecordingSink();
        var options = new TableSyncOptions
        {
            Kind = "MySQL", ConnectionString = db.ConnectionString, Table = "Faq", KeyColumn = "SELECT", MarkColumn = "order", TextColumn = "body", MetadataColumns = ["score", "active"], PageSize = 1,
        };
        options.Validate("faq");
        var service = new TableSyncService(new Dictionary<string, TableSyncOptions> { ["faq"] = options }, _ => sink, vectorStore, Microsoft.Extensions.Logging.Abstractions.NullLogger<TableSyncService>.Instance);

        var pass = await service.SyncOnceAsync("faq", cancellationToken: Token);

        Assert.Equal((3, 3), (pass.Rows, pass.Accepted));
        Assert.Equal(["faq/c", "faq/a", "faq/b"], sink.Calls);
        var metadata = JsonDocument.Parse(sink.Documents["faq/b"].MetadataJson).RootElement;
        Assert.Equal((1.5m, 1), (metadata.GetProperty("score").GetDecimal(), metadata.GetProperty("active").GetInt32()));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(sink.Documents["faq/c"].MetadataJson).RootElement.GetProperty("score").ValueKind);
        await db.ExecuteAsync("INSERT INTO `Faq` VALUES ('d', 18446744073709551610, 'after a and b', 0, 0)");
        sink.Calls.Clear();
        Assert.Equal(1, (await service.SyncOnceAsync("faq", cancellationToken: Token)).Rows);
        Assert.Equal(["faq/d"], sink.Calls);
    }

    [Fact]
    public void An_unknown_kind_or_a_bad_text_setting_is_refused_naming_the_key()
    {
        var unknown = Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(Configuration(("Kind", "oracle"), ("TextColumn", "body"))));
        Assert.Equal("Sync:Sources:faq:Kind 'oracle' is not a kind of source; use one of: postgres, mysql.", unknown.Message);
        Assert.Equal(TableSyncOptions.MySqlKind, TableSyncService.ReadSources(Configuration(("Kind", "MySQL"), ("TextColumn", "body")))["faq"].Kind);
        Assert.Equal(TableSyncOptions.PostgresKind, TableSyncService.ReadSources(Configuration(("TextColumn", "body")))["faq"].Kind);

        Assert.Contains("TextColumn", Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(Configuration(("TextColumn", "body"), ("TextColumns:0", "answer")))).Message);
        Assert.Contains("{nope}", Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(
            Configuration(("TextColumns:0", "question"), ("TextColumns:1", "answer"), ("TextTemplate", "{question} {nope}")))).Message);
        Assert.Contains("DocumentPerColumn", Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(
            Configuration(("TextColumns:0", "question"), ("TextColumns:1", "answer"), ("TextTemplate", "{question}"), ("DocumentPerColumn", "true")))).Message);
        Assert.Contains("'events'", Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(
            Configuration(("TextColumns:0", "question"), ("TextColumns:1", "events"), ("DocumentPerColumn", "true")))).Message);
        Assert.Contains("TextColumns:1 'an`swer'", Assert.Throws<InvalidOperationException>(() => TableSyncService.ReadSources(
            Configuration(("TextColumns:0", "question"), ("TextColumns:1", "an`swer")))).Message);

        static IConfiguration Configuration(params (string Key, string Value)[] settings) => new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["Sync:Sources:faq:ConnectionString"] = "Server=127.0.0.1", ["Sync:Sources:faq:Table"] = "faq", ["Sync:Sources:faq:KeyColumn"] = "id" }
                .Concat(settings.Select(s => KeyValuePair.Create($"Sync:Sources:faq:{s.Key}", (string?)s.Value)))).Build();
    }

    [Fact]
    public async Task Ingest_api_refuses_to_start_with_an_unknown_kind_of_source()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync("ingest-api-bad-kind", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = Servers.Postgres.ConnectionString(),
            ["ConnectionStrings__messaging"] = Servers.RabbitMq.ConnectionString,
            ["Sync__Sources__faq__Kind"] = "oracle",
            ["Sync__Sources__faq__ConnectionString"] = "Server=127.0.0.1",
            ["Sync__Sources__faq__Table"] = "faq",
            ["Sync__Sources__faq__KeyColumn"] = "id",
            ["Sync__Sources__faq__TextColumn"] = "answer",
        }));

        Assert.Contains("Sync:Sources:faq:Kind 'oracle' is not a kind of source; use one of: postgres, mysql.", error.Message);
    }

    [Fact]
    public async Task A_question_and_answer_table_is_found_by_search_combined_and_per_column_and_a_missing_table_fails_only_its_source()
    {
        var connectionString = await mariaDb.NewDatabaseAsync();
        await using var db = new MySqlSource(connectionString);
        await db.ExecuteAsync("CREATE TABLE faq (id int PRIMARY KEY, question text NOT NULL, answer text, topic varchar(40), updated_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))");
        await db.ExecuteAsync("""
            INSERT INTO faq (id, question, answer, topic, updated_at) VALUES
              (1, 'How do I rotate the vault password?', 'Open the keyring console and choose rotate; the old password stops working after an hour.', 'security', '2026-01-01 00:00:00'),
              (2, 'Can I export invoices as spreadsheets?', 'Yes: the billing page has a download button for every month.', 'billing', '2026-01-01 00:00:01')
            """);
        await Servers.PurgeChunkQueueAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await Servers.NewDatabaseAsync(),
            ["ConnectionStrings__messaging"] = Servers.RabbitMq.ConnectionString,
        };
        foreach (var (source, settings) in new (string, (string, string)[])[]
                 {
                     ("faq", [("TextTemplate", "Question: {question}\nAnswer: {answer}")]),
                     ("faqcols", [("DocumentPerColumn", "true")]),
                     ("missing", [("Table", "no_such_faq")]),
                 })
        {
            foreach (var (key, value) in new[]
                     {
                         ("Kind", "mysql"), ("ConnectionString", connectionString), ("Table", "faq"), ("KeyColumn", "id"), ("TextColumns__0", "question"),
                         ("TextColumns__1", "answer"), ("TitleColumn", "question"), ("MetadataColumns__0", "topic"), ("MarkColumn", "updated_at"), ("IntervalSeconds", "1"),
                     }.Concat(settings))
            {
                environment[$"Sync__Sources__{source}__{key}"] = value;
            }
        }

        var started = await Task.WhenAll(
            ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment),
            ServiceProcess.StartAsync("embed-worker", "Embed.Worker", environment),
            ServiceProcess.StartAsync("search-api", "Search.Api", environment));
        await using var ingest = started[0];
        await using var worker = started[1];
        await using var search = started[2];
        using var ingestHttp = new HttpClient { BaseAddress = ingest.Url };
        using var searchHttp = new HttpClient { BaseAddress = search.Url };

        foreach (var id in new[] { "faq/1", "faq/2", "faqcols/1/question", "faqcols/1/answer", "faqcols/2/question", "faqcols/2/answer" })
        {
            await WaitUntilReadyAsync(ingestHttp, id);
        }

        // The combined document holds both columns through the template; per column, the answer is its own document.
        Assert.Equal(["faq/1", "faqcols/1/answer"], await SearchAsync(searchHttp, "keyring console rotate", "faq", "faqcols"));
        Assert.Equal(["faq/2", "faqcols/2/answer"], await SearchAsync(searchHttp, "billing page download button", "faq", "faqcols"));
        var hit = await SearchResultAsync(searchHttp, "keyring console rotate", "faqcols");
        Assert.Equal(("faqcols/1/answer", "How do I rotate the vault password?", "answer", "security"), (hit.GetProperty("documentId").GetString(), hit.GetProperty("title").GetString(),
            hit.GetProperty("metadata").GetProperty("textColumn").GetString(), hit.GetProperty("metadata").GetProperty("topic").GetString()));
        Assert.Equal("Question: How do I rotate the vault password?\nAnswer: Open the keyring console and choose rotate; the old password stops working after an hour.",
            (await SearchResultAsync(searchHttp, "keyring console rotate", "faq")).GetProperty("text").GetString());

        var sync = (await ingestHttp.GetFromJsonAsync<JsonElement>("/status", Token)).GetProperty("sync").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(["faq", "faqcols", "missing"], sync.Keys.Order());
        Assert.Equal(("mysql", "ok", "ok"), (sync["faq"].GetProperty("kind").GetString(), sync["faq"].GetProperty("state").GetString(), sync["faqcols"].GetProperty("state").GetString()));
        Assert.Equal("failed", sync["missing"].GetProperty("state").GetString());
        Assert.Contains("no_such_faq does not exist", sync["missing"].GetProperty("lastError").GetString());

        // An update through ON UPDATE CURRENT_TIMESTAMP(6) moves the row past the mark; both sources pick it up.
        await db.ExecuteAsync("UPDATE faq SET answer = 'Ask the treasurer for a parchment copy.' WHERE id = 2");
        for (var attempt = 0; attempt < 100 && (await SearchAsync(searchHttp, "treasurer parchment", "faqcols")).FirstOrDefault() != "faqcols/2/answer"; attempt++)
        {
            await Task.Delay(200, Token);
        }

        Assert.Equal("faqcols/2/answer", (await SearchAsync(searchHttp, "treasurer parchment", "faqcols")).FirstOrDefault());
        await Servers.PurgeChunkQueueAsync();
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, string id)
    {
        for (var attempt = 0; attempt < 150; attempt++)
        {
            var status = await TableSyncTests.PollAsync(http, "/documents/" + id);
            if (status.GetProperty("status").GetString() == "ready")
            {
                return;
            }

            await Task.Delay(200, Token);
        }

        throw new TimeoutException($"{id} was not ready within 30 s");
    }

    // The top document of a vector search among each source's documents, in the order of the sources.
    private static async Task<List<string>> SearchAsync(HttpClient http, string query, params string[] sources)
    {
        var ids = new List<string>();
        foreach (var source in sources)
        {
            var results = await SearchResultsAsync(http, query, source);
            if (results.Count > 0)
            {
                ids.Add(results[0].GetProperty("documentId").GetString()!);
            }
        }

        return ids;
    }

    private static async Task<JsonElement> SearchResultAsync(HttpClient http, string query, string source) => (await SearchResultsAsync(http, query, source))[0];

    private static async Task<List<JsonElement>> SearchResultsAsync(HttpClient http, string query, string source)
    {
        using var response = await http.PostAsJsonAsync("/search", new { query, topK = 3, mode = "vector", filter = new { source } }, Token);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.True(response.IsSuccessStatusCode, answer.ToString());
        return answer.GetProperty("results").EnumerateArray().ToList();
    }

    private sealed class MySqlSource(string connectionString) : ISourceDatabase
    {
        public string Kind => TableSyncOptions.MySqlKind;

        public string ConnectionString => connectionString;

        public async Task ExecuteAsync(string sql)
        {
            await using var connection = new MySqlConnection(connectionString);
            await connection.OpenAsync(Token);
            await using var command = new MySqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(Token);
        }

        public async Task<string> ScalarAsync(string sql)
        {
            await using var connection = new MySqlConnection(connectionString);
            await connection.OpenAsync(Token);
            await using var command = new MySqlCommand(sql, connection);
            return (string)(await command.ExecuteScalarAsync(Token))!;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
