using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.VectorStore;

/// <summary>An embedding model as registered in <c>embedding_models</c>.</summary>
/// <param name="Id">Primary key.</param>
/// <param name="Provider">Provider that last registered it (<c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c>, <c>http</c>); informational.</param>
/// <param name="Name">Model name as the provider knows it.</param>
/// <param name="Dimensions">Vector length every embedding of this model has.</param>
/// <param name="Index">
/// Distance and index of the model's vectors as built (for IVFFlat, <see cref="VectorIndexSettings.IvfFlatLists"/>
/// is the number the index was built with; null only before its first build).
/// </param>
/// <param name="IndexName">The partial index holding the model's vectors now (for example <c>embeddings_hnsw_m3</c>).</param>
public sealed record EmbeddingModel(int Id, string Provider, string Name, int Dimensions, VectorIndexSettings Index, string IndexName)
{
    /// <summary>
    /// The model's public name, <c>{name}@{dimensions}</c> (for example <c>nomic-embed-text@768</c>): a model
    /// is identified by its name and dimensions, whichever server provides it.
    /// </summary>
    public string Key => FormatKey(Name, Dimensions);

    /// <summary>
    /// The SQL expression the model's index is built on and that queries must repeat verbatim for the
    /// planner to use it: <c>(embedding::vector(N))</c>.
    /// </summary>
    public string VectorExpression => $"(embedding::vector({Dimensions}))";

    /// <summary>The chunk template (<c>Chunking:Template</c>) Ingest.Api rendered chunks with when it recorded this model; null before.</summary>
    public string? ChunkTemplate { get; init; }

    /// <summary>Formats a model key, <c>{name}@{dimensions}</c>.</summary>
    public static string FormatKey(string name, int dimensions) => $"{name}@{dimensions}";
}

/// <summary>A model's lifecycle state and its progress over all stored chunks.</summary>
/// <param name="Model">The model.</param>
/// <param name="Enabled">Workers embed every new or changed chunk with it.</param>
/// <param name="Active">Searches that name no model use it (exactly one model is active once any is).</param>
/// <param name="ActivateWhenComplete">Becomes active by itself when its backfill completes.</param>
/// <param name="BackfillRequestedAt">When a backfill was last asked for, UTC; null if never.</param>
/// <param name="BackfillCompletedAt">When every chunk was found embedded after that request, UTC.</param>
/// <param name="Embedded">Chunks that have an embedding of this model.</param>
/// <param name="Failed">Chunks without one whose embedding failed (recorded errors).</param>
/// <param name="TotalChunks">All stored chunks.</param>
public sealed record EmbeddingModelState(
    EmbeddingModel Model, bool Enabled, bool Active, bool ActivateWhenComplete,
    DateTimeOffset? BackfillRequestedAt, DateTimeOffset? BackfillCompletedAt,
    long Embedded, long Failed, long TotalChunks)
{
    /// <summary>
    /// <c>active</c>; <c>registered</c> (known, not embedding); <c>backfilling</c> (enabled, some chunks
    /// missing); <c>ready</c> (enabled, every chunk embedded).
    /// </summary>
    public string Status => Active ? "active" : !Enabled ? "registered" : Embedded >= TotalChunks ? "ready" : "backfilling";

    /// <summary>Embedded / total chunks, 0..1 (1 when there are no chunks).</summary>
    public double Progress => TotalChunks == 0 ? 1 : Math.Min(1, (double)Embedded / TotalChunks);
}

/// <summary>A chunk that lacks an embedding of some model (one page of a backfill).</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">Its document.</param>
public sealed record MissingChunk(long ChunkId, string DocumentId);

/// <summary>The model cannot be activated yet: some chunks have no embedding of it.</summary>
/// <param name="state">The model's state when the check failed.</param>
public sealed class ModelNotReadyException(EmbeddingModelState state)
    : InvalidOperationException(state.Enabled
        ? $"Model {state.Model.Key} has embedded {state.Embedded} of {state.TotalChunks} chunks; backfill it to 100% before activating it."
        : $"Model {state.Model.Key} is not enabled; backfill it (POST /models/{{model}}/backfill) before activating it.")
{
    /// <summary>The model's state when the check failed.</summary>
    public EmbeddingModelState State { get; } = state;
}


