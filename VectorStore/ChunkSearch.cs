using System.Globalization;
using Npgsql;

namespace VectorPipeline.VectorStore;

/// <summary>One search hit.</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">The document's client key.</param>
/// <param name="Title">Document title, if any.</param>
/// <param name="Text">Chunk text.</param>
/// <param name="Score">Cosine similarity, 1 − cosine distance, in [−1, 1].</param>
/// <param name="MetadataJson">The document's metadata (a JSON object).</param>
public sealed record ChunkHit(long ChunkId, string DocumentId, string? Title, string Text, double Score, string MetadataJson);

/// <summary>Nearest-neighbour queries over one model's embeddings.</summary>
public sealed class ChunkSearch(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Top-k chunks by cosine distance (<c>&lt;=&gt;</c>) to <paramref name="query"/> through the model's
    /// HNSW index, with <c>hnsw.ef_search</c> set for this transaction only (<c>SET LOCAL</c>), so the
    /// setting never leaks to other requests on the pooled connection. Hits below
    /// <paramref name="minScore"/> (cosine similarity) are dropped.
    /// </summary>
    /// <param name="model">The model whose vectors to search.</param>
    /// <param name="query">Query embedding; length = model dimensions.</param>
    /// <param name="topK">Number of nearest chunks to return, 1..1000 (ef_search is raised to at least topK).</param>
    /// <param name="minScore">Smallest cosine similarity kept, or null.</param>
    /// <param name="efSearch">HNSW candidate list size, 1..1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">Query length differs from the model's dimensions.</exception>
    public async Task<IReadOnlyList<ChunkHit>> SearchAsync(EmbeddingModel model, ReadOnlyMemory<float> query, int topK, double? minScore, int efSearch, CancellationToken cancellationToken = default)
    {
        if (query.Length != model.Dimensions)
        {
            throw new ArgumentException($"Query vector has {query.Length} dimensions, model {model.Name} declares {model.Dimensions}.", nameof(query));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(topK, 1000);
        var ef = Math.Clamp(Math.Max(efSearch, topK), 1, 1000);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var set = new NpgsqlCommand($"SET LOCAL hnsw.ef_search = {ef.ToString(CultureInfo.InvariantCulture)}", connection, transaction))
        {
            await set.ExecuteNonQueryAsync(cancellationToken);
        }

        // The vector expression and the model id are literals so the planner matches the model's
        // partial expression index; both come from embedding_models, never from the request.
        var sql = $"""
            SELECT h.chunk_id, c.document_id, d.title, c.text, h.score, d.metadata::text
              FROM (SELECT e.chunk_id, 1 - (e.{model.VectorExpression[1..^1]} <=> $1::real[]::vector({model.Dimensions})) AS score
                      FROM embeddings e
                     WHERE e.model_id = {model.Id}
                     ORDER BY e.{model.VectorExpression[1..^1]} <=> $1::real[]::vector({model.Dimensions})
                     LIMIT $2) h
              JOIN chunks c ON c.id = h.chunk_id
              JOIN documents d ON d.id = c.document_id
             WHERE $3::double precision IS NULL OR h.score >= $3
             ORDER BY h.score DESC
            """;
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue(query.ToArray());
        command.Parameters.AddWithValue(topK);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Double, (object?)minScore ?? DBNull.Value);
        var hits = new List<ChunkHit>(topK);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                hits.Add(new ChunkHit(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetString(3), reader.GetDouble(4), reader.GetString(5)));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return hits;
    }
}
