using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Ingest.Sync;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>A source database of one kind, with a table <c>articles (id, title, body, answer, category, updated_at)</c>.</summary>
public interface ISourceDatabase : IAsyncDisposable
{
    /// <summary><see cref="TableSyncOptions.Kind"/> of this database.</summary>
    string Kind { get; }

    /// <summary>Connection string in the kind's client form.</summary>
    string ConnectionString { get; }

    /// <summary>Runs one SQL statement.</summary>
    Task ExecuteAsync(string sql);

    /// <summary>Runs a query and returns the first column of its first row as text.</summary>
    Task<string> ScalarAsync(string sql);
}

/// <summary>
/// The sync's semantics, the same for every kind of source (the PostgreSQL and the MySQL tests derive from this):
/// inserts, updates by an updated-at mark, rows sharing a mark across pages, a crash in the middle of a page, deleted
/// rows, rows whose text is empty or becomes empty, several text columns (joined, templated, a document per column),
/// and a table or column that does not exist. The sync service runs in-process with a recording sink.
/// </summary>
public abstract class TableSyncScenarios(ServersFixture servers)
{
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    protected ServersFixture Servers { get; } = servers;

    /// <summary>A new empty database of this kind with the <c>articles</c> table.</summary>
    protected abstract Task<ISourceDatabase> NewSourceAsync();

    /// <summary>A query giving the text form of a timestamp literal as this kind's source writes the mark column.</summary>
    protected abstract string MarkTextSql(string timestamp);

    private SyncMark Mark(ISourceDatabase db, string timestamp, string key) => new(db.ScalarAsync(MarkTextSql(timestamp)).GetAwaiter().GetResult(), key);

    protected static string Rows(IEnumerable<int> ids, Func<int, string> row) => string.Join(", ", ids.Select(row));

    [Fact]
    public async Task New_and_changed_rows_become_documents_and_the_mark_moves_only_past_accepted_pages()
    {
        await using var db = await NewSourceAsync();
        var (service, sink) = await NewServiceAsync(db, o => o.PageSize = 3);
        await db.ExecuteAsync("INSERT INTO articles (id, title, body, category, updated_at) VALUES "
            + Rows(Enumerable.Range(1, 7), i => $"({i}, 'Article {i}', 'Body of article {i}', '{(i % 2 == 0 ? "even" : "odd")}', '2026-01-01 00:{i:00}:00')")
            + ", (8, 'Empty', NULL, NULL, '2026-01-01 01:00:00')");

        var first = await service.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal((8, 7, 1, 0), (first.Rows, first.Accepted, first.Skipped, first.Deleted));
        Assert.Equal("Body of article 4", sink.Documents["articles/4"].Text);
        Assert.Equal(("Article 4", "articles"), (sink.Documents["articles/4"].Title, sink.Documents["articles/4"].Source));
        Assert.Equal("even", JsonDocument.Parse(sink.Documents["articles/4"].MetadataJson).RootElement.GetProperty("category").GetString());
        Assert.Equal(["articles/1", "articles/2", "articles/3", "articles/4", "articles/5", "articles/6", "articles/7"], sink.Calls);
        Assert.Equal(0, (await service.SyncOnceAsync("articles", cancellationToken: Token)).Rows);

        // An update moves the row past the mark.
        await db.ExecuteAsync("UPDATE articles SET body = 'Changed body', updated_at = '2026-02-01 00:00:00' WHERE id IN (2, 5)");
        sink.Calls.Clear();
        var second = await service.SyncOnceAsync("articles", cancellationToken: Token);
        Assert.Equal((2, 2), (second.Rows, second.Accepted));
        Assert.Equal(["articles/2", "articles/5"], sink.Calls);
        Assert.Equal("Changed body", sink.Documents["articles/5"].Text);
        Assert.Equal(Mark(db, "2026-02-01 00:00:00", "5"), await ReadMarkAsync("articles"));

        // A crash between ingest and mark: the sink dies on the second row of a page. The mark stays before the
        // page, so the next pass reads the whole page again instead of skipping its rows.
        await db.ExecuteAsync("UPDATE articles SET body = CONCAT(body, '!'), updated_at = '2026-03-01 00:00:00' WHERE id IN (1, 3, 6)");
        sink.Calls.Clear();
        sink.FailOnCall = 2;
        await Assert.ThrowsAsync<InvalidOperationException>(() => service.SyncOnceAsync("articles", cancellationToken: Token));
        Assert.Equal(["articles/1", "articles/3"], sink.Calls);
        Assert.Equal(Mark(db, "2026-02-01 00:00:00", "5"), await ReadMarkAsync("articles"));
        Assert.Equal("failed", service.Status.List().Single().State);
        sink.FailOnCall = null;
        var retried = await service.SyncOnceAsync("articles", cancellationToken: Token);
        Assert.Equal((3, 3), (retried.Rows, retried.Accepted));
        Assert.Equal(["articles/1", "articles/3", "articles/1", "articles/3", "articles/6"], sink.Calls);
        Assert.Equal("Body of article 6!", sink.Documents["articles/6"].Text);
        Assert.Equal("ok", service.Status.List().Single().State);
    }

