using Npgsql;
using Pgvector;
using NpgsqlTypes;

namespace VectorPipeline.VectorStore;

/// <summary>A chunk that still needs an embedding for a model.</summary>
/// <param name="Id">Chunk key.</param>
/// <param name="Text">The text to embed.</param>
/// <param name="ContentHash">SHA-256 of the text (32 bytes), stored with the embedding.</param>
public sealed record ChunkToEmbed(long Id, string Text, byte[] ContentHash);

/// <summary>An embedding ready to be written.</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="ContentHash">Hash of the text that was embedded.</param>
/// <param name="Vector">The vector; its length must equal the model's dimensions.</param>
public sealed record ChunkEmbedding(long ChunkId, byte[] ContentHash, ReadOnlyMemory<float> Vector);

/// <summary>Reads chunks to embed and writes embeddings (the Embed.Worker side of the schema).</summary>
public sealed class EmbeddingStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Of <paramref name="chunkIds"/>, the chunks that still exist and have no embedding for the model, with the text
    /// to embed (the chunk template's rendering when there is one, else the chunk text).
    /// A chunk deleted or replaced since its message was published is left out, so it is never embedded.
    /// </summary>
    public async Task<IReadOnlyList<ChunkToEmbed>> GetChunksToEmbedAsync(IReadOnlyCollection<long> chunkIds, EmbeddingModel model, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT c.id, coalesce(c.embed_text, c.text), c.content_hash FROM chunks c
             WHERE c.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $2 AND NOT e.provisional)
             ORDER BY c.id
            """);
        command.Parameters.AddWithValue(chunkIds.ToArray());
        command.Parameters.AddWithValue(model.Id);
        var chunks = new List<ChunkToEmbed>(chunkIds.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            chunks.Add(new ChunkToEmbed(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2)));
        }

        return chunks;
    }

    /// <summary>
    /// Gives the chunks of <paramref name="chunkIds"/> that have no embedding of the model the vector
    /// already stored for the same content hash (identical text in any document), so identical texts are
    /// embedded once per model. Runs before <see cref="GetChunksToEmbedAsync"/>.
    /// </summary>
    /// <returns>Embeddings copied.</returns>
    public async Task<int> CopyByContentHashAsync(IReadOnlyCollection<long> chunkIds, EmbeddingModel model, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO embeddings (chunk_id, model_id, content_hash, dimensions, embedding)
            SELECT c.id, $2, c.content_hash, s.dimensions, s.embedding
              FROM chunks c
              CROSS JOIN LATERAL (SELECT e.dimensions, e.embedding FROM embeddings e
                                   WHERE e.model_id = $2 AND e.content_hash = c.content_hash AND NOT e.provisional LIMIT 1) s
             WHERE c.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM embeddings x WHERE x.chunk_id = c.id AND x.model_id = $2 AND NOT x.provisional)
            ON CONFLICT (chunk_id, model_id) DO UPDATE
                SET content_hash = excluded.content_hash, dimensions = excluded.dimensions, embedding = excluded.embedding, provisional = false
              WHERE embeddings.provisional
            """);
        command.Parameters.AddWithValue(chunkIds.ToArray());
        command.Parameters.AddWithValue(model.Id);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Writes embeddings set-based in one statement: <c>INSERT ... SELECT FROM unnest(ids, hashes, vectors) ... ON
    /// CONFLICT (chunk_id, model_id) DO UPDATE ... WHERE provisional</c> joined to <c>chunks</c> (a provisional vector
    /// is replaced, a real one kept), the vectors sent as one binary <c>vector[]</c> parameter
    /// (<see cref="Pgvector.Vector"/>). No staging table: creating and dropping a temporary table for every batch
    /// cost PostgreSQL catalog writes per batch (bench/tuning.md).
    /// A redelivered message therefore never creates a second row, and a vector for a chunk deleted before
    /// the insert is dropped rather than failing the batch (a delete committing during the insert fails it
    /// with a foreign-key error, and the retry skips the chunk). Rows go in chunk order, so two workers
    /// writing overlapping chunks take their locks in the same order.
    /// </summary>
    /// <returns>Rows actually inserted.</returns>
    /// <exception cref="ArgumentException">A vector's length differs from the model's dimensions.</exception>
    public async Task<int> WriteAsync(EmbeddingModel model, IReadOnlyList<ChunkEmbedding> embeddings, CancellationToken cancellationToken = default)
    {
        if (embeddings.Count == 0)
        {
            return 0;
        }

        foreach (var embedding in embeddings)
        {
            if (embedding.Vector.Length != model.Dimensions)
            {
                throw new ArgumentException(
                    $"Chunk {embedding.ChunkId}: vector has {embedding.Vector.Length} dimensions, model {model.Name} declares {model.Dimensions}.",
                    nameof(embeddings));
            }
        }

        // One statement, its rows as three array parameters (the vectors as pgvector's binary vector[]), sorted by chunk
        // so that concurrent writers lock rows in the same order.
        var rows = embeddings.OrderBy(e => e.ChunkId).ToList();
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO embeddings (chunk_id, model_id, content_hash, dimensions, embedding)
            SELECT s.chunk_id, $4, s.content_hash, $5, s.embedding
              FROM unnest($1::bigint[], $2::bytea[], $3::vector[]) WITH ORDINALITY AS s (chunk_id, content_hash, embedding, position)
              JOIN chunks c ON c.id = s.chunk_id
             ORDER BY s.position
            ON CONFLICT (chunk_id, model_id) DO UPDATE
                SET content_hash = excluded.content_hash, dimensions = excluded.dimensions, embedding = excluded.embedding, provisional = false
              WHERE embeddings.provisional
            """);
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(e => e.ChunkId)] });
        insert.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. rows.Select(e => e.ContentHash)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        insert.Parameters.Add(new NpgsqlParameter<Vector[]> { TypedValue = [.. rows.Select(e => new Vector(e.Vector))], DataTypeName = "vector[]" });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = model.Id });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = model.Dimensions });
        return await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records that embedding these chunks with the model failed (shown by the status API).</summary>
    public async Task RecordErrorAsync(IReadOnlyCollection<long> chunkIds, EmbeddingModel model, string error, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO embedding_errors (chunk_id, model_id, error)
            SELECT c.id, $2, $3 FROM chunks c WHERE c.id = ANY($1)
            """);
        command.Parameters.AddWithValue(chunkIds.ToArray());
        command.Parameters.AddWithValue(model.Id);
        command.Parameters.AddWithValue(error.Length > 2000 ? error[..2000] : error);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Claims chunks for embedding with one model, so that two workers (or two batches of one worker) holding
    /// messages for the same chunk do not both send its text to the model: one session advisory lock per (model,
    /// chunk), key <c>(model id &lt;&lt; 40) | chunk id</c>, taken in chunk order with <c>pg_advisory_lock</c> on a
    /// connection the claim keeps until it is disposed (after the write). A chunk another session holds is waited
    /// for (at most 60 s, <c>lock_timeout</c>, then <see cref="PostgresException"/> and the batch is retried); the
    /// caller then reads again what is still missing, which is nothing when the other session embedded it, and
    /// everything when it died (its session, and locks, end with it).
    /// </summary>
    /// <param name="chunkIds">Chunks about to be embedded (ids below 2^40).</param>
    /// <param name="model">The model they are embedded with.</param>
    /// <param name="cancellationToken">Cancels the claim.</param>
    /// <returns>The claim, holding every chunk of <paramref name="chunkIds"/>.</returns>
    public async Task<ChunkClaim> ClaimAsync(IReadOnlyCollection<long> chunkIds, EmbeddingModel model, CancellationToken cancellationToken = default)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using (var timeout = new NpgsqlCommand("SET lock_timeout = '60s'", connection))
            {
                await timeout.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var command = new NpgsqlCommand(
                "SELECT pg_advisory_lock(($2::bigint << 40) | t.id) FROM (SELECT u.id FROM unnest($1::bigint[]) AS u (id) ORDER BY u.id) t", connection);
            command.Parameters.AddWithValue(chunkIds.Distinct().ToArray());
            command.Parameters.AddWithValue((long)model.Id);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new ChunkClaim(connection, chunkIds.ToHashSet());
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

/// <summary>Chunks claimed for embedding by <see cref="EmbeddingStore.ClaimAsync"/>; disposing releases them.</summary>
public sealed class ChunkClaim : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;

    internal ChunkClaim(NpgsqlConnection connection, IReadOnlySet<long> claimed)
    {
        _connection = connection;
        Claimed = claimed;
    }

    /// <summary>The chunks this claim holds.</summary>
    public IReadOnlySet<long> Claimed { get; }

    /// <summary>Releases the locks (the connection goes back to the pool, where session locks would otherwise stay).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var sql in new[] { "SELECT pg_advisory_unlock_all()", "RESET lock_timeout" })
            {
                await using var command = new NpgsqlCommand(sql, _connection);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
        catch (NpgsqlException)
        {
            // The session is gone, and its locks with it.
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