/// <summary>
/// Registers embedding models with their partial vector index and drives their lifecycle:
/// registered → enabled (backfilling) → ready → active, and dropped when no longer wanted.
/// </summary>
/// <param name="dataSource">The vector store's database.</param>
/// <param name="logger">Receives lifecycle events (backfill complete, activation, drop).</param>
/// <param name="indexes">Builds and drops the models' vector indexes; null = one over <paramref name="dataSource"/> without a logger.</param>
public sealed class EmbeddingModelStore(NpgsqlDataSource dataSource, ILogger<EmbeddingModelStore>? logger = null, VectorIndexBuilder? indexes = null)
{
    /// <summary>Largest dimensions pgvector's HNSW and IVFFlat indexes accept for the <c>vector</c> type.</summary>
    public const int MaxIndexedDimensions = 2000;

    private const long RegistrationLockKey = 0x5650_4D4F_4445_4C53; // "VPMODELS"

    private const string ModelColumns =
        "m.id, m.provider, m.name, m.dimensions, m.distance, m.index_method, m.hnsw_m, m.hnsw_ef_construction, m.ivfflat_lists, m.index_name, m.chunk_template";

    private const string StateColumns = ModelColumns + """
        , m.enabled, m.active, m.activate_when_complete,
        m.backfill_requested_at, m.backfill_completed_at,
        (SELECT count(*) FROM embeddings e WHERE e.model_id = m.id AND NOT e.provisional),
        (SELECT count(DISTINCT x.chunk_id) FROM embedding_errors x WHERE x.model_id = m.id
            AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = x.chunk_id AND e.model_id = m.id AND NOT e.provisional)),
        (SELECT count(*) FROM chunks)
        """;

    private readonly ILogger _logger = logger ?? NullLogger<EmbeddingModelStore>.Instance;
    private readonly VectorIndexBuilder _indexes = indexes ?? new VectorIndexBuilder(dataSource);

