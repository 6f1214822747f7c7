using Npgsql;

namespace VectorPipeline.VectorStore;

/// <summary>Exact document counts over the whole store for one model.</summary>
/// <param name="Total">Documents stored.</param>
/// <param name="Ready">Documents whose every chunk has an embedding of the model.</param>
/// <param name="Failed">Documents with every chunk embedded or failed, and at least one failed.</param>
/// <param name="FailedChunks">Chunks without an embedding of the model that have a recorded embedding error.</param>
public sealed record DocumentTotals(long Total, long Ready, long Failed, long FailedChunks);

/// <summary>One recorded embedding failure, with where it happened.</summary>
/// <param name="DocumentId">The chunk's document.</param>
/// <param name="ChunkId">The chunk.</param>
/// <param name="ModelKey">The model, <c>{name}@{dimensions}</c>.</param>
/// <param name="Error">What went wrong.</param>
/// <param name="OccurredAt">When, UTC.</param>
public sealed record RecordedFailure(string DocumentId, long ChunkId, string ModelKey, string Error, DateTimeOffset OccurredAt);

/// <summary>Whole-store counts for <c>GET /status</c> (exact; one scan of chunks and embeddings per call).</summary>
public sealed class PipelineStatistics(NpgsqlDataSource dataSource)
{
    /// <summary>Document totals for the model (<see cref="DocumentTotals"/>), with the same rules as a document's status.</summary>
    public async Task<DocumentTotals> GetDocumentTotalsAsync(int modelId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            WITH per_chunk AS (
                SELECT c.document_id,
                       EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $1 AND NOT e.provisional) AS embedded,
                       EXISTS (SELECT 1 FROM embedding_errors x WHERE x.chunk_id = c.id AND x.model_id = $1) AS errored
                  FROM chunks c),
            per_document AS (
                SELECT d.id,
                       count(p.document_id) AS total,
                       count(*) FILTER (WHERE p.embedded) AS embedded,
                       count(*) FILTER (WHERE NOT p.embedded AND p.errored) AS failed
                  FROM documents d LEFT JOIN per_chunk p ON p.document_id = d.id
                 GROUP BY d.id)
            SELECT count(*),
                   count(*) FILTER (WHERE embedded >= total),
                   count(*) FILTER (WHERE embedded < total AND failed > 0 AND embedded + failed >= total),
                   coalesce(sum(failed), 0)::bigint
              FROM per_document
            """);
        command.Parameters.AddWithValue(modelId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new DocumentTotals(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>The most recent embedding failures of chunks that still have no embedding of the failing model, newest first.</summary>
    /// <param name="limit">Rows to return, 1..1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<RecordedFailure>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        await using var command = dataSource.CreateCommand("""
            SELECT c.document_id, x.chunk_id, m.name || '@' || m.dimensions, x.error, x.occurred_at
              FROM embedding_errors x
              JOIN chunks c ON c.id = x.chunk_id
              JOIN embedding_models m ON m.id = x.model_id
             WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = x.chunk_id AND e.model_id = x.model_id AND NOT e.provisional)
             ORDER BY x.occurred_at DESC, x.id DESC
             LIMIT $1
            """);
        command.Parameters.AddWithValue(limit);
        var failures = new List<RecordedFailure>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            failures.Add(new RecordedFailure(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return failures;
    }
}
