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
public sealed record DocumentToStore(string Id, string? Title, string? Source, string MetadataJson, IReadOnlyList<string> Chunks)
{
    /// <summary>
    /// What to embed for each chunk (same count and order as <see cref="Chunks"/>, e.g. the title and the chunk), or
    /// null to embed the chunk texts themselves. Its SHA-256 is each chunk's content hash, so a chunk is kept only
    /// when what would be embedded for it is unchanged.
    /// </summary>
    public IReadOnlyList<string>? EmbedTexts { get; init; }

    /// <summary>The tenant the document belongs to; empty (the default) = the default tenant. See <see cref="DocumentKey"/>.</summary>
    public string Tenant { get; init; } = "";

    /// <summary>
    /// Tokens of each chunk's embedded text as the primary model counts them (prefix and special tokens included), same
    /// count and order as <see cref="Chunks"/>; null where the model's tokenizer is not known. Stored as <c>chunks.tokens</c>.
    /// </summary>
    public IReadOnlyList<int>? ChunkTokens { get; init; }

    /// <summary>Most tokens the model takes per text; a chunk with more is cut there, recorded as <c>chunks.truncated_at</c>. Null = unknown.</summary>
    public int? TokenLimit { get; init; }
}

/// <summary>A chunk longer than its model takes: the model saw only its first <paramref name="KeptTokens"/> tokens.</summary>
/// <param name="ChunkOrdinal">Position of the chunk in its document.</param>
/// <param name="Tokens">Tokens of the chunk's embedded text (prefix and special tokens included).</param>
/// <param name="KeptTokens">Where the model cut it (its maximum sequence length).</param>
public sealed record TruncatedChunk(int ChunkOrdinal, int Tokens, int KeptTokens);

/// <summary>A stored chunk's key and position.</summary>
/// <param name="Id">Primary key, carried by the <c>EmbedChunk</c> message.</param>
/// <param name="Ordinal">0-based position in its document.</param>
public sealed record StoredChunk(long Id, int Ordinal);

