using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace VectorPipeline.VectorStore.Indexing;

/// <summary>When <see cref="VectorIndexBuilder.RebuildIndexAsync(int, VectorIndexSettings, IndexBuild, string, CancellationToken)"/> builds a model's index.</summary>
public enum IndexBuild
{
    /// <summary>Only when the index does not exist or is invalid (registration).</summary>
    WhenMissing,

    /// <summary>Also when its settings differ from the desired ones, or its IVFFlat lists no longer fit the row count (maintenance).</summary>
    WhenOutdated,

    /// <summary>Always (an operator asked for it, for example after a bulk load into an IVFFlat model).</summary>
    Always,
}

/// <summary>What <see cref="VectorIndexBuilder.RebuildIndexAsync(int, VectorIndexSettings, IndexBuild, string, CancellationToken)"/> did.</summary>
public enum IndexBuildOutcome
{
    /// <summary>The index already served the settings.</summary>
    NotNeeded,

    /// <summary>A new index was built and is in use.</summary>
    Built,

    /// <summary>Another process is building this model's index; nothing was done.</summary>
    Busy,

    /// <summary>There is no such model.</summary>
    NotFound,
}

/// <summary>
/// Builds the models' partial vector indexes (one per model, <c>WHERE model_id = id</c>): the first build of a new
/// model, concurrent rebuilds with other settings that never leave searches without an index, the build memory of
/// the session (<c>maintenance_work_mem</c>), and the clean-up of stray indexes that interrupted builds or switches
/// left behind. The model lifecycle (register, backfill, activate, drop) is <see cref="EmbeddingModelStore"/>'s.
/// </summary>
/// <param name="dataSource">The vector store's database.</param>
/// <param name="logger">Receives build starts and ends, PostgreSQL notices during builds, and stray-index drops.</param>
public sealed partial class VectorIndexBuilder(NpgsqlDataSource dataSource, ILogger<VectorIndexBuilder>? logger = null)
{
    private const int IndexLockClass = 0x5650_4D49; // "VPMI"; the second key is the model id

    private readonly ILogger _logger = logger ?? NullLogger<VectorIndexBuilder>.Instance;

    /// <summary>
    /// True when <paramref name="value"/> is a PostgreSQL memory size this store accepts for index builds: a whole
    /// number from 1 with a unit of kB, MB, GB or TB (for example <c>1GB</c>, <c>512MB</c>).
    /// </summary>
    public static bool IsMemorySize(string value) => MemorySize().IsMatch(value);

    [System.Text.RegularExpressions.GeneratedRegex(@"^[1-9][0-9]{0,8}(kB|MB|GB|TB)$")]
    private static partial System.Text.RegularExpressions.Regex MemorySize();

    /// <summary>
    /// Builds the model's index with <paramref name="desired"/> settings when <paramref name="when"/> says so,
    /// without a moment in which searches find no index: a new index is built next to the old one with
    /// <c>CREATE INDEX CONCURRENTLY</c> (writes go on), then the model row switches to it in one transaction
    /// (searches read the row per query, so they move to the new operator and index at once), then the old
    /// index is dropped with <c>DROP INDEX CONCURRENTLY</c>. IVFFlat lists left to the row count are
    /// computed from the model's vectors now (<see cref="VectorIndexSettings.ListsFor"/>). One process
    /// builds a model's index at a time (a session try-lock; the others get <see cref="IndexBuildOutcome.Busy"/>).
    /// A build that died half-way leaves an invalid or orphaned index, which the next build drops.
    /// </summary>
    /// <param name="id">The model.</param>
    /// <param name="desired">Distance, method and parameters to build with.</param>
    /// <param name="when">Build only when the index is missing, also when it is outdated, or always.</param>
    /// <param name="cancellationToken">Cancels the build (an interrupted build leaves an invalid index behind, dropped by the next build).</param>
    /// <exception cref="ArgumentException">A parameter of <paramref name="desired"/> is out of range.</exception>
    public Task<IndexBuildOutcome> RebuildIndexAsync(int id, VectorIndexSettings desired, IndexBuild when, CancellationToken cancellationToken = default) =>
        RebuildIndexAsync(id, desired, when, null, cancellationToken);

