using Npgsql;

namespace VectorPipeline.VectorStore;

/// <summary>A chunk whose <c>EmbedChunk</c> message is to be published (again).</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">Its document's key.</param>
public sealed record ChunkToQueue(long ChunkId, string DocumentId);

/// <summary>One page of the redelivery sweep (<see cref="DeliveryStore.SweepAsync"/>).</summary>
/// <param name="Waiting">Chunks still waiting for an embedding of some enabled model, with no error recorded for it: publish them again. Their <c>queued_at</c> is now.</param>
/// <param name="Settled">Chunks of the page found embedded by every enabled model, or failed: their <c>queued_at</c> was cleared.</param>
/// <param name="LastChunkId">Key of the last chunk of the page, for the next page; 0 when the page was empty (the sweep is done).</param>
public sealed record SweepPage(IReadOnlyList<ChunkToQueue> Waiting, int Settled, long LastChunkId);

/// <summary>
/// Chunk delivery bookkeeping (Ingest.Api): finding chunks whose message may have been lost, and putting failed
/// chunks back in the queue. Works on <c>chunks.queued_at</c> (migration 0004): set when a chunk is queued,
/// cleared by the sweep once the chunk is embedded or failed.
/// </summary>
public sealed class DeliveryStore(NpgsqlDataSource dataSource)
{
    /// <summary>Key of the session advisory lock that elects the one process running the redelivery sweep.</summary>
    public const long SweepLockKey = 0x5650_5245_4445_4C56; // "VPREDELV"

