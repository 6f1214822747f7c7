using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Indexing;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Distance per model (operator class in the index, operator in the query), HNSW build parameters, IVFFlat
/// with lists from the row count and probes per query, and rebuilding an index without a pause in searches;
/// against the real PostgreSQL + pgvector.
/// </summary>
public class VectorIndexTests(ServersFixture servers)
{
    private const int Dimensions = 32;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("cosine", "vector_cosine_ops")]
    [InlineData("l2", "vector_l2_ops")]
    [InlineData("inner_product", "vector_ip_ops")]
    public async Task Each_distance_indexes_with_its_operator_class_and_ranks_and_scores_by_its_metric(string distanceName, string operatorClass)
    {
        await using var dataSource = await NewStoreAsync();
        var distance = VectorIndexSettings.ParseDistance(distanceName);
        var indexes = new VectorIndexBuilder(dataSource);
        var models = new EmbeddingModelStore(dataSource, indexes: indexes);
        var model = await models.EnsureAsync("http", "model-" + distanceName, Dimensions, new VectorIndexSettings(distance, HnswM: 8, HnswEfConstruction: 40), Token);
        var vectors = await StoreVectorsAsync(dataSource, model, documents: 10, chunksPerDocument: 150, seed: 1);

        var definition = await IndexDefinitionAsync(dataSource, model.IndexName);
        Assert.Contains("USING hnsw", definition);
        Assert.Equal(operatorClass, await OperatorClassAsync(dataSource, model.IndexName));
        Assert.Contains("m='8'", definition);
        Assert.Contains("ef_construction='40'", definition);

        var search = new ChunkSearch(dataSource);
        var query = RandomVector(new Random(99));
        Assert.Contains($"Index Scan using {model.IndexName}", await search.ExplainAsync(model, query, 10, 100, cancellationToken: Token));

        // Vectors are not unit length here, so the three metrics rank differently: the exact top-10 by the
        // model's own metric is what the index must return, with the score the metric defines.
        var expected = vectors.OrderByDescending(v => Score(distance, query, v.Value)).Take(10).ToList();
        var hits = await search.SearchAsync(model, query, 10, null, 400, cancellationToken: Token);
        Assert.Equal(expected.Select(v => v.Key), hits.Select(h => h.ChunkId));
        foreach (var hit in hits)
        {
            Assert.Equal(Score(distance, query, vectors[hit.ChunkId]), hit.Score, 3);
        }
    }

    [Fact]
    public async Task Changing_the_settings_builds_a_new_index_beside_the_old_one_and_searches_never_stop()
    {
        await using var dataSource = await NewStoreAsync();
        var indexes = new VectorIndexBuilder(dataSource);
        var models = new EmbeddingModelStore(dataSource, indexes: indexes);
        var model = await models.EnsureAsync("http", "rebuilt", Dimensions, cancellationToken: Token);
        Assert.Equal(($"embeddings_hnsw_m{model.Id}", VectorIndexSettings.Default), (model.IndexName, model.Index));
        var vectors = await StoreVectorsAsync(dataSource, model, documents: 30, chunksPerDocument: 100, seed: 2);

        // Searches run against the model row they read; they must all succeed with topK hits while the index changes.
        var search = new ChunkSearch(dataSource);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var searches = Task.Run(async () =>
        {
            var (count, random) = (0, new Random(5));
            while (!stop.IsCancellationRequested)
            {
                var current = (await models.FindAsync(model.Id, Token))!;
                var hits = await search.SearchAsync(current, RandomVector(random), 10, null, 40, cancellationToken: Token);
                Assert.Equal(10, hits.Count);
                count++;
            }

            return count;
        }, Token);

        var wanted = new VectorIndexSettings(VectorDistance.L2, VectorIndexMethod.IvfFlat);
        Assert.NotNull(await indexes.GetBuildReasonAsync(model, wanted, IndexBuild.WhenOutdated, Token));
        Assert.Equal(IndexBuildOutcome.Built, await indexes.RebuildIndexAsync(model.Id, wanted, IndexBuild.WhenOutdated, Token));
        await Task.Delay(200, Token);
        await stop.CancelAsync();
        Assert.True(await searches > 0);

        var rebuilt = (await models.FindAsync(model.Id, Token))!;
        Assert.Equal(new VectorIndexSettings(VectorDistance.L2, VectorIndexMethod.IvfFlat, IvfFlatLists: 3), rebuilt.Index); // 3,000 rows / 1000
        Assert.NotEqual(model.IndexName, rebuilt.IndexName);
        Assert.Null(await IndexDefinitionAsync(dataSource, model.IndexName));
        var definition = await IndexDefinitionAsync(dataSource, rebuilt.IndexName);
        Assert.Contains("USING ivfflat", definition);
        Assert.Equal("vector_l2_ops", await OperatorClassAsync(dataSource, rebuilt.IndexName));
        Assert.Contains("lists='3'", definition);
        Assert.Equal(IndexBuildOutcome.NotNeeded, await indexes.RebuildIndexAsync(model.Id, wanted, IndexBuild.WhenOutdated, Token));

        // Registering again with other settings does not rebuild (that is the maintenance job's work).
        Assert.Equal(rebuilt, await models.EnsureAsync("http", "rebuilt", Dimensions, VectorIndexSettings.Default, Token));

        // Probing every list is an exact search.
        var query = RandomVector(new Random(7));
        Assert.Contains($"Index Scan using {rebuilt.IndexName}", await new ChunkSearch(dataSource).ExplainAsync(rebuilt, query, 10, 40, cancellationToken: Token));
        var exact = vectors.OrderBy(v => L2(query, v.Value)).Take(10).Select(v => v.Key);
        var allLists = await search.SearchAsync(rebuilt, query, 10, null, 40, null, new VectorSearchOptions(Probes: 3), Token);
        Assert.Equal(exact, allLists.Select(h => h.ChunkId));
    }

    [Fact]
    public async Task Ivfflat_lists_follow_the_row_count_and_iterative_scans_fill_top_k_under_a_selective_filter()
    {
        await using var dataSource = await NewStoreAsync();
        var indexes = new VectorIndexBuilder(dataSource);
        var models = new EmbeddingModelStore(dataSource, indexes: indexes);
        var settings = new VectorIndexSettings(VectorDistance.Cosine, VectorIndexMethod.IvfFlat);
        var model = await models.EnsureAsync("http", "ivf", Dimensions, settings, Token);
        Assert.Equal(1, model.Index.IvfFlatLists); // built on an empty model: one list
        await StoreVectorsAsync(dataSource, model, documents: 40, chunksPerDocument: 100, seed: 3);

        Assert.Contains("4000 vectors call for 4", await indexes.GetBuildReasonAsync(model, settings, IndexBuild.WhenOutdated, Token));
        Assert.Null(await indexes.GetBuildReasonAsync(model, settings, IndexBuild.WhenMissing, Token));
        Assert.Equal(IndexBuildOutcome.Built, await indexes.RebuildIndexAsync(model.Id, settings, IndexBuild.WhenOutdated, Token));
        model = (await models.FindAsync(model.Id, Token))!;
        Assert.Equal(4, model.Index.IvfFlatLists);

        // One document of 40 (2.5% of rows); one probe reaches about a quarter of its 100 chunks, fewer than
        // topK 50, so only the iterative scan (ivfflat.iterative_scan) can fill the answer.
        var errors = new Dictionary<string, string[]>();
        var filter = SearchFilterParser.Parse(System.Text.Json.JsonDocument.Parse("""{"metadata":{"field":"group","eq":17}}""").RootElement, errors);
        Assert.Empty(errors);
        Assert.Contains($"Index Scan using {model.IndexName}",
            await new ChunkSearch(dataSource).ExplainAsync(model, RandomVector(new Random(11)), 50, 40, filter, new VectorSearchOptions(Probes: 1), Token));
        var hits = await new ChunkSearch(dataSource).SearchAsync(model, RandomVector(new Random(11)), 50, null, 40, filter,
            new VectorSearchOptions(Probes: 1), Token);
        Assert.Equal(50, hits.Count);
        Assert.All(hits, h => Assert.Equal("doc-17", h.DocumentId));
    }

    [Fact]
    public async Task A_search_sets_its_index_settings_for_itself_only_not_for_the_next_user_of_the_connection()
    {
        var connectionString = await servers.NewDatabaseAsync();
        await using var setup = VectorStoreExtensions.CreateDataSource(connectionString);
        await new SchemaMigrator(setup, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var model = await new EmbeddingModelStore(setup, indexes: new VectorIndexBuilder(setup)).EnsureAsync("http", "settings", Dimensions, cancellationToken: Token);
        await StoreVectorsAsync(setup, model, documents: 2, chunksPerDocument: 50, seed: 6);

        // One pooled connection, so the next command runs on the very connection the search used, and no reset
        // (DISCARD ALL) when it goes back to the pool, so that only the search's own scoping can keep its settings in.
        await using var single = VectorStoreExtensions.CreateDataSource(
            new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1, NoResetOnClose = true }.ConnectionString);
        var hits = await new ChunkSearch(single).SearchAsync(model, RandomVector(new Random(8)), 10, null, 237, SearchFilter.ForTenant(""), VectorSearchOptions.Default, Token);

        Assert.Equal(10, hits.Count);
        await using var settings = single.CreateCommand("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')");
        await using var reader = await settings.ExecuteReaderAsync(Token);
        Assert.True(await reader.ReadAsync(Token));
        Assert.Equal(("40", "off"), (reader.GetString(0), reader.GetString(1))); // pgvector's defaults
    }

    [Fact]
    public async Task A_rebuild_drops_indexes_a_crashed_build_left_behind()
    {
        await using var dataSource = await NewStoreAsync();
        var indexes = new VectorIndexBuilder(dataSource);
        var models = new EmbeddingModelStore(dataSource, indexes: indexes);
        var model = await models.EnsureAsync("http", "strays", Dimensions, cancellationToken: Token);
        await using (var orphan = dataSource.CreateCommand(
            $"CREATE INDEX embeddings_ivfflat_m{model.Id}_2 ON embeddings USING ivfflat ({model.VectorExpression} vector_l2_ops) WITH (lists = 1) WHERE model_id = {model.Id}"))
        {
            await orphan.ExecuteNonQueryAsync(Token);
        }

        Assert.Equal(IndexBuildOutcome.Built, await indexes.RebuildIndexAsync(model.Id, model.Index, IndexBuild.Always, Token));
        var rebuilt = (await models.FindAsync(model.Id, Token))!;
        Assert.Equal($"embeddings_hnsw_m{model.Id}_2", rebuilt.IndexName);
        Assert.Null(await IndexDefinitionAsync(dataSource, $"embeddings_ivfflat_m{model.Id}_2"));
        Assert.Null(await IndexDefinitionAsync(dataSource, model.IndexName));
        Assert.Equal("vector_cosine_ops", await OperatorClassAsync(dataSource, rebuilt.IndexName));
    }

    [Fact]
    public async Task Index_builds_run_with_the_given_maintenance_work_mem_and_log_what_postgres_notices()
    {
        await using var dataSource = await NewStoreAsync();
        var log = new FakeLogger<VectorIndexBuilder>();
        var indexes = new VectorIndexBuilder(dataSource, log);
        var models = new EmbeddingModelStore(dataSource, indexes: indexes);
        var settings = VectorIndexSettings.Default;
        var model = await models.EnsureAsync("http", "build-memory", Dimensions, settings, Token);
        await StoreVectorsAsync(dataSource, model, documents: 20, chunksPerDocument: 200, seed: 4);

        // 1MB, PostgreSQL's smallest setting, holds only part of a 4,000-vector graph: pgvector says so in a notice.
        Assert.Equal(IndexBuildOutcome.Built, await indexes.RebuildIndexAsync(model.Id, settings, IndexBuild.Always, "1MB", Token));
        Assert.Contains(log.Collector.GetSnapshot(), e => e.Message.Contains("PostgreSQL notice", StringComparison.Ordinal) && e.Message.Contains("maintenance_work_mem", StringComparison.Ordinal));

        // With room for the whole graph it builds in memory: no such notice.
        var before = log.Collector.GetSnapshot().Count;
        Assert.Equal(IndexBuildOutcome.Built, await indexes.RebuildIndexAsync(model.Id, settings, IndexBuild.Always, "256MB", Token));
        Assert.DoesNotContain(log.Collector.GetSnapshot().Skip(before), e => e.Message.Contains("maintenance_work_mem", StringComparison.Ordinal));
        Assert.Contains("USING hnsw", await IndexDefinitionAsync(dataSource, (await models.FindAsync(model.Id, Token))!.IndexName));

        // Only a memory size goes into the SET statement.
        await Assert.ThrowsAsync<ArgumentException>(() => indexes.RebuildIndexAsync(model.Id, settings, IndexBuild.Always, "1GB'; DROP TABLE embeddings; --", Token));
        Assert.False(VectorIndexBuilder.IsMemorySize("1 GB"));
        Assert.True(VectorIndexBuilder.IsMemorySize("512MB"));
    }

    private async Task<NpgsqlDataSource> NewStoreAsync()
    {
        var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        return dataSource;
    }

    // Random vectors with lengths between 0.5 and 1.5 (not unit length, so the metrics disagree).
    private static async Task<Dictionary<long, float[]>> StoreVectorsAsync(NpgsqlDataSource dataSource, EmbeddingModel model, int documents, int chunksPerDocument, int seed)
    {
        var random = new Random(seed);
        var documentStore = new DocumentStore(dataSource);
        var vectors = new Dictionary<long, float[]>();
        var embeddings = new List<ChunkEmbedding>();
        for (var d = 0; d < documents; d++)
        {
            var texts = Enumerable.Range(0, chunksPerDocument).Select(i => $"document {d} chunk {i}").ToArray();
            var stored = await documentStore.UpsertAsync(new DocumentToStore($"doc-{d}", null, null, $$"""{"group":{{d}}}""", texts), Token);
            foreach (var chunk in stored.Chunks)
            {
                var vector = RandomVector(random);
                var length = 0.5f + (float)random.NextDouble();
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] *= length;
                }

                vectors[chunk.Id] = vector;
                embeddings.Add(new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash(texts[chunk.Ordinal]), vector));
            }
        }

        await new EmbeddingStore(dataSource).WriteAsync(model, embeddings, Token);
        await using var analyze = dataSource.CreateCommand("ANALYZE embeddings");
        await analyze.ExecuteNonQueryAsync(Token);
        return vectors;
    }

    private static float[] RandomVector(Random random)
    {
        var vector = new float[Dimensions];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        var norm = MathF.Sqrt(vector.Sum(x => x * x));
        return vector.Select(x => x / norm).ToArray();
    }

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    private static double L2(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => ((double)x - y) * ((double)x - y)).Sum());

    private static double Score(VectorDistance distance, float[] query, float[] vector) => distance switch
    {
        VectorDistance.L2 => 1 / (1 + L2(query, vector)),
        VectorDistance.InnerProduct => Dot(query, vector),
        _ => Dot(query, vector) / Math.Sqrt(Dot(query, query) * Dot(vector, vector)),
    };

    // pg_indexes.indexdef omits an operator class that is the default for the method (vector_l2_ops for ivfflat).
    private static async Task<string?> OperatorClassAsync(NpgsqlDataSource dataSource, string name)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT o.opcname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE c.relname = $1");
        command.Parameters.AddWithValue(name);
        return await command.ExecuteScalarAsync(Token) as string;
    }

    private static async Task<string?> IndexDefinitionAsync(NpgsqlDataSource dataSource, string name)
    {
        await using var command = dataSource.CreateCommand("SELECT indexdef FROM pg_indexes WHERE indexname = $1");
        command.Parameters.AddWithValue(name);
        return await command.ExecuteScalarAsync(Token) as string;
    }
}