    /// <summary>
    /// Builds the model's index as <see cref="RebuildIndexAsync(int, VectorIndexSettings, IndexBuild, CancellationToken)"/>
    /// does, with <c>maintenance_work_mem</c> = <paramref name="buildMemory"/> for the build's session (reset
    /// afterwards). pgvector builds an HNSW graph in memory while it fits in <c>maintenance_work_mem</c> and much more
    /// slowly once it does not (PostgreSQL's default is 64MB; 100,000 vectors of 384 dimensions need about 200MB).
    /// PostgreSQL notices raised during the build (such as pgvector's "hnsw graph no longer fits into
    /// maintenance_work_mem") are logged.
    /// </summary>
    /// <param name="id">The model.</param>
    /// <param name="desired">Distance, method and parameters to build with.</param>
    /// <param name="when">Build only when the index is missing, also when it is outdated, or always.</param>
    /// <param name="buildMemory">A PostgreSQL memory size such as <c>1GB</c> or <c>512MB</c> (units kB, MB, GB, TB), or null for the server's setting.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <exception cref="ArgumentException">A parameter of <paramref name="desired"/> is out of range, or <paramref name="buildMemory"/> is not a memory size.</exception>
    public async Task<IndexBuildOutcome> RebuildIndexAsync(int id, VectorIndexSettings desired, IndexBuild when, string? buildMemory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(desired);
        desired.Validate();
        if (buildMemory is not null && !IsMemorySize(buildMemory))
        {
            throw new ArgumentException($"'{buildMemory}' is not a PostgreSQL memory size such as 1GB or 512MB.", nameof(buildMemory));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var model = await EmbeddingModelStore.FindAsync(dataSource, id, cancellationToken);
        if (model is null)
        {
            return IndexBuildOutcome.NotFound;
        }

        if (when != IndexBuild.Always && await GetBuildReasonAsync(connection, model, desired, when, cancellationToken) is null)
        {
            return IndexBuildOutcome.NotNeeded;
        }

        // CREATE INDEX CONCURRENTLY cannot run in a transaction and waits for every older transaction, so it
        // must not wait behind an advisory lock that other sessions queue for inside transactions: a
        // session-level try-lock per model elects one builder and everyone else goes on.
        await using (var tryLock = new NpgsqlCommand($"SELECT pg_try_advisory_lock({IndexLockClass}, {id})", connection))
        {
            if (!(bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!)
            {
                _logger.LogInformation("Another process is building the index of model {Model}; not waiting for it", model.Key);
                return IndexBuildOutcome.Busy;
            }
        }

        try
        {
            model = await EmbeddingModelStore.FindAsync(dataSource, id, cancellationToken);
            if (model is null)
            {
                return IndexBuildOutcome.NotFound;
            }

            var reason = when == IndexBuild.Always ? "a rebuild was asked for" : await GetBuildReasonAsync(connection, model, desired, when, cancellationToken);
            if (reason is null)
            {
                await DropStrayIndexesAsync(connection, model.Id, model.IndexName, cancellationToken);
                return IndexBuildOutcome.NotNeeded;
            }

            var rows = await CountEmbeddingsAsync(connection, id, cancellationToken);
            var target = desired with
            {
                IvfFlatLists = desired.Method == VectorIndexMethod.IvfFlat ? desired.IvfFlatLists ?? VectorIndexSettings.ListsFor(rows) : null,
            };
            var current = await GetIndexValidityAsync(connection, model.IndexName, cancellationToken);
            if (current == false)
            {
                await ExecuteAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {model.IndexName}", cancellationToken);
                current = null;
            }

            // Nothing to keep serving searches: build under the recorded name (when it names the method).
            var name = current is null && model.IndexName.StartsWith($"embeddings_{target.MethodName}_m", StringComparison.Ordinal)
                ? model.IndexName
                : await NewIndexNameAsync(connection, model, target, cancellationToken);
            _logger.LogInformation("Building index {Index} of model {Model} ({Settings}) over {Rows} vectors: {Reason}",
                name, model.Key, target.Describe(), rows, reason);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();

            // Identifiers and numbers below come from the database row and validated settings, never from user input.
            void LogNotice(object sender, NpgsqlNoticeEventArgs e) =>
                _logger.LogInformation("PostgreSQL notice while building index {Index} of model {Model}: {Notice}", name, model.Key, e.Notice.MessageText);
            connection.Notice += LogNotice;
            try
            {
                if (buildMemory is not null)
                {
                    await ExecuteAsync(connection, $"SET maintenance_work_mem = '{buildMemory}'", cancellationToken);
                }

                await ExecuteAsync(connection,
                    $"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON embeddings USING {target.MethodName} ({model.VectorExpression} {target.OperatorClass}) " +
                    $"WITH ({target.StorageParameters(target.IvfFlatLists ?? 1)}) WHERE model_id = {id}",
                    cancellationToken);
            }
            finally
            {
                connection.Notice -= LogNotice;
                if (buildMemory is not null)
                {
                    await ExecuteAsync(connection, "RESET maintenance_work_mem", CancellationToken.None);
                }
            }

            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                await EmbeddingModelStore.LockRegistrationAsync(connection, transaction, cancellationToken);
                await using var update = new NpgsqlCommand("""
                    UPDATE embedding_models SET distance = $2, index_method = $3, hnsw_m = $4, hnsw_ef_construction = $5,
                           ivfflat_lists = $6, index_name = $7
                     WHERE id = $1
                    """, connection, transaction);
                update.Parameters.AddWithValue(id);
                EmbeddingModelStore.AddIndexParameters(update, target);
                update.Parameters.AddWithValue(name);
                await update.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }

            await DropStrayIndexesAsync(connection, id, name, cancellationToken);
            _logger.LogInformation("Index {Index} of model {Model} is in use ({Settings}); built in {Seconds:F1} s",
                name, model.Key, target.Describe(), System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            return IndexBuildOutcome.Built;
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({IndexLockClass}, {id})", connection);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Why the model's index should be (re)built with <paramref name="desired"/>, or null when it serves them:
    /// the index is missing or invalid; (unless <paramref name="when"/> is <see cref="IndexBuild.WhenMissing"/>)
    /// its distance, method or parameters differ; or its IVFFlat lists, left to the row count, are off by a
    /// factor of two or more from what the current number of vectors calls for.
    /// </summary>
    public async Task<string?> GetBuildReasonAsync(EmbeddingModel model, VectorIndexSettings desired, IndexBuild when, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return when == IndexBuild.Always ? "a rebuild was asked for" : await GetBuildReasonAsync(connection, model, desired, when, cancellationToken);
    }

    private static async Task<string?> GetBuildReasonAsync(NpgsqlConnection connection, EmbeddingModel model, VectorIndexSettings desired, IndexBuild when,
        CancellationToken cancellationToken)
    {
        switch (await GetIndexValidityAsync(connection, model.IndexName, cancellationToken))
        {
            case null:
                return $"index {model.IndexName} does not exist";
            case false:
                return $"index {model.IndexName} is invalid (an earlier build stopped half-way)";
        }

        if (when == IndexBuild.WhenMissing)
        {
            return null;
        }

        if (!desired.IsSatisfiedBy(model.Index))
        {
            return $"the configured index ({desired.Describe()}) differs from the built one ({model.Index.Describe()})";
        }

        if (desired is { Method: VectorIndexMethod.IvfFlat, IvfFlatLists: null } && model.Index.IvfFlatLists is { } built)
        {
            var rows = await CountEmbeddingsAsync(connection, model.Id, cancellationToken);
            var wanted = VectorIndexSettings.ListsFor(rows);
            if (wanted >= 2 * built || wanted * 2 <= built)
            {
                return $"it has {built} lists, and {rows} vectors call for {wanted}";
            }
        }

        return null;
    }


    private static async Task<long> CountEmbeddingsAsync(NpgsqlConnection connection, int modelId, CancellationToken cancellationToken)
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM embeddings WHERE model_id = $1", connection);
        count.Parameters.AddWithValue(modelId);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    // embeddings_{method}_m{id}, then _2, _3, ... : the first name that is neither the current index nor taken.
    private static async Task<string> NewIndexNameAsync(NpgsqlConnection connection, EmbeddingModel model, VectorIndexSettings target, CancellationToken cancellationToken)
    {
        var stem = $"embeddings_{target.MethodName}_m{model.Id}";
        for (var n = 1; ; n++)
        {
            var candidate = n == 1 ? stem : $"{stem}_{n}";
            if (candidate != model.IndexName && await GetIndexValidityAsync(connection, candidate, cancellationToken) is null)
            {
                return candidate;
            }
        }
    }

    // Indexes of this model other than the one in use: left by a build that stopped before switching, or
    // by a switch that stopped before dropping the old index.
    internal async Task DropStrayIndexesAsync(NpgsqlConnection connection, int modelId, string? keep, CancellationToken cancellationToken)
    {
        var stray = new List<string>();
        await using (var find = new NpgsqlCommand("""
            SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'embeddings'::regclass AND c.relname ~ $1 AND c.relname <> coalesce($2, '')
            """, connection))
        {
            find.Parameters.AddWithValue($"^embeddings_(hnsw|ivfflat)_m{modelId}(_[0-9]+)?$");
            find.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)keep ?? DBNull.Value);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stray.Add(reader.GetString(0));
            }
        }

        foreach (var name in stray)
        {
            _logger.LogInformation("Dropping index {Index} of model {ModelId}: no longer in use", name, modelId);
            await ExecuteAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {name}", cancellationToken);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool?> GetIndexValidityAsync(NpgsqlConnection connection, string indexName, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
            connection);
        command.Parameters.AddWithValue(indexName);
        return await command.ExecuteScalarAsync(cancellationToken) as bool?;
    }
}
