using Npgsql;

namespace VectorPipeline.VectorStore;

/// <summary>An embedding model as registered in <c>embedding_models</c>.</summary>
/// <param name="Id">Primary key; also names the model's HNSW index (<c>embeddings_hnsw_m{Id}</c>).</param>
/// <param name="Provider">Provider name (<c>offline</c>, <c>ollama</c>, <c>openai</c>, ...).</param>
/// <param name="Name">Model name as the provider knows it.</param>
/// <param name="Dimensions">Vector length every embedding of this model has.</param>
public sealed record EmbeddingModel(int Id, string Provider, string Name, int Dimensions)
{
    /// <summary>Name of the partial HNSW cosine index that holds this model's vectors.</summary>
    public string IndexName => $"embeddings_hnsw_m{Id}";

    /// <summary>
    /// The SQL expression the model's index is built on and that queries must repeat verbatim for the
    /// planner to use it: <c>(embedding::vector(N))</c>.
    /// </summary>
    public string VectorExpression => $"(embedding::vector({Dimensions}))";
}

/// <summary>Registers embedding models and the per-model HNSW cosine index.</summary>
public sealed class EmbeddingModelStore(NpgsqlDataSource dataSource)
{
    /// <summary>Largest dimensions pgvector's HNSW index accepts for the <c>vector</c> type.</summary>
    public const int MaxIndexedDimensions = 2000;

    private const long AdvisoryLockKey = 0x5650_4D4F_4445_4C53; // "VPMODELS"

    /// <summary>
    /// Returns the model's row, creating it and its partial HNSW index
    /// (<c>USING hnsw ((embedding::vector(N)) vector_cosine_ops) WHERE model_id = id</c>) when missing.
    /// Safe to call from many processes at once (serialised by an advisory transaction lock).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Dimensions outside 1..2000 (HNSW's limit for <c>vector</c>).</exception>
    public async Task<EmbeddingModel> EnsureAsync(string provider, string name, int dimensions, CancellationToken cancellationToken = default)
    {
        if (dimensions is < 1 or > MaxIndexedDimensions)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions,
                $"Embedding dimensions must be between 1 and {MaxIndexedDimensions} (pgvector's HNSW limit for the vector type).");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        int id;
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO embedding_models (provider, name, dimensions) VALUES ($1, $2, $3)
            ON CONFLICT (provider, name, dimensions) DO UPDATE SET provider = excluded.provider
            RETURNING id
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue(provider);
            upsert.Parameters.AddWithValue(name);
            upsert.Parameters.AddWithValue(dimensions);
            id = (int)(await upsert.ExecuteScalarAsync(cancellationToken))!;
        }

        var model = new EmbeddingModel(id, provider, name, dimensions);
        // Identifiers and numbers below come from this database row, never from user input.
        await using (var index = new NpgsqlCommand(
            $"CREATE INDEX IF NOT EXISTS {model.IndexName} ON embeddings USING hnsw ({model.VectorExpression} vector_cosine_ops) WHERE model_id = {model.Id}",
            connection, transaction))
        {
            await index.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return model;
    }
}