    /// <summary>
    /// Returns the model's row (identified by name and dimensions), creating it with <paramref name="index"/>
    /// when missing, then makes sure its partial index (for example <c>USING hnsw ((embedding::vector(N))
    /// vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE model_id = id</c>) exists. A missing or
    /// invalid index is built with <c>CREATE INDEX CONCURRENTLY</c>, so searches and embedding writes go on
    /// while it builds; one process builds it (a try-lock), the others go on. An existing index built with
    /// other settings is left in place (with a warning): changing the settings of a model that has vectors
    /// means a rebuild, which <see cref="VectorIndexBuilder.RebuildIndexAsync(int, VectorIndexSettings, IndexBuild, string, CancellationToken)"/> does without blocking searches.
    /// Safe to call from many processes at once.
    /// </summary>
    /// <param name="provider">Provider reaching the model; recorded, not part of the identity.</param>
    /// <param name="name">Model name.</param>
    /// <param name="dimensions">Vector length, 1..2000.</param>
    /// <param name="index">Distance and index settings for a new model; <see cref="VectorIndexSettings.Default"/> when null.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <exception cref="ArgumentOutOfRangeException">Dimensions outside 1..2000 (the HNSW and IVFFlat limit for <c>vector</c>).</exception>
    /// <exception cref="ArgumentException">An index parameter is out of range (see <see cref="VectorIndexSettings.Validate"/>).</exception>
    public async Task<EmbeddingModel> EnsureAsync(string provider, string name, int dimensions, VectorIndexSettings? index = null,
        CancellationToken cancellationToken = default)
    {
        if (dimensions is < 1 or > MaxIndexedDimensions)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions,
                $"Embedding dimensions must be between 1 and {MaxIndexedDimensions} (pgvector's HNSW limit for the vector type).");
        }

        index = (index ?? VectorIndexSettings.Default).Validate();
        int id;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockRegistrationAsync(connection, transaction, cancellationToken);
            await using (var upsert = new NpgsqlCommand("""
                INSERT INTO embedding_models (provider, name, dimensions, distance, index_method, hnsw_m, hnsw_ef_construction, ivfflat_lists)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (name, dimensions) DO UPDATE SET provider = excluded.provider
                RETURNING id
                """, connection, transaction))
            {
                upsert.Parameters.AddWithValue(provider);
                upsert.Parameters.AddWithValue(name);
                upsert.Parameters.AddWithValue(dimensions);
                AddIndexParameters(upsert, index);
                id = (int)(await upsert.ExecuteScalarAsync(cancellationToken))!;
            }

            await using (var setIndexName = new NpgsqlCommand("UPDATE embedding_models SET index_name = $2 WHERE id = $1 AND index_name IS NULL", connection, transaction))
            {
                setIndexName.Parameters.AddWithValue(id);
                setIndexName.Parameters.AddWithValue($"embeddings_{index.MethodName}_m{id}");
                await setIndexName.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        var model = (await FindAsync(id, cancellationToken))!;
        if (!index.IsSatisfiedBy(model.Index))
        {
            _logger.LogWarning(
                "Model {Model} is configured for an index with {Configured} but its index {Index} was built with {Built}; it is rebuilt in the background by Ingest.Api (or POST /models/{{model}}/reindex)",
                model.Key, index.Describe(), model.IndexName, model.Index.Describe());
        }

        await _indexes.RebuildIndexAsync(model.Id, model.Index, IndexBuild.WhenMissing, cancellationToken);
        return (await FindAsync(id, cancellationToken))!;
    }

    /// <summary>
    /// Makes <paramref name="modelId"/> enabled and active when no model is active yet (a new database);
    /// otherwise changes nothing. Returns the active model afterwards.
    /// </summary>
    public async Task<EmbeddingModel> ActivateIfNoneActiveAsync(int modelId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockRegistrationAsync(connection, transaction, cancellationToken);
        await using (var update = new NpgsqlCommand("""
            UPDATE embedding_models SET enabled = true, active = true
             WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM embedding_models WHERE active)
            """, connection, transaction))
        {
            update.Parameters.AddWithValue(modelId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (await GetActiveAsync(cancellationToken))!;
    }

    /// <summary>
    /// Records the chunk template Ingest.Api renders chunks with on every model that has none recorded yet, and
    /// returns the models recorded with another template (their vectors were made from other texts: re-post the
    /// documents, or backfill a new model, to make them consistent).
    /// </summary>
    public async Task<IReadOnlyList<EmbeddingModel>> RecordChunkTemplateAsync(string template, CancellationToken cancellationToken = default)
    {
        await using (var record = dataSource.CreateCommand("UPDATE embedding_models SET chunk_template = $1 WHERE chunk_template IS NULL"))
        {
            record.Parameters.AddWithValue(template);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        return (await QueryModelsAsync("", null, cancellationToken)).Where(m => m.ChunkTemplate != template).ToList();
    }

    /// <summary>The active model, or null when none is registered yet.</summary>
    public async Task<EmbeddingModel?> GetActiveAsync(CancellationToken cancellationToken = default) =>
        (await QueryModelsAsync("WHERE active", null, cancellationToken)).SingleOrDefault();

    /// <summary>Every enabled model (those workers embed new and changed chunks with), by id.</summary>
    public Task<IReadOnlyList<EmbeddingModel>> GetEnabledAsync(CancellationToken cancellationToken = default) =>
        QueryModelsAsync("WHERE enabled", null, cancellationToken);

    /// <summary>The model with this id, or null.</summary>
    public async Task<EmbeddingModel?> FindAsync(int id, CancellationToken cancellationToken = default) =>
        (await QueryModelsAsync("WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    /// <summary>
    /// The model a reference names: its key <c>{name}@{dimensions}</c>, its id, or its bare name when
    /// exactly one registered model has that name. Null when none matches.
    /// </summary>
    /// <exception cref="ArgumentException">A bare name matches models of several dimensions; the message lists their keys.</exception>
    public async Task<EmbeddingModel?> FindAsync(string reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var all = await QueryModelsAsync("", null, cancellationToken);
        if (int.TryParse(reference, out var id))
        {
            return all.SingleOrDefault(m => m.Id == id);
        }

        var byKey = all.SingleOrDefault(m => m.Key == reference);
        if (byKey is not null)
        {
            return byKey;
        }

        var byName = all.Where(m => m.Name == reference).ToList();
        return byName.Count switch
        {
            0 => null,
            1 => byName[0],
            _ => throw new ArgumentException($"Model name '{reference}' is ambiguous; use one of: {string.Join(", ", byName.Select(m => m.Key))}.", nameof(reference)),
        };
    }

    /// <summary>Every registered model with its state and exact counts, by id.</summary>
    public async Task<IReadOnlyList<EmbeddingModelState>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {StateColumns} FROM embedding_models m ORDER BY m.id");
        return await ReadStatesAsync(command, cancellationToken);
    }

    /// <summary>One model's state with exact counts, or null when there is no such model.</summary>
    public async Task<EmbeddingModelState?> GetStateAsync(int id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {StateColumns} FROM embedding_models m WHERE m.id = $1");
        command.Parameters.AddWithValue(id);
        return (await ReadStatesAsync(command, cancellationToken)).SingleOrDefault();
    }

    /// <summary>
    /// Starts (or restarts) a backfill: the model becomes enabled, so workers embed every new chunk with
    /// it, and the request time is recorded. The caller then queues the chunks <see cref="GetMissingAsync"/>
    /// pages through. Asking again is harmless: chunks already embedded are skipped by the workers.
    /// </summary>
    /// <returns>False when there is no such model.</returns>
    public async Task<bool> RequestBackfillAsync(int id, bool activateWhenComplete, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE embedding_models SET enabled = true, activate_when_complete = $2,
                   backfill_requested_at = now(), backfill_completed_at = NULL
             WHERE id = $1
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(activateWhenComplete);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>
    /// One page of chunks without an embedding of the model, by chunk key (keyset pagination): pass the
    /// last key of the previous page as <paramref name="afterChunkId"/> (0 for the first page).
    /// </summary>
    public async Task<IReadOnlyList<MissingChunk>> GetMissingAsync(int modelId, long afterChunkId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT c.id, c.document_id FROM chunks c
             WHERE c.id > $2 AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = $1 AND NOT e.provisional)
             ORDER BY c.id LIMIT $3
            """);
        command.Parameters.AddWithValue(modelId);
        command.Parameters.AddWithValue(afterChunkId);
        command.Parameters.AddWithValue(limit);
        var page = new List<MissingChunk>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(new MissingChunk(reader.GetInt64(0), reader.GetString(1)));
        }

        return page;
    }

    /// <summary>
    /// For every enabled, inactive model with an unfinished backfill: when every chunk has its embedding,
    /// records the completion and, if it was asked for, activates the model. Idempotent; several
    /// processes may run it at once.
    /// </summary>
    /// <returns>Models whose backfill completed in this call.</returns>
    public async Task<IReadOnlyList<EmbeddingModel>> CompleteBackfillsAsync(CancellationToken cancellationToken = default)
    {
        var pending = await QueryModelsAsync("WHERE enabled AND backfill_requested_at IS NOT NULL AND backfill_completed_at IS NULL", null, cancellationToken);
        var completed = new List<EmbeddingModel>();
        foreach (var model in pending)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await LockRegistrationAsync(connection, transaction, cancellationToken);
            bool activate;
            await using (var complete = new NpgsqlCommand("""
                UPDATE embedding_models m SET backfill_completed_at = now()
                 WHERE m.id = $1 AND m.backfill_completed_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = m.id AND NOT e.provisional))
                RETURNING m.activate_when_complete AND NOT m.active
                """, connection, transaction))
            {
                complete.Parameters.AddWithValue(model.Id);
                var result = await complete.ExecuteScalarAsync(cancellationToken);
                if (result is null)
                {
                    continue;
                }

                activate = (bool)result;
            }

            if (activate)
            {
                await SwitchActiveAsync(connection, transaction, model.Id, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            completed.Add(model);
            _logger.LogInformation("Backfill of model {Model} complete{Activated}", model.Key, activate ? "; it is now the active model" : "");
        }

        return completed;
    }

    /// <summary>
    /// Makes the model the active one in one transaction (searches that name no model use it from the
    /// next query on). The previously active model stays enabled, so switching back is one call too.
    /// </summary>
    /// <returns>False when there is no such model.</returns>
    /// <exception cref="ModelNotReadyException">
    /// Some chunks have no embedding of the model yet, or it is not enabled (never backfilled, or being dropped).
    /// </exception>
    public async Task<bool> ActivateAsync(int id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockRegistrationAsync(connection, transaction, cancellationToken);
        var state = await GetStateAsync(id, cancellationToken);
        if (state is null)
        {
            return false;
        }

        if (!state.Enabled || state.Embedded < state.TotalChunks)
        {
            throw new ModelNotReadyException(state);
        }

        await SwitchActiveAsync(connection, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        _logger.LogInformation("Model {Model} is now the active model", state.Model.Key);
        return true;
    }

    /// <summary>
    /// Drops a model that is not active: it stops being embedded, its vector index (and any left over from a rebuild) is dropped
    /// (<c>DROP INDEX CONCURRENTLY</c>, searches on other models go on), then its embeddings and errors
    /// are deleted in batches of 10,000 rows, then its row.
    /// </summary>
    /// <returns>False when there is no such model.</returns>
    /// <exception cref="InvalidOperationException">The model is the active one; activate another first.</exception>
    public async Task<bool> DropAsync(int id, CancellationToken cancellationToken = default)
    {
        var model = await FindAsync(id, cancellationToken);
        if (model is null)
        {
            return false;
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockRegistrationAsync(connection, transaction, cancellationToken);
            await using var disable = new NpgsqlCommand("UPDATE embedding_models SET enabled = false WHERE id = $1 AND NOT active", connection, transaction);
            disable.Parameters.AddWithValue(id);
            if (await disable.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new InvalidOperationException($"Model {model.Key} is the active model; activate another model before dropping it.");
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            await _indexes.DropStrayIndexesAsync(connection, id, keep: null, cancellationToken);
        }

        foreach (var table in new[] { "embeddings", "embedding_errors" })
        {
            int deleted;
            do
            {
                await using var delete = dataSource.CreateCommand(
                    $"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE model_id = $1 LIMIT 10000)");
                delete.Parameters.AddWithValue(id);
                deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
            }
            while (deleted > 0);
        }

        // Rows a worker wrote meanwhile go by cascade; the guard keeps a model activated meanwhile.
        await using (var delete = dataSource.CreateCommand("DELETE FROM embedding_models WHERE id = $1 AND NOT active"))
        {
            delete.Parameters.AddWithValue(id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        _logger.LogInformation("Model {Model} dropped with its embeddings and index", model.Key);
        return true;
    }

    // The unique index on "active" is checked row by row, so the old model is switched off first.
    private static async Task SwitchActiveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int id, CancellationToken cancellationToken)
    {
        foreach (var sql in new[]
        {
            "UPDATE embedding_models SET active = false WHERE active AND id <> $1",
            "UPDATE embedding_models SET active = true, enabled = true WHERE id = $1",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.AddWithValue(id);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Serialises changes to the model rows (registration, activation, drop, index switch) within a transaction.</summary>
    internal static async Task LockRegistrationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({RegistrationLockKey})", connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // distance, index_method, hnsw_m, hnsw_ef_construction, ivfflat_lists, in that order.
    internal static void AddIndexParameters(NpgsqlCommand command, VectorIndexSettings index)
    {
        command.Parameters.AddWithValue(index.DistanceName);
        command.Parameters.AddWithValue(index.MethodName);
        command.Parameters.AddWithValue(index.HnswM);
        command.Parameters.AddWithValue(index.HnswEfConstruction);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Integer, (object?)index.IvfFlatLists ?? DBNull.Value);
    }

    private static EmbeddingModel ReadModel(NpgsqlDataReader reader) => new(
        reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
        new VectorIndexSettings(
            VectorIndexSettings.ParseDistance(reader.GetString(4)), VectorIndexSettings.ParseMethod(reader.GetString(5)),
            reader.GetInt32(6), reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetInt32(8)),
        reader.GetString(9))
    {
        ChunkTemplate = reader.IsDBNull(10) ? null : reader.GetString(10),
    };

    /// <summary>The model row <paramref name="id"/>, or null (for <see cref="VectorIndexBuilder"/>, which reads the row it rebuilds).</summary>
    internal static async Task<EmbeddingModel?> FindAsync(NpgsqlDataSource dataSource, int id, CancellationToken cancellationToken) =>
        (await QueryModelsAsync(dataSource, "WHERE id = $1", id, cancellationToken)).SingleOrDefault();

    private Task<IReadOnlyList<EmbeddingModel>> QueryModelsAsync(string where, int? id, CancellationToken cancellationToken) =>
        QueryModelsAsync(dataSource, where, id, cancellationToken);

    private static async Task<IReadOnlyList<EmbeddingModel>> QueryModelsAsync(NpgsqlDataSource dataSource, string where, int? id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {ModelColumns} FROM embedding_models m {where} ORDER BY m.id");
        if (id is not null)
        {
            command.Parameters.AddWithValue(id.Value);
        }

        var models = new List<EmbeddingModel>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            models.Add(ReadModel(reader));
        }

        return models;
    }

    private static async Task<IReadOnlyList<EmbeddingModelState>> ReadStatesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var states = new List<EmbeddingModelState>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            states.Add(new EmbeddingModelState(
                ReadModel(reader),
                reader.GetBoolean(11), reader.GetBoolean(12), reader.GetBoolean(13),
                reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
                reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15),
                reader.GetInt64(16), reader.GetInt64(17), reader.GetInt64(18)));
        }

        return states;
    }
}