/// <summary>What <see cref="DocumentStore.UpsertAsync"/> stored.</summary>
/// <param name="Chunks">Every chunk of the document now, in document order.</param>
/// <param name="ChunksToEmbed">Keys of the chunks that lack an embedding for at least one enabled model; each needs an <c>EmbedChunk</c> message.</param>
/// <param name="Kept">Chunks whose text was already stored (their embeddings kept).</param>
/// <param name="Added">Chunks with new text.</param>
/// <param name="Removed">Stored chunks whose text is no longer in the document (deleted with their embeddings).</param>
public sealed record UpsertResult(IReadOnlyList<StoredChunk> Chunks, IReadOnlyList<long> ChunksToEmbed, int Kept, int Added, int Removed);

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
    /// <summary>Chunks the primary model cuts because they are longer than it takes (at most 20, in document order); empty when none.</summary>
    public IReadOnlyList<TruncatedChunk> Truncated { get; init; } = [];

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
    /// <summary>SHA-256 of the UTF-8 bytes (32 bytes) of what is embedded for a chunk (its text, or its chunk template's rendering): the chunk's content hash.</summary>
    public static byte[] ContentHash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Inserts or updates the document and reconciles its chunks with <see cref="DocumentToStore.Chunks"/>
    /// in one transaction, by content hash: a stored chunk whose text is still present is kept (with its
    /// embeddings, renumbered if it moved), stored chunks whose text is gone are deleted (with their
    /// embeddings, so a message still in flight for them finds nothing to embed), and new texts are
    /// inserted. Re-posting an unchanged document therefore changes no chunk and needs no embedding.
    /// </summary>
    /// <returns>
    /// The chunks now stored, and the chunks that still lack an embedding for some enabled model (new ones,
    /// and kept ones that were never embedded or failed): those need an <c>EmbedChunk</c> message. Their
    /// recorded embedding errors are cleared, since they are queued again, and their <c>queued_at</c> is set
    /// to now: should their messages never be published (the process dies right after the commit), the
    /// redelivery sweep publishes them once the redelivery timeout has passed.
    /// </returns>
    /// <exception cref="NpgsqlException">Database unreachable or a constraint failed; nothing is written.</exception>
    public async Task<UpsertResult> UpsertAsync(DocumentToStore document, CancellationToken cancellationToken = default)
    {
        var storedId = DocumentKey.Stored(document.Tenant, document.Id);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The upsert locks the document row, so two posts of the same id reconcile one after the other.
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO documents (id, title, source, metadata, chunk_count, tenant) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET title = excluded.title, source = excluded.source,
                metadata = excluded.metadata, chunk_count = excluded.chunk_count, updated_at = now()
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue(storedId);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)document.Title ?? DBNull.Value);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)document.Source ?? DBNull.Value);
            upsert.Parameters.AddWithValue(NpgsqlDbType.Jsonb, document.MetadataJson);
            upsert.Parameters.AddWithValue(document.Chunks.Count);
            upsert.Parameters.AddWithValue(document.Tenant);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        // Stored chunks by content hash, in document order, so repeated texts pair up in order.
        var stored = new Dictionary<string, Queue<(long Id, int Ordinal)>>();
        await using (var select = new NpgsqlCommand(
            "SELECT id, ordinal, content_hash FROM chunks WHERE document_id = $1 ORDER BY ordinal", connection, transaction))
        {
            select.Parameters.AddWithValue(storedId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = Convert.ToHexString(reader.GetFieldValue<byte[]>(2));
                if (!stored.TryGetValue(key, out var queue))
                {
                    stored[key] = queue = new Queue<(long, int)>();
                }

                queue.Enqueue((reader.GetInt64(0), reader.GetInt32(1)));
            }
        }

        var chunks = new List<StoredChunk>(document.Chunks.Count);
        var moved = new List<(long Id, int Ordinal)>();
        var added = new List<(int Ordinal, string Text, byte[] Hash, string? EmbedText)>();
        if (document.EmbedTexts is { } embedTexts && embedTexts.Count != document.Chunks.Count)
        {
            throw new ArgumentException($"EmbedTexts has {embedTexts.Count} texts for {document.Chunks.Count} chunks.", nameof(document));
        }

        if (document.ChunkTokens is { } chunkTokens && chunkTokens.Count != document.Chunks.Count)
        {
            throw new ArgumentException($"ChunkTokens has {chunkTokens.Count} counts for {document.Chunks.Count} chunks.", nameof(document));
        }

        for (var ordinal = 0; ordinal < document.Chunks.Count; ordinal++)
        {
            var embedText = document.EmbedTexts?[ordinal] is { } rendered && rendered != document.Chunks[ordinal] ? rendered : null;
            var hash = ContentHash(embedText ?? document.Chunks[ordinal]);
            if (stored.TryGetValue(Convert.ToHexString(hash), out var queue) && queue.TryDequeue(out var kept))
            {
                chunks.Add(new StoredChunk(kept.Id, ordinal));
                if (kept.Ordinal != ordinal)
                {
                    moved.Add((kept.Id, ordinal));
                }
            }
            else
            {
                added.Add((ordinal, document.Chunks[ordinal], hash, embedText));
            }
        }

        var removedChunks = stored.Values.SelectMany(q => q).ToList();
        var removed = removedChunks.Select(c => c.Id).ToArray();

        if (moved.Count > 0)
        {
            await using var renumber = new NpgsqlCommand("""
                UPDATE chunks c SET ordinal = m.ordinal FROM unnest($1::bigint[], $2::integer[]) AS m (id, ordinal) WHERE c.id = m.id
                """, connection, transaction);
            renumber.Parameters.AddWithValue(moved.Select(m => m.Id).ToArray());
            renumber.Parameters.AddWithValue(moved.Select(m => m.Ordinal).ToArray());
            await renumber.ExecuteNonQueryAsync(cancellationToken);
        }

        if (added.Count > 0)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO chunks (document_id, ordinal, text, content_hash, embed_text, tokens, truncated_at)
                SELECT $1, t.ordinal, t.text, t.content_hash, t.embed_text, t.tokens, CASE WHEN t.tokens > $7 THEN $7 END
                  FROM unnest($2::integer[], $3::text[], $4::bytea[], $5::text[], $6::integer[]) AS t (ordinal, text, content_hash, embed_text, tokens)
                RETURNING id, ordinal
                """, connection, transaction);
            insert.Parameters.AddWithValue(storedId);
            insert.Parameters.AddWithValue(added.Select(a => a.Ordinal).ToArray());
            insert.Parameters.AddWithValue(added.Select(a => a.Text).ToArray());
            insert.Parameters.AddWithValue(added.Select(a => a.Hash).ToArray());
            insert.Parameters.AddWithValue(NpgsqlDbType.Array | NpgsqlDbType.Text, added.Select(a => a.EmbedText).ToArray());
            insert.Parameters.AddWithValue(NpgsqlDbType.Array | NpgsqlDbType.Integer, added.Select(a => (int?)document.ChunkTokens?[a.Ordinal]).ToArray());
            insert.Parameters.AddWithValue(NpgsqlDbType.Integer, (object?)document.TokenLimit ?? DBNull.Value);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                chunks.Add(new StoredChunk(reader.GetInt64(0), reader.GetInt32(1)));
            }
        }

        // No moment without the old text or the new: each new chunk that replaces a chunk (the removed chunk at the
        // same position, else the nearest one) gets that chunk's vectors as provisional embeddings, so vector search
        // still finds the passage until a worker embeds the new text (which replaces them). Provisional embeddings
        // count as missing everywhere else: the new chunk is queued, and the document is not ready until then.
        var addedOrdinals = added.Select(a => a.Ordinal).ToHashSet();
        var newChunks = chunks.Where(c => addedOrdinals.Contains(c.Ordinal)).ToList();
        if (removedChunks.Count > 0 && newChunks.Count > 0)
        {
            var byOrdinal = removedChunks.OrderBy(r => r.Ordinal).ToArray();
            var ordinals = byOrdinal.Select(r => r.Ordinal).ToArray();
            var pairs = newChunks.Select(n => (New: n.Id, Old: byOrdinal[Nearest(ordinals, n.Ordinal)].Id)).ToList();
            await using var standIn = new NpgsqlCommand("""
                INSERT INTO embeddings (chunk_id, model_id, content_hash, dimensions, embedding, provisional)
                SELECT p.new_id, e.model_id, c.content_hash, e.dimensions, e.embedding, true
                  FROM unnest($1::bigint[], $2::bigint[]) AS p (new_id, old_id)
                  JOIN embeddings e ON e.chunk_id = p.old_id
                  JOIN chunks c ON c.id = p.new_id
                ON CONFLICT (chunk_id, model_id) DO NOTHING
                """, connection, transaction);
            standIn.Parameters.AddWithValue(pairs.Select(p => p.New).ToArray());
            standIn.Parameters.AddWithValue(pairs.Select(p => p.Old).ToArray());
            await standIn.ExecuteNonQueryAsync(cancellationToken);
        }

        if (removed.Length > 0)
        {
            await using var delete = new NpgsqlCommand("DELETE FROM chunks WHERE id = ANY($1)", connection, transaction);
            delete.Parameters.AddWithValue(removed);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        var toEmbed = new List<long>();
        await using (var pending = new NpgsqlCommand("""
            WITH pending AS (
                SELECT c.id FROM chunks c
                 WHERE c.document_id = $1
                   AND (NOT EXISTS (SELECT 1 FROM embedding_models m WHERE m.enabled)
                        OR EXISTS (SELECT 1 FROM embedding_models m
                                    WHERE m.enabled AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = m.id AND NOT e.provisional)))),
            cleared AS (DELETE FROM embedding_errors x USING pending p WHERE x.chunk_id = p.id),
            queued AS (UPDATE chunks c SET queued_at = now() FROM pending p WHERE c.id = p.id)
            SELECT id FROM pending ORDER BY id
            """, connection, transaction))
        {
            pending.Parameters.AddWithValue(storedId);
            await using var reader = await pending.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                toEmbed.Add(reader.GetInt64(0));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        chunks.Sort((a, b) => a.Ordinal.CompareTo(b.Ordinal));
        return new UpsertResult(chunks, toEmbed, Kept: chunks.Count - added.Count, Added: added.Count, Removed: removed.Length);
    }

    /// <summary>Reads the state of the default tenant's document <paramref name="id"/>; see <see cref="GetStateAsync(string, string, int?, CancellationToken)"/>.</summary>
    public Task<DocumentState?> GetStateAsync(string id, int? modelId, CancellationToken cancellationToken = default) =>
        GetStateAsync("", id, modelId, cancellationToken);

    /// <summary>Reads a document's exact state for <paramref name="modelId"/> (null: no model registered yet, so nothing is embedded).</summary>
    /// <param name="tenant">The caller's tenant; another tenant's document with the same id is never found.</param>
    /// <param name="id">The client's document id.</param>
    /// <param name="modelId">The model to count embeddings of, or null.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Null when the tenant has no document with that id.</returns>
    public async Task<DocumentState?> GetStateAsync(string tenant, string id, int? modelId, CancellationToken cancellationToken = default)
    {
        var key = DocumentKey.Stored(tenant, id);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        string? title;
        DateTimeOffset updatedAt;
        int total, embedded, failed;
        await using (var command = new NpgsqlCommand("""
            SELECT d.title, d.updated_at, d.chunk_count,
                   (SELECT count(*) FROM chunks c JOIN embeddings e ON e.chunk_id = c.id AND e.model_id = $2 AND NOT e.provisional
                     WHERE c.document_id = d.id)::integer,
                   (SELECT count(DISTINCT c.id) FROM chunks c JOIN embedding_errors x ON x.chunk_id = c.id AND x.model_id = $2
                     WHERE c.document_id = d.id
                       AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $2 AND NOT e.provisional))::integer
              FROM documents d WHERE d.id = $1
            """, connection))
        {
            command.Parameters.AddWithValue(key);
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
                   AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $2 AND NOT e.provisional)
                 ORDER BY x.occurred_at DESC LIMIT 20
                """, connection);
            command.Parameters.AddWithValue(key);
            command.Parameters.AddWithValue(modelId!.Value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                errors.Add(new EmbeddingError(reader.GetInt32(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        var truncated = new List<TruncatedChunk>();
        await using (var command = new NpgsqlCommand("""
            SELECT ordinal, tokens, truncated_at FROM chunks WHERE document_id = $1 AND truncated_at IS NOT NULL ORDER BY ordinal LIMIT 20
            """, connection))
        {
            command.Parameters.AddWithValue(key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                truncated.Add(new TruncatedChunk(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2)));
            }
        }

        return new DocumentState(id, title, new ChunkCounts(total, embedded, failed), updatedAt, errors) { Truncated = truncated };
    }

    /// <summary>Deletes the default tenant's document <paramref name="id"/>; see <see cref="DeleteAsync(string, string, CancellationToken)"/>.</summary>
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => DeleteAsync("", id, cancellationToken);

    /// <summary>
    /// Deletes <paramref name="tenant"/>'s document <paramref name="id"/> with its chunks, embeddings and errors.
    /// Returns false when the tenant has no such document (another tenant's document with the same id is untouched).
    /// </summary>
    public async Task<bool> DeleteAsync(string tenant, string id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM documents WHERE id = $1");
        command.Parameters.AddWithValue(DocumentKey.Stored(tenant, id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    // Index of the value in a sorted array nearest to target (the first of two at the same distance).
    private static int Nearest(int[] sorted, int target)
    {
        var index = Array.BinarySearch(sorted, target);
        if (index >= 0)
        {
            return index;
        }

        var next = ~index;
        return next == 0 ? 0 : next == sorted.Length ? sorted.Length - 1 : target - sorted[next - 1] <= sorted[next] - target ? next - 1 : next;
    }

    /// <summary>The client ids of a tenant's documents whose <c>source</c> is <paramref name="source"/>, streamed in id order.</summary>
    public async IAsyncEnumerable<string> ListIdsAsync(string tenant, string source,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT id FROM documents WHERE tenant = $1 AND source = $2 ORDER BY id");
        command.Parameters.AddWithValue(tenant);
        command.Parameters.AddWithValue(source);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return DocumentKey.ClientId(reader.GetString(0));
        }
    }
}
