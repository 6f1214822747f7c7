using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace VectorPipeline.VectorStore;

/// <summary>A document as Ingest.Api hands it to the store, already split into chunk texts.</summary>
/// <param name="Id">Client key (1..256 characters).</param>
/// <param name="Title">Optional title.</param>
/// <param name="Source">Optional free-form origin (URL, path, system name).</param>
/// <param name="MetadataJson">A JSON object, stored as <c>jsonb</c>.</param>
/// <param name="Chunks">Chunk texts in document order; ordinal = index.</param>
public sealed record DocumentToStore(string Id, string? Title, string? Source, string MetadataJson, IReadOnlyList<string> Chunks);

/// <summary>A stored chunk's key and position.</summary>
/// <param name="Id">Primary key, carried by the <c>EmbedChunk</c> message.</param>
/// <param name="Ordinal">0-based position in its document.</param>
public sealed record StoredChunk(long Id, int Ordinal);

/// <summary>Exact chunk counts of a document for one model.</summary>
/// <param name="Total">Chunks the document has.</param>
/// <param name="Embedded">Chunks with a stored embedding for the model.</param>
/// <param name="Failed">Chunks without an embedding that have at least one recorded embedding error.</param>
public sealed record ChunkCounts(int Total, int Embedded, int Failed);

/// <summary>One recorded embedding failure.</summary>
/// <param name="ChunkOrdinal">Position of the failed chunk in its document.</param>
/// <param name="Error">What went wrong.</param>
/// <param name="OccurredAt">When, UTC.</param>
public sealed record EmbeddingError(int ChunkOrdinal, string Error, DateTimeOffset OccurredAt);

/// <summary>A document's processing state as <c>GET /documents/{id}</c> reports it.</summary>
/// <param name="Id">Client key.</param>
/// <param name="Title">Title, if any.</param>
/// <param name="Chunks">Exact counts for the model asked about.</param>
/// <param name="UpdatedAt">Last time the document was posted, UTC.</param>
/// <param name="Errors">The most recent embedding errors of chunks still without an embedding (at most 20).</param>
public sealed record DocumentState(string Id, string? Title, ChunkCounts Chunks, DateTimeOffset UpdatedAt, IReadOnlyList<EmbeddingError> Errors)
{
    /// <summary>
    /// <c>ready</c> when every chunk is embedded; <c>failed</c> when every chunk is either embedded or
    /// failed and at least one failed; <c>embedding</c> once some chunk is done; otherwise <c>queued</c>.
    /// </summary>
    public string Status => Chunks switch
    {
        { Total: var t, Embedded: var e } when e >= t => "ready",
        { Total: var t, Embedded: var e, Failed: var f } when f > 0 && e + f >= t => "failed",
        { Embedded: > 0 } or { Failed: > 0 } => "embedding",
        _ => "queued",
    };
}

/// <summary>Writes and reads documents and chunks (the Ingest.Api side of the schema).</summary>
public sealed class DocumentStore(NpgsqlDataSource dataSource)
{
    /// <summary>SHA-256 of the chunk text's UTF-8 bytes (32 bytes): the chunk's content hash.</summary>
    public static byte[] ContentHash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Inserts or replaces the document and all its chunks in one transaction, and returns the new
    /// chunks' keys. Replacing deletes the previous chunks (and, by cascade, their embeddings), so a
    /// chunk message still in flight for an old chunk finds nothing to embed.
    /// </summary>
    /// <exception cref="NpgsqlException">Database unreachable or a constraint failed; nothing is written.</exception>
    public async Task<IReadOnlyList<StoredChunk>> UpsertAsync(DocumentToStore document, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO documents (id, title, source, metadata, chunk_count) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (id) DO UPDATE SET title = excluded.title, source = excluded.source,
                metadata = excluded.metadata, chunk_count = excluded.chunk_count, updated_at = now()
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue(document.Id);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)document.Title ?? DBNull.Value);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)document.Source ?? DBNull.Value);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Jsonb, document.MetadataJson);
            upsert.Parameters.AddWithValue(document.Chunks.Count);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var delete = new NpgsqlCommand("DELETE FROM chunks WHERE document_id = $1", connection, transaction))
        {
            delete.Parameters.AddWithValue(document.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        var ordinals = new int[document.Chunks.Count];
        var hashes = new byte[document.Chunks.Count][];
        for (var i = 0; i < ordinals.Length; i++)
        {
            ordinals[i] = i;
            hashes[i] = ContentHash(document.Chunks[i]);
        }

        var stored = new List<StoredChunk>(ordinals.Length);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO chunks (document_id, ordinal, text, content_hash)
            SELECT $1, t.ordinal, t.text, t.content_hash FROM unnest($2::integer[], $3::text[], $4::bytea[]) AS t (ordinal, text, content_hash)
            RETURNING id, ordinal
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue(document.Id);
            insert.Parameters.AddWithValue(ordinals);
            insert.Parameters.AddWithValue(document.Chunks.ToArray());
            insert.Parameters.AddWithValue(hashes);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(new StoredChunk(reader.GetInt64(0), reader.GetInt32(1)));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        stored.Sort((a, b) => a.Ordinal.CompareTo(b.Ordinal));
        return stored;
    }

    /// <summary>Reads a document's exact state for <paramref name="modelId"/> (null: no model registered yet, so nothing is embedded).</summary>
    /// <returns>Null when no document has that id.</returns>
    public async Task<DocumentState?> GetStateAsync(string id, int? modelId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        string? title;
        DateTimeOffset updatedAt;
        int total, embedded, failed;
        await using (var command = new NpgsqlCommand("""
            SELECT d.title, d.updated_at, d.chunk_count,
                   (SELECT count(*) FROM chunks c JOIN embeddings e ON e.chunk_id = c.id AND e.model_id = $2
                     WHERE c.document_id = d.id)::integer,
                   (SELECT count(DISTINCT c.id) FROM chunks c JOIN embedding_errors x ON x.chunk_id = c.id AND x.model_id = $2
                     WHERE c.document_id = d.id
                       AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $2))::integer
              FROM documents d WHERE d.id = $1
            """, connection))
        {
            command.Parameters.AddWithValue(id);
            command.Parameters.AddWithValue(NpgsqlDbType.Integer, (object?)modelId ?? DBNull.Value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            title = reader.IsDBNull(0) ? null : reader.GetString(0);
            updatedAt = reader.GetFieldValue<DateTimeOffset>(1);
            total = reader.GetInt32(2);
            embedded = reader.GetInt32(3);
            failed = reader.GetInt32(4);
        }

        var errors = new List<EmbeddingError>();
        if (failed > 0)
        {
            await using var command = new NpgsqlCommand("""
                SELECT c.ordinal, x.error, x.occurred_at
                  FROM embedding_errors x JOIN chunks c ON c.id = x.chunk_id
                 WHERE c.document_id = $1 AND x.model_id = $2
                   AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $2)
                 ORDER BY x.occurred_at DESC LIMIT 20
                """, connection);
            command.Parameters.AddWithValue(id);
            command.Parameters.AddWithValue(modelId!.Value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                errors.Add(new EmbeddingError(reader.GetInt32(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        return new DocumentState(id, title, new ChunkCounts(total, embedded, failed), updatedAt, errors);
    }

    /// <summary>Deletes the document with its chunks, embeddings and errors. Returns false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM documents WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }
}
