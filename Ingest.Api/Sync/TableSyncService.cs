using Npgsql;

namespace VectorPipeline.Ingest.Sync;

/// <summary>The outcome of one sync pass over a source.</summary>
/// <param name="Source">The source's name.</param>
/// <param name="Ran">False when another Ingest.Api replica was syncing this source (nothing done).</param>
/// <param name="Rows">Rows read.</param>
/// <param name="Accepted">Documents stored (new, changed or unchanged); with <see cref="TableSyncOptions.DocumentPerColumn"/> a row gives one per text column.</param>
/// <param name="Queued">Chunks queued for embedding.</param>
/// <param name="Skipped">Documents without text (NULL or blank; a stored one is deleted), or refused (logged with the reason).</param>
/// <param name="Deleted">Documents deleted because their row is gone (key comparison) or their text became blank.</param>
public sealed record SyncPassResult(string Source, bool Ran, int Rows, int Accepted, int Queued, int Skipped, int Deleted);

/// <summary>
/// Keeps tables of other databases (PostgreSQL, MySQL, MariaDB: <see cref="TableSyncOptions.Kind"/>) in sync as
/// documents (<c>Sync:Sources:{name}</c>, see <see cref="TableSyncOptions"/>): every
/// <see cref="TableSyncOptions.IntervalSeconds"/> it reads the rows after the source's high-water mark page by page
/// (<see cref="TableSource"/>), maps each to its documents (<see cref="RowDocuments"/>: id
/// <c>{source name}/{row key}</c>, see <see cref="DocumentIdPrefix"/>, or <c>{source name}/{row key}/{column}</c> per
/// text column; documents an earlier version stored under the bare key are read again once and the bare ones
/// deleted), ingests them through <see cref="IDocumentSink"/>, and records the mark in <c>sync_marks</c> only after
/// the whole page was accepted, so a crash re-reads rather than skips. Optionally it compares all keys to delete the
/// documents whose row is gone. One Ingest.Api replica syncs a source at a time (a session advisory try-lock per
/// source, in the vector store's PostgreSQL whatever the source's kind). Each pass's outcome goes to
/// <see cref="Status"/> (<c>GET /status</c>).
/// </summary>
/// <param name="sources">The checked sources by name (<see cref="ReadSources"/>).</param>
/// <param name="sinkFor">The sink of a source's documents.</param>
/// <param name="vectorStore">The vector store: <c>sync_marks</c> and the advisory locks.</param>
/// <param name="logger">Pass and failure log.</param>
/// <param name="status">Where the sources' states are recorded; a new board when null.</param>
public sealed partial class TableSyncService(
    IReadOnlyDictionary<string, TableSyncOptions> sources,
    Func<TableSyncOptions, IDocumentSink> sinkFor,
    NpgsqlDataSource vectorStore,
    ILogger<TableSyncService> logger,
    SyncStatusBoard? status = null) : BackgroundService
{
    private const int LockClass = 0x5650_5359; // "VPSY"; the second key is hashtext(source)

    // Sources whose documents with bare (unprefixed) ids were looked for, and replaced, by this process.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _legacyChecked = new(StringComparer.Ordinal);

    /// <summary>Each source's state after its last pass (every source is registered as <c>pending</c> at construction).</summary>
    public SyncStatusBoard Status { get; } = Register(status ?? new SyncStatusBoard(), sources);

    private static SyncStatusBoard Register(SyncStatusBoard board, IReadOnlyDictionary<string, TableSyncOptions> sources)
    {
        foreach (var (name, options) in sources)
        {
            board.Register(name, options.Kind);
        }

        return board;
    }

    /// <summary>Reads and checks every <c>Sync:Sources:{name}</c> section.</summary>
    /// <exception cref="InvalidOperationException">A source's settings are invalid; the message names the key.</exception>
    public static IReadOnlyDictionary<string, TableSyncOptions> ReadSources(IConfiguration configuration)
    {
        var sources = new Dictionary<string, TableSyncOptions>(StringComparer.Ordinal);
        foreach (var section in configuration.GetSection(TableSyncOptions.SectionName).GetChildren())
        {
            var options = section.Get<TableSyncOptions>() ?? new TableSyncOptions();
            options.Validate(section.Key);
            sources[section.Key] = options;
        }

        return sources;
    }

    /// <summary>
    /// One pass over a source: pages after the recorded mark until none is left, then the deleted-row check when it
    /// is due (or <paramref name="checkDeletes"/> forces it).
    /// </summary>
    /// <exception cref="KeyNotFoundException">No source has this name.</exception>
    /// <exception cref="SyncSourceException">The source's table or a configured column does not exist; the message names it.</exception>
    /// <exception cref="Exception">Reading the source or storing a document failed; the mark stays at the last complete page.</exception>
    public async Task<SyncPassResult> SyncOnceAsync(string name, bool checkDeletes = false, CancellationToken cancellationToken = default)
    {
        var options = sources[name];
        try
        {
            var result = await PassAsync(name, options, checkDeletes, cancellationToken);
            Status.Finished(name, result.Ran);
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Status.Failed(name, ex);
            throw;
        }
    }

    private async Task<SyncPassResult> PassAsync(string name, TableSyncOptions options, bool checkDeletes, CancellationToken cancellationToken)
    {
        var sink = sinkFor(options);
        await using var leader = await vectorStore.OpenConnectionAsync(cancellationToken);
        await using (var tryLock = new NpgsqlCommand($"SELECT pg_try_advisory_lock({LockClass}, hashtext($1))", leader))
        {
            tryLock.Parameters.AddWithValue(name);
            if (!(bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!)
            {
                return new SyncPassResult(name, false, 0, 0, 0, 0, 0);
            }
        }

        try
        {
            await using var table = TableSource.Create(options);
            var (mark, lastDeleteCheck) = await LoadMarkAsync(leader, name, cancellationToken);
            var documentSource = options.DocumentSource ?? name;
            var prefix = DocumentIdPrefix(name);
            var documents = new RowDocuments(options, prefix, documentSource);
            // Documents stored by earlier versions under the bare key: read every row again (under the prefixed ids),
            // then delete the bare ones, once per process.
            var legacy = _legacyChecked.ContainsKey(name) ? [] : await ListLegacyIdsAsync(sink, documentSource, prefix, cancellationToken);
            if (legacy.Count > 0)
            {
                mark = null;
            }

            int rows = 0, accepted = 0, queued = 0, skipped = 0, blanked = 0;
            while (true)
            {
                var page = await table.ReadPageAsync(mark, cancellationToken);
                if (page.Count == 0)
                {
                    break;
                }

                foreach (var row in page)
                {
                    rows++;
                    foreach (var (id, document) in documents.For(row))
                    {
                        if (document is null)
                        {
                            // No text (any more): a document stored from earlier text would be found by search forever.
                            skipped++;
                            blanked += await sink.DeleteAsync(id, cancellationToken) ? 1 : 0;
                            continue;
                        }

                        var result = await sink.UpsertAsync(document, cancellationToken);
                        if (result.Accepted)
                        {
                            accepted++;
                            queued += result.Queued;
                        }
                        else
                        {
                            skipped++;
                            LogRowRefused(name, id, result.Reason ?? "");
                        }
                    }
                }

                mark = page[^1].Mark;
                await SaveMarkAsync(leader, name, mark, page.Count, cancellationToken);
            }

            var deleted = blanked;
            foreach (var id in legacy)
            {
                deleted += await sink.DeleteAsync(id, cancellationToken) ? 1 : 0;
            }

            if (legacy.Count > 0)
            {
                LogLegacyReplaced(name, legacy.Count, prefix);
            }

            _legacyChecked[name] = true;
            if (checkDeletes || (options.DeleteCheckIntervalSeconds is { } every && (lastDeleteCheck is null || DateTimeOffset.UtcNow - lastDeleteCheck > TimeSpan.FromSeconds(every))))
            {
                deleted += await DeleteMissingAsync(leader, name, table, documents, sink, documentSource, prefix, cancellationToken);
            }

            if (rows > 0 || deleted > 0)
            {
                LogPass(name, rows, accepted, queued, skipped, deleted);
            }

            return new SyncPassResult(name, true, rows, accepted, queued, skipped, deleted);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockClass}, hashtext($1))", leader);
            unlock.Parameters.AddWithValue(name);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(sources.Select(source => RunAsync(source.Key, source.Value, stoppingToken)));

    private async Task RunAsync(string name, TableSyncOptions options, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.IntervalSeconds));
        do
        {
            try
            {
                await SyncOnceAsync(name, cancellationToken: stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPassFailed(ex, name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Prefix of the ids of a source's documents: <c>{source name}/</c>, so that row <c>1</c> of source
    /// <c>products</c> is document <c>products/1</c> and cannot collide with another source's row 1 or a posted document.
    /// </summary>
    public static string DocumentIdPrefix(string sourceName) => sourceName + "/";

    private static async Task<List<string>> ListLegacyIdsAsync(IDocumentSink sink, string documentSource, string prefix, CancellationToken cancellationToken)
    {
        var legacy = new List<string>();
        await foreach (var id in sink.ListIdsAsync(documentSource, cancellationToken))
        {
            if (!id.StartsWith(prefix, StringComparison.Ordinal))
            {
                legacy.Add(id);
            }
        }

        return legacy;
    }

    private static async Task<int> DeleteMissingAsync(NpgsqlConnection leader, string name, TableSource table, RowDocuments documents, IDocumentSink sink,
        string documentSource, string prefix, CancellationToken cancellationToken)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in table.ReadAllKeysAsync(cancellationToken))
        {
            keys.UnionWith(documents.IdsFor(key));
        }

        var gone = new List<string>();
        await foreach (var id in sink.ListIdsAsync(documentSource, cancellationToken))
        {
            if (id.StartsWith(prefix, StringComparison.Ordinal) && !keys.Contains(id))
            {
                gone.Add(id);
            }
        }

        var deleted = 0;
        foreach (var id in gone)
        {
            deleted += await sink.DeleteAsync(id, cancellationToken) ? 1 : 0;
        }

        await using var record = new NpgsqlCommand("UPDATE sync_marks SET last_delete_check = now() WHERE source = $1", leader);
        record.Parameters.AddWithValue(name);
        await record.ExecuteNonQueryAsync(cancellationToken);
        return deleted;
    }

    private static async Task<(SyncMark? Mark, DateTimeOffset? LastDeleteCheck)> LoadMarkAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT mark, mark_key, last_delete_check FROM sync_marks WHERE source = $1", connection);
        command.Parameters.AddWithValue(name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (new SyncMark(reader.GetString(0), reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2))
            : (null, null);
    }

    private static async Task SaveMarkAsync(NpgsqlConnection connection, string name, SyncMark mark, int rows, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO sync_marks (source, mark, mark_key, rows_synced) VALUES ($1, $2, $3, $4)
            ON CONFLICT (source) DO UPDATE SET mark = excluded.mark, mark_key = excluded.mark_key,
                   rows_synced = sync_marks.rows_synced + excluded.rows_synced, updated_at = now()
            """, connection);
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue(mark.Mark);
        command.Parameters.AddWithValue(mark.Key);
        command.Parameters.AddWithValue((long)rows);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {Source}: {Rows} rows read, {Accepted} documents stored, {Queued} chunks queued, {Skipped} skipped, {Deleted} deleted")]
    private partial void LogPass(string source, int rows, int accepted, int queued, int skipped, int deleted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {Source}: document {Id} refused: {Reason}")]
    private partial void LogRowRefused(string source, string id, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {Source}: pass failed; the mark stays at the last complete page and the next pass retries")]
    private partial void LogPassFailed(Exception exception, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {Source}: {Count} documents stored by an earlier version under bare row keys were read again as {Prefix}{{key}} and the bare ones deleted")]
    private partial void LogLegacyReplaced(string source, int count, string prefix);
}