    /// <summary>
    /// One page of the redelivery sweep, by chunk key (keyset pagination over the partial index
    /// <c>chunks_queued</c>): of the chunks after <paramref name="afterChunkId"/> queued more than
    /// <paramref name="redeliverAfter"/> ago, those still lacking an embedding of an enabled model with no error
    /// recorded for that model are returned to be published again and get <c>queued_at = now()</c> (so they are
    /// not published again before another timeout); the others (embedded, or failed) get <c>queued_at = NULL</c>.
    /// One statement, so a crash leaves each chunk either as it was or fully updated.
    /// </summary>
    /// <param name="redeliverAfter">How long a chunk may wait after being queued before its message is published again.</param>
    /// <param name="afterChunkId">Last chunk key of the previous page; 0 for the first page.</param>
    /// <param name="limit">Most chunks per page, ≥ 1.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="NpgsqlException">Database unreachable; nothing was changed.</exception>
    public async Task<SweepPage> SweepAsync(TimeSpan redeliverAfter, long afterChunkId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            WITH page AS (
                SELECT c.id, c.document_id FROM chunks c
                 WHERE c.queued_at IS NOT NULL AND c.queued_at < now() - $1 AND c.id > $2
                 ORDER BY c.id LIMIT $3),
            classified AS (
                SELECT p.id, p.document_id,
                       EXISTS (SELECT 1 FROM embedding_models m
                                WHERE m.enabled
                                  AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = p.id AND e.model_id = m.id AND NOT e.provisional)
                                  AND NOT EXISTS (SELECT 1 FROM embedding_errors x WHERE x.chunk_id = p.id AND x.model_id = m.id)) AS waiting
                  FROM page p),
            updated AS (
                UPDATE chunks c SET queued_at = CASE WHEN k.waiting THEN now() END
                  FROM classified k WHERE c.id = k.id)
            SELECT id, document_id, waiting FROM classified ORDER BY id
            """);
        command.Parameters.AddWithValue(redeliverAfter);
        command.Parameters.AddWithValue(afterChunkId);
        command.Parameters.AddWithValue(limit);
        var waiting = new List<ChunkToQueue>();
        int settled = 0;
        long last = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            last = reader.GetInt64(0);
            if (reader.GetBoolean(2))
            {
                waiting.Add(new ChunkToQueue(last, reader.GetString(1)));
            }
            else
            {
                settled++;
            }
        }

        return new SweepPage(waiting, settled, last);
    }

    /// <summary>Chunks waiting to be embedded (with <c>queued_at</c> set), for monitoring and tests.</summary>
    public async Task<long> CountQueuedAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM chunks WHERE queued_at IS NOT NULL");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Tries to become the one process that runs the redelivery sweep: takes the session advisory lock
    /// <see cref="SweepLockKey"/> without waiting, on a connection the returned lease holds until disposed
    /// (disposing unlocks it; a process that dies loses it with its connection).
    /// </summary>
    /// <returns>The lease, or null when another process holds the lock.</returns>
    /// <exception cref="NpgsqlException">Database unreachable.</exception>
    public async Task<IAsyncDisposable?> TryLeadSweepAsync(CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
            command.Parameters.AddWithValue(SweepLockKey);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return new Lease(connection);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    /// <summary>
    /// Puts a document's failed chunks back in the queue, in one transaction: for each chunk without an
    /// embedding of an enabled model that has an error recorded for that model, the chunk's error rows are
    /// deleted (its status counts it as waiting again, not failed) and its <c>queued_at</c> is set to now (the
    /// redelivery sweep publishes it should the caller's publish not happen).
    /// </summary>
    /// <returns>The chunks to publish (possibly none); null when there is no such document.</returns>
    /// <exception cref="NpgsqlException">Database unreachable; nothing was changed.</exception>
    public async Task<IReadOnlyList<ChunkToQueue>?> RequeueFailedAsync(string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM documents WHERE id = $1 FOR SHARE", connection, transaction))
        {
            exists.Parameters.AddWithValue(documentId);
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }
        }

        await using var command = new NpgsqlCommand(RequeueSql("c.document_id = $1", ""), connection, transaction);
        command.Parameters.AddWithValue(documentId);
        var chunks = await ReadAsync(command, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return chunks;
    }

    /// <summary>
    /// One page of <c>POST /documents/retry-failed</c>: like <see cref="RequeueFailedAsync"/> for the failed
    /// chunks of every document of <paramref name="tenant"/> with a key above <paramref name="afterChunkId"/>, at most
    /// <paramref name="limit"/> of them, in key order (keyset pagination over the error index).
    /// </summary>
    /// <returns>The chunks to publish; empty when no failed chunk is left after <paramref name="afterChunkId"/>.</returns>
    /// <exception cref="NpgsqlException">Database unreachable; nothing was changed.</exception>
    public async Task<IReadOnlyList<ChunkToQueue>> RequeueFailedPageAsync(string tenant, long afterChunkId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(RequeueSql(
            "x.chunk_id > $1 AND EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id AND d.tenant = $3)", "ORDER BY 1 LIMIT $2"));
        command.Parameters.AddWithValue(afterChunkId);
        command.Parameters.AddWithValue(limit);
        command.Parameters.AddWithValue(tenant);
        return await ReadAsync(command, cancellationToken);
    }

    // Failed = an error recorded for an enabled model that has no embedding of the chunk.
    private static string RequeueSql(string filter, string order) => $"""
        WITH failed AS (
            SELECT DISTINCT x.chunk_id AS id, c.document_id
              FROM embedding_errors x
              JOIN chunks c ON c.id = x.chunk_id
              JOIN embedding_models m ON m.id = x.model_id AND m.enabled
             WHERE {filter}
               AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = x.chunk_id AND e.model_id = x.model_id AND NOT e.provisional)
             {order}),
        cleared AS (DELETE FROM embedding_errors x USING failed f WHERE x.chunk_id = f.id),
        queued AS (UPDATE chunks c SET queued_at = now() FROM failed f WHERE c.id = f.id)
        SELECT id, document_id FROM failed ORDER BY id
        """;

    private static async Task<IReadOnlyList<ChunkToQueue>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var chunks = new List<ChunkToQueue>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            chunks.Add(new ChunkToQueue(reader.GetInt64(0), reader.GetString(1)));
        }

        return chunks;
    }

    private sealed class Lease(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                if (connection.State == System.Data.ConnectionState.Open)
                {
                    await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
                    unlock.Parameters.AddWithValue(SweepLockKey);
                    await unlock.ExecuteScalarAsync();
                }
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the lock with it.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
