using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using Pgvector;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.VectorStore.Search;

/// <summary>One search hit.</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">The document's client key (without its tenant, see <see cref="DocumentKey"/>).</param>
/// <param name="Title">Document title, if any.</param>
/// <param name="Text">Chunk text.</param>
/// <param name="Score">
/// The mode's score, higher is closer: for vector search it follows the model's distance (cosine similarity,
/// inner product, or 1 / (1 + L2 distance); see <see cref="VectorIndexSettings.ScoreSql"/>); <c>ts_rank_cd</c>
/// for keyword search; the fused score for hybrid search.
/// </param>
/// <param name="MetadataJson">The document's metadata (a JSON object).</param>
/// <param name="Embedding">
/// The chunk's embedding for the searched model (length = the model's dimensions), when asked for with
/// <see cref="VectorSearchOptions.IncludeEmbeddings"/> or <see cref="ChunkSearch.GetEmbeddingsAsync"/>; null otherwise.
/// </param>
public sealed record ChunkHit(long ChunkId, string DocumentId, string? Title, string Text, double Score, string MetadataJson, float[]? Embedding = null);

/// <summary>How <see cref="ChunkSearch.SearchAsync(EmbeddingModel, ReadOnlyMemory{float}, int, double?, int, SearchFilter?, VectorSearchOptions, CancellationToken)"/> runs.</summary>
/// <param name="Exact">
/// Skip the vector index: the query orders by <c>(distance) + 0</c>, an expression the index cannot return in
/// order, so PostgreSQL computes the distance to every embedding of the model that passes the filter
/// (a sequential scan, or the filter's own indexes first) and sorts; the result is the true top-k. Cost grows
/// linearly with the number of rows scanned; meant for measuring the index's recall and for filters so
/// selective that scanning the matching rows is cheap.
/// </param>
/// <param name="IncludeEmbeddings">Also return each hit's embedding (<see cref="ChunkHit.Embedding"/>).</param>
/// <param name="Probes">
/// IVFFlat models: lists to scan (<c>ivfflat.probes</c>, set for the query's transaction only), 1..the
/// index's lists; √lists when null (<see cref="VectorIndexSettings.DefaultProbes"/>). Ignored for HNSW models.
/// </param>
public sealed record VectorSearchOptions(bool Exact = false, bool IncludeEmbeddings = false, int? Probes = null)
{
    /// <summary>Through the model's index, without embeddings.</summary>
    public static readonly VectorSearchOptions Default = new();
}

