using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>Registering, backfilling, activating and dropping models, against the real PostgreSQL + pgvector.</summary>
public class ModelLifecycleTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_model_is_backfilled_page_by_page_then_activated_and_the_first_dropped()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var models = new EmbeddingModelStore(dataSource);
        var small = await models.EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 384, cancellationToken: Token);
        var large = await models.EnsureAsync("http", HashingEmbeddingGenerator.ModelName, 512, cancellationToken: Token);
        Assert.Equal(small, await models.ActivateIfNoneActiveAsync(small.Id, Token));
        Assert.Equal(small, await models.ActivateIfNoneActiveAsync(large.Id, Token));
        Assert.Equal([small.Id], (await models.GetEnabledAsync(Token)).Select(m => m.Id));

        var texts = Enumerable.Range(0, 25).Select(i => $"chunk number {i} about topic {i % 7}").ToArray();
        var stored = await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("doc", null, null, "{}", texts), Token);
        var embeddings = new EmbeddingStore(dataSource);
        await WriteAsync(embeddings, small, stored.Chunks, texts);

        var neverBackfilled = await Assert.ThrowsAsync<ModelNotReadyException>(() => models.ActivateAsync(large.Id, Token));
        Assert.Contains("not enabled", neverBackfilled.Message);
        Assert.True(await models.RequestBackfillAsync(large.Id, activateWhenComplete: true, Token));
        var missing = new List<MissingChunk>();
        for (long after = 0; ;)
        {
            var page = await models.GetMissingAsync(large.Id, after, 10, Token);
            if (page.Count == 0)
            {
                break;
            }

            missing.AddRange(page);
            after = page[^1].ChunkId;
        }

        Assert.Equal(stored.Chunks.Select(c => c.Id).Order(), missing.Select(m => m.ChunkId));
        Assert.Equal("backfilling", (await models.GetStateAsync(large.Id, Token))!.Status);
        var notReady = await Assert.ThrowsAsync<ModelNotReadyException>(() => models.ActivateAsync(large.Id, Token));
        Assert.Contains("0 of 25", notReady.Message);

        await WriteAsync(embeddings, large, stored.Chunks.Take(20).ToList(), texts);
        Assert.Empty(await models.CompleteBackfillsAsync(Token));
        Assert.Equal(0.8, (await models.GetStateAsync(large.Id, Token))!.Progress, 3);
        await WriteAsync(embeddings, large, stored.Chunks.Skip(20).ToList(), texts);
        Assert.Equal([large.Id], (await models.CompleteBackfillsAsync(Token)).Select(m => m.Id));

        Assert.Equal(large, await models.GetActiveAsync(Token));
        Assert.Equal(("ready", true), ((await models.GetStateAsync(small.Id, Token))!.Status, (await models.GetStateAsync(small.Id, Token))!.Enabled));
        await Assert.ThrowsAsync<InvalidOperationException>(() => models.DropAsync(large.Id, Token));
        Assert.True(await models.DropAsync(small.Id, Token));

        Assert.Null(await models.FindAsync(small.Id, Token));
        await using var count = dataSource.CreateCommand($"""
            SELECT (SELECT count(*) FROM embeddings WHERE model_id = {small.Id}),
                   (SELECT count(*) FROM pg_indexes WHERE indexname = '{small.IndexName}'),
                   (SELECT count(*) FROM pg_indexes WHERE indexname = '{large.IndexName}')
            """);
        await using var reader = await count.ExecuteReaderAsync(Token);
        await reader.ReadAsync(Token);
        Assert.Equal((0L, 0L, 1L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    [Fact]
    public async Task A_model_is_found_by_key_id_or_unambiguous_name()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var models = new EmbeddingModelStore(dataSource);
        var a = await models.EnsureAsync("ollama", "nomic-embed-text", 768, cancellationToken: Token);
        var b = await models.EnsureAsync("openai", "text-embedding-3-small", 512, cancellationToken: Token);
        var c = await models.EnsureAsync("openai", "text-embedding-3-small", 1536, cancellationToken: Token);

        Assert.Equal(a, await models.FindAsync("nomic-embed-text@768", Token));
        Assert.Equal(a, await models.FindAsync("nomic-embed-text", Token));
        Assert.Equal(c, await models.FindAsync(c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Token));
        Assert.Equal(b, await models.FindAsync("text-embedding-3-small@512", Token));
        Assert.Null(await models.FindAsync("nomic-embed-text@1024", Token));
        var ambiguous = await Assert.ThrowsAsync<ArgumentException>(() => models.FindAsync("text-embedding-3-small", Token));
        Assert.Contains("text-embedding-3-small@1536", ambiguous.Message);
    }

    private static async Task WriteAsync(EmbeddingStore store, EmbeddingModel model, IReadOnlyList<StoredChunk> chunks, string[] texts)
    {
        var embedder = new HashingEmbeddingGenerator(model.Dimensions);
        await store.WriteAsync(model, chunks.Select(c => new ChunkEmbedding(c.Id, DocumentStore.ContentHash(texts[c.Ordinal]), embedder.Embed(texts[c.Ordinal]))).ToList(), Token);
    }
}