    [Fact]
    public async Task Rows_sharing_a_mark_across_pages_are_each_read_once_in_key_order()
    {
        await using var db = await NewSourceAsync();
        var (service, sink) = await NewServiceAsync(db, o => o.PageSize = 2);
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES "
            + Rows([5, 3, 9, 1, 7], i => $"({i}, 'text {i}', '2026-01-01 00:00:00')") + ", (6, 'later', '2026-01-02 00:00:00')");

        var pass = await service.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal((6, 6), (pass.Rows, pass.Accepted));
        Assert.Equal(["articles/1", "articles/3", "articles/5", "articles/7", "articles/9", "articles/6"], sink.Calls);

        // The mark is (2026-01-02, 6): a row written later with that same mark is read when its key is higher, not when
        // it is lower (keyset order; what MarkLagSeconds guards against for timestamps written by slow transactions).
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES (4, 'same mark as 2, lower key', '2026-01-02 00:00:00'), (8, 'same mark as 2, higher key', '2026-01-02 00:00:00')");
        sink.Calls.Clear();
        await service.SyncOnceAsync("articles", cancellationToken: Token);
        Assert.Equal(["articles/8"], sink.Calls);
    }

    [Fact]
    public async Task Deleted_rows_are_found_by_comparing_keys_and_their_documents_deleted()
    {
        await using var db = await NewSourceAsync();
        var (service, sink) = await NewServiceAsync(db, o => o.PageSize = 100);
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES " + Rows(Enumerable.Range(1, 5), i => $"({i}, 'text {i}', '2025-01-01 00:00:00')"));
        await service.SyncOnceAsync("articles", cancellationToken: Token);
        sink.Documents["other"] = new IncomingDocument("other", null, "not from this source", "elsewhere", "{}");

        await db.ExecuteAsync("DELETE FROM articles WHERE id IN (2, 4)");
        var pass = await service.SyncOnceAsync("articles", checkDeletes: true, cancellationToken: Token);

        Assert.Equal(2, pass.Deleted);
        Assert.Equal(["articles/1", "articles/3", "articles/5", "other"], sink.Documents.Keys.Order());
    }

    [Fact]
    public async Task A_row_whose_text_is_empty_gets_no_document_and_one_whose_text_becomes_empty_loses_it()
    {
        await using var db = await NewSourceAsync();
        var (service, sink) = await NewServiceAsync(db);
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES (1, '', '2026-01-01 00:00:00'), (2, '   ', '2026-01-01 00:00:01'), (3, NULL, '2026-01-01 00:00:02'), (4, 'words', '2026-01-01 00:00:03')");

        var first = await service.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal((4, 1, 3, 0), (first.Rows, first.Accepted, first.Skipped, first.Deleted));
        Assert.Equal(["articles/4"], sink.Documents.Keys);
        await db.ExecuteAsync("UPDATE articles SET body = '', updated_at = '2026-01-02 00:00:00' WHERE id = 4");
        var second = await service.SyncOnceAsync("articles", cancellationToken: Token);
        Assert.Equal((1, 0, 1, 1), (second.Rows, second.Accepted, second.Skipped, second.Deleted));
        Assert.Empty(sink.Documents);
    }

    [Fact]
    public async Task Several_text_columns_are_joined_or_templated_into_one_document_per_row()
    {
        await using var db = await NewSourceAsync();
        await db.ExecuteAsync("INSERT INTO articles (id, title, body, answer, updated_at) VALUES (1, 'Q1', 'How do I reset it?', 'Hold the button.', '2026-01-01 00:00:00'), (2, 'Q2', 'Only a question?', NULL, '2026-01-01 00:00:01')");
        var (joined, joinedSink) = await NewServiceAsync(db, o => (o.TextColumn, o.TextColumns) = (null, ["body", "answer"]));
        var (templated, templatedSink) = await NewServiceAsync(db, o => (o.TextColumn, o.TextColumns, o.TextTemplate) = (null, ["body", "answer"], "Question: {body}\nAnswer: {ANSWER}"));

        await joined.SyncOnceAsync("articles", cancellationToken: Token);
        await templated.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal("How do I reset it?\n\nHold the button.", joinedSink.Documents["articles/1"].Text);
        Assert.Equal("Only a question?", joinedSink.Documents["articles/2"].Text);
        Assert.Equal("Question: How do I reset it?\nAnswer: Hold the button.", templatedSink.Documents["articles/1"].Text);
        Assert.Equal("Question: Only a question?\nAnswer:", templatedSink.Documents["articles/2"].Text);
        Assert.Equal(("Q1", "Q1"), (joinedSink.Documents["articles/1"].Title, templatedSink.Documents["articles/1"].Title));
    }

    [Fact]
    public async Task With_a_document_per_column_each_text_column_is_its_own_document_and_deleted_rows_take_all_of_them()
    {
        await using var db = await NewSourceAsync();
        await db.ExecuteAsync("INSERT INTO articles (id, title, body, answer, category, updated_at) VALUES (1, 'Q1', 'How do I reset it?', 'Hold the button.', 'help', '2026-01-01 00:00:00'), (2, 'Q2', 'Unanswered?', NULL, 'help', '2026-01-01 00:00:01')");
        var (service, sink) = await NewServiceAsync(db, o => (o.TextColumn, o.TextColumns, o.DocumentPerColumn) = (null, ["body", "answer"], true));

        var pass = await service.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Equal((2, 3, 1), (pass.Rows, pass.Accepted, pass.Skipped));
        Assert.Equal(["articles/1/answer", "articles/1/body", "articles/2/body"], sink.Documents.Keys.Order());
        var answer = sink.Documents["articles/1/answer"];
        Assert.Equal(("Hold the button.", "Q1"), (answer.Text, answer.Title));
        var metadata = JsonDocument.Parse(answer.MetadataJson).RootElement;
        Assert.Equal(("answer", "help"), (metadata.GetProperty(RowDocuments.TextColumnKey).GetString(), metadata.GetProperty("category").GetString()));

        await db.ExecuteAsync("DELETE FROM articles WHERE id = 1");
        var deletes = await service.SyncOnceAsync("articles", checkDeletes: true, cancellationToken: Token);
        Assert.Equal(2, deletes.Deleted);
        Assert.Equal(["articles/2/body"], sink.Documents.Keys);
    }

    [Fact]
    public async Task A_missing_table_or_column_fails_its_source_with_a_message_naming_it_and_other_sources_still_sync()
    {
        await using var db = await NewSourceAsync();
        await db.ExecuteAsync("INSERT INTO articles (id, body, updated_at) VALUES (1, 'text', '2026-01-01 00:00:00')");
        var vectorStore = await NewVectorStoreAsync();
        var sink = new RecordingSink();
        var sources = new Dictionary<string, TableSyncOptions>
        {
            ["articles"] = Options(db),
            ["no_table"] = Options(db, o => o.Table = "no_such_table"),
            ["no_column"] = Options(db, o => o.TextColumn = "no_such_column"),
        };
        var service = new TableSyncService(sources, _ => sink, vectorStore, NullLogger<TableSyncService>.Instance);

        var table = await Assert.ThrowsAsync<SyncSourceException>(() => service.SyncOnceAsync("no_table", cancellationToken: Token));
        var column = await Assert.ThrowsAsync<SyncSourceException>(() => service.SyncOnceAsync("no_column", cancellationToken: Token));
        var good = await service.SyncOnceAsync("articles", cancellationToken: Token);

        Assert.Contains("no_such_table", table.Message);
        Assert.Contains("no_such_column", column.Message);
        Assert.Equal(1, good.Accepted);
        var status = service.Status.List().ToDictionary(s => s.Name);
        Assert.Equal(("ok", null), (status["articles"].State, status["articles"].LastError));
        Assert.Equal(("failed", table.Message), (status["no_table"].State, status["no_table"].LastError));
        Assert.Equal(("failed", column.Message), (status["no_column"].State, status["no_column"].LastError));
        Assert.All(status.Values, s => Assert.Equal(db.Kind, s.Kind));
    }

    protected TableSyncOptions Options(ISourceDatabase db, Action<TableSyncOptions>? configure = null)
    {
        var options = new TableSyncOptions
        {
            Kind = db.Kind, ConnectionString = db.ConnectionString, Table = "articles", KeyColumn = "id", TitleColumn = "title", TextColumn = "body",
            MetadataColumns = ["category"], MarkColumn = "updated_at",
        };
        configure?.Invoke(options);
        options.Validate("articles");
        return options;
    }

    protected async Task<Npgsql.NpgsqlDataSource> NewVectorStoreAsync()
    {
        var vectorStore = VectorStoreExtensions.CreateDataSource(await Servers.NewDatabaseAsync());
        await new SchemaMigrator(vectorStore, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        _vectorStore = vectorStore;
        return vectorStore;
    }

    private Npgsql.NpgsqlDataSource? _vectorStore;

    private async Task<(TableSyncService Service, RecordingSink Sink)> NewServiceAsync(ISourceDatabase db, Action<TableSyncOptions>? configure = null)
    {
        var vectorStore = await NewVectorStoreAsync();
        var sink = new RecordingSink();
        return (new TableSyncService(new Dictionary<string, TableSyncOptions> { ["articles"] = Options(db, configure) }, _ => sink, vectorStore, NullLogger<TableSyncService>.Instance), sink);
    }

    private async Task<SyncMark?> ReadMarkAsync(string source)
    {
        await using var command = _vectorStore!.CreateCommand("SELECT mark, mark_key FROM sync_marks WHERE source = $1");
        command.Parameters.AddWithValue(source);
        await using var reader = await command.ExecuteReaderAsync(Token);
        return await reader.ReadAsync(Token) ? new SyncMark(reader.GetString(0), reader.GetString(1)) : null;
    }

    /// <summary>An <see cref="IDocumentSink"/> that keeps documents in memory, records each upsert and can fail on the n-th.</summary>
    protected sealed class RecordingSink : IDocumentSink
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