/// <summary>Nearest-neighbour and full-text queries over chunks, optionally filtered.</summary>
public sealed partial class ChunkSearch(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Top-k chunks nearest to <paramref name="query"/> by the model's distance (<c>&lt;=&gt;</c> cosine,
    /// <c>&lt;-&gt;</c> L2 or <c>&lt;#&gt;</c> inner product, matching its index's operator class) through the
    /// model's index, with the index's query knob set for this query's transaction only (<c>set_config</c> with
    /// <c>is_local</c> of <c>hnsw.ef_search</c>, or <c>ivfflat.probes</c> = √lists, sent in the same round trip as the
    /// query), so the setting never leaks to other requests on the pooled connection. With a filter, pgvector 0.8's
    /// iterative index scan (<c>hnsw.iterative_scan</c> / <c>ivfflat.iterative_scan</c> = <c>relaxed_order</c>, also local)
    /// keeps scanning until <paramref name="topK"/> matching rows are found (or the scan limit is reached),
    /// and the hits are re-sorted by score. Hits below <paramref name="minScore"/> are dropped.
    /// </summary>
    /// <param name="model">The model whose vectors to search.</param>
    /// <param name="query">Query embedding; length = model dimensions.</param>
    /// <param name="topK">Number of nearest chunks to return, 1..1000 (ef_search is raised to at least topK).</param>
    /// <param name="minScore">Smallest score kept (see <see cref="ChunkHit.Score"/>), or null.</param>
    /// <param name="efSearch">HNSW candidate list size, 1..1000 (ignored for IVFFlat models).</param>
    /// <param name="filter">Restricts the documents searched, or null.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">Query length differs from the model's dimensions.</exception>
    public Task<IReadOnlyList<ChunkHit>> SearchAsync(EmbeddingModel model, ReadOnlyMemory<float> query, int topK, double? minScore, int efSearch,
        SearchFilter? filter = null, CancellationToken cancellationToken = default) =>
        SearchAsync(model, query, topK, minScore, efSearch, filter, VectorSearchOptions.Default, cancellationToken);

    /// <summary>
    /// Top-k chunks nearest to <paramref name="query"/>, as
    /// <see cref="SearchAsync(EmbeddingModel, ReadOnlyMemory{float}, int, double?, int, SearchFilter?, CancellationToken)"/>,
    /// optionally without the index (<see cref="VectorSearchOptions.Exact"/>: an exact sequential scan, for
    /// measuring recall and for very selective filters), with each hit's embedding
    /// (<see cref="VectorSearchOptions.IncludeEmbeddings"/>) and with the IVFFlat probes of the request
    /// (<see cref="VectorSearchOptions.Probes"/>).
    /// </summary>
    /// <param name="model">The model whose vectors to search.</param>
    /// <param name="query">Query embedding; length = model dimensions.</param>
    /// <param name="topK">Number of nearest chunks to return, 1..1000.</param>
    /// <param name="minScore">Smallest score kept (see <see cref="ChunkHit.Score"/>), or null.</param>
    /// <param name="efSearch">HNSW candidate list size, 1..1000 (ignored by an exact search and for IVFFlat models).</param>
    /// <param name="filter">Restricts the documents searched, or null.</param>
    /// <param name="options">Exact scan, embeddings, probes; <see cref="VectorSearchOptions.Default"/> for none.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">Query length differs from the model's dimensions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">topK outside 1..1000, or probes outside 1..32768.</exception>
    public async Task<IReadOnlyList<ChunkHit>> SearchAsync(EmbeddingModel model, ReadOnlyMemory<float> query, int topK, double? minScore, int efSearch,
        SearchFilter? filter, VectorSearchOptions options, CancellationToken cancellationToken = default)
    {
        await using var batch = PrepareVectorSearch(model, query, topK, minScore, efSearch, filter, options);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken); // past the settings' row
        return await ReadHitsAsync(reader, topK, cancellationToken);
    }

    /// <summary>
    /// The query plan (<c>EXPLAIN</c>, text format) of the vector search the same arguments would run, with
    /// the same settings: shows whether the model's index (its name appears in an
    /// <c>Index Scan</c> node) or a sequential scan serves the search. For diagnosis and tests.
    /// </summary>
    /// <exception cref="ArgumentException">Query length differs from the model's dimensions.</exception>
    public async Task<string> ExplainAsync(EmbeddingModel model, ReadOnlyMemory<float> query, int topK, int efSearch,
        SearchFilter? filter = null, VectorSearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var batch = PrepareVectorSearch(model, query, topK, null, efSearch, filter, options ?? VectorSearchOptions.Default);
        batch.BatchCommands[1].CommandText = "EXPLAIN " + batch.BatchCommands[1].CommandText;
        var plan = new StringBuilder();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            plan.AppendLine(reader.GetString(0));
        }

        return plan.ToString();
    }

    // One batch, so one round trip: the index's query settings by set_config(..., is_local => true), then the search.
    // A batch runs in one implicit transaction (the extended protocol's messages up to its one Sync), so the settings
    // hold for the search and end with it: they never leak to the next user of the pooled connection.
    private NpgsqlBatch PrepareVectorSearch(EmbeddingModel model, ReadOnlyMemory<float> query, int topK, double? minScore, int efSearch,
        SearchFilter? filter, VectorSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (query.Length != model.Dimensions)
        {
            throw new ArgumentException($"Query vector has {query.Length} dimensions, model {model.Name} declares {model.Dimensions}.", nameof(query));
        }

        CheckTopK(topK);
        if (options.Probes is < 1 or > VectorIndexSettings.MaxIvfFlatLists)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Probes, $"Probes must be between 1 and {VectorIndexSettings.MaxIvfFlatLists}.");
        }

        var index = model.Index;
        var filtered = filter is { IsEmpty: false };
        string settings;
        if (index.Method == VectorIndexMethod.IvfFlat)
        {
            var lists = index.IvfFlatLists ?? 1;
            var probes = Math.Min(options.Probes ?? VectorIndexSettings.DefaultProbes(lists), lists);
            settings = $"SELECT set_config('ivfflat.probes', '{probes.ToString(CultureInfo.InvariantCulture)}', true)"
                + (filtered && !options.Exact ? ", set_config('ivfflat.iterative_scan', 'relaxed_order', true)" : "");
        }
        else
        {
            var ef = Math.Clamp(Math.Max(efSearch, topK), 1, 1000);
            settings = $"SELECT set_config('hnsw.ef_search', '{ef.ToString(CultureInfo.InvariantCulture)}', true)"
                + (filtered && !options.Exact ? ", set_config('hnsw.iterative_scan', 'relaxed_order', true)" : "");
        }

        // The vector expression, operator and model id are literals so the planner matches the model's
        // partial expression index; all come from embedding_models, never from the request.
        var search = new NpgsqlBatchCommand();
        search.Parameters.AddWithValue(new Vector(query));
        search.Parameters.AddWithValue(topK);
        search.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Double, (object?)minScore ?? DBNull.Value);
        var distance = $"e.{model.VectorExpression[1..^1]} {index.Operator} $1::vector({model.Dimensions})";
        var embedding = options.IncludeEmbeddings ? $", e.embedding AS embedding" : "";
        var sql = new StringBuilder($"""
            SELECT h.chunk_id, c.document_id, d.title, c.text, h.score, d.metadata::text{(options.IncludeEmbeddings ? ", h.embedding" : "")}
              FROM (SELECT e.chunk_id, {index.ScoreSql(distance)} AS score{embedding}
                      FROM embeddings e
            """);
        if (filtered)
        {
            sql.Append(" JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id");
        }

        sql.Append($" WHERE e.model_id = {model.Id}");
        if (filtered)
        {
            sql.Append(" AND ");
            filter!.AppendSql(sql, search.Parameters);
        }

        // Exact: "+ 0" makes the sort key an expression the index cannot produce in order, so the planner
        // computes the distance to every candidate row (a sequential scan, or the filter's own indexes) and sorts.
        sql.Append($"""
                      ORDER BY {(options.Exact ? $"({distance}) + 0" : distance)}
                     LIMIT $2) h
              JOIN chunks c ON c.id = h.chunk_id
              JOIN documents d ON d.id = c.document_id
             WHERE $3::double precision IS NULL OR h.score >= $3
             ORDER BY h.score DESC, h.chunk_id
            """);
        search.CommandText = sql.ToString();
        var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(settings));
        batch.BatchCommands.Add(search);
        return batch;
    }

    /// <summary>
    /// The embeddings of the model for the given chunks (length = the model's dimensions),
    /// keyed by chunk id; chunks without an embedding for the model are absent. Used to give MMR the vectors
    /// of hits that did not come from a vector search (hybrid's keyword-only hits).
    /// </summary>
    /// <param name="model">The model whose vectors to read.</param>
    /// <param name="chunkIds">Chunk keys, at most a few thousand.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyDictionary<long, float[]>> GetEmbeddingsAsync(EmbeddingModel model, IReadOnlyCollection<long> chunkIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunkIds);
        var embeddings = new Dictionary<long, float[]>(chunkIds.Count);
        if (chunkIds.Count == 0)
        {
            return embeddings;
        }

        await using var command = dataSource.CreateCommand(
            $"SELECT e.chunk_id, e.embedding FROM embeddings e WHERE e.model_id = {model.Id} AND e.chunk_id = ANY($1)");
        command.Parameters.AddWithValue(chunkIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            embeddings[reader.GetInt64(0)] = reader.GetFieldValue<Vector>(1).ToArray();
        }

        return embeddings;
    }

    /// <summary>
    /// Top-k chunks by PostgreSQL full-text search: the query's words (stemmed and stop words removed by the
    /// text-search configuration) combined with OR, matched against <c>to_tsvector(config, text)</c> (GIN
    /// index from <see cref="EnsureTextSearchIndexAsync"/>) and ranked by <c>ts_rank_cd</c> (cover density;
    /// higher is better, not bounded by 1). Hits below <paramref name="minScore"/> are dropped.
    /// </summary>
    /// <param name="textSearchConfiguration">A configuration in <c>pg_ts_config</c> (for example <c>english</c>), checked by <see cref="EnsureTextSearchIndexAsync"/>.</param>
    /// <param name="query">The user's text.</param>
    /// <param name="topK">Number of chunks to return, 1..1000.</param>
    /// <param name="minScore">Smallest <c>ts_rank_cd</c> kept, or null.</param>
    /// <param name="filter">Restricts the documents searched, or null.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">The configuration name is not a plain identifier.</exception>
    public async Task<IReadOnlyList<ChunkHit>> KeywordSearchAsync(string textSearchConfiguration, string query, int topK, double? minScore,
        SearchFilter? filter = null, CancellationToken cancellationToken = default)
    {
        CheckTopK(topK);
        var config = Identifier(textSearchConfiguration);
        await using var command = dataSource.CreateCommand();
        command.Parameters.AddWithValue(query);
        command.Parameters.AddWithValue(topK);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Double, (object?)minScore ?? DBNull.Value);
        var vector = $"to_tsvector('{config}'::regconfig, c.text)";
        var sql = new StringBuilder($"""
            SELECT c.id, c.document_id, d.title, c.text, ts_rank_cd({vector}, q.query)::double precision AS score, d.metadata::text
              FROM chunks c JOIN documents d ON d.id = c.document_id,
                   (SELECT nullif(replace(plainto_tsquery('{config}'::regconfig, $1)::text, '&', '|'), '')::tsquery AS query) q
             WHERE {vector} @@ q.query AND (
            """);
        if (filter is null)
        {
            sql.Append("TRUE");
        }
        else
        {
            filter.AppendSql(sql, command.Parameters);
        }

        sql.Append(") AND ($3::double precision IS NULL OR ts_rank_cd(").Append(vector).Append(", q.query) >= $3) ORDER BY score DESC, c.id LIMIT $2");
        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadHitsAsync(reader, topK, cancellationToken);
    }

    /// <summary>
    /// Makes sure the text-search configuration exists and that chunks have a GIN index on
    /// <c>to_tsvector(config, text)</c> (<c>chunks_text_search_{config}</c>), building it with
    /// <c>CREATE INDEX CONCURRENTLY</c> so ingestion goes on meanwhile.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration is not in <c>pg_ts_config</c>; the message lists the available ones.</exception>
    public async Task EnsureTextSearchIndexAsync(string textSearchConfiguration, CancellationToken cancellationToken = default)
    {
        var config = Identifier(textSearchConfiguration);
        await using (var exists = dataSource.CreateCommand("SELECT array_agg(cfgname::text ORDER BY cfgname) FROM pg_ts_config"))
        {
            var available = (string[])(await exists.ExecuteScalarAsync(cancellationToken))!;
            if (!available.Contains(config))
            {
                throw new ArgumentException($"Text-search configuration '{config}' does not exist; PostgreSQL has: {string.Join(", ", available)}.", nameof(textSearchConfiguration));
            }
        }

        await using var create = dataSource.CreateCommand(
            $"CREATE INDEX CONCURRENTLY IF NOT EXISTS chunks_text_search_{config} ON chunks USING gin (to_tsvector('{config}'::regconfig, text))");
        create.CommandTimeout = 0;
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Identifier(string name) => IdentifierPattern().IsMatch(name)
        ? name
        : throw new ArgumentException($"'{name}' is not a valid text-search configuration name (letters, digits, underscore).", nameof(name));

    private static void CheckTopK(int topK)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(topK, 1000);
    }

    private static async Task<List<ChunkHit>> ReadHitsAsync(NpgsqlDataReader reader, int topK, CancellationToken cancellationToken)
    {
        var hits = new List<ChunkHit>(topK);
        while (await reader.ReadAsync(cancellationToken))
        {
            hits.Add(new ChunkHit(reader.GetInt64(0), DocumentKey.ClientId(reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.GetDouble(4), reader.GetString(5), reader.FieldCount > 6 ? reader.GetFieldValue<Vector>(6).ToArray() : null));
        }

        return hits;
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();
}
