using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Embeddings.Offline;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

public class VectorStoreTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<(NpgsqlDataSource DataSource, EmbeddingModel Model)> NewStoreAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var model = await new EmbeddingModelStore(dataSource).EnsureAsync("offline", OfflineEmbeddingGenerator.ModelName, 384, Token);
        return (dataSource, model);
    }

    [Fact]
    public async Task Vectors_written_with_binary_copy_read_back_unchanged()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunks = await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", "T", null, "{}", ["alpha text", "beta text"]), Token);
        var embedder = new OfflineEmbeddingGenerator(384);
        var vectors = new[] { embedder.Embed("alpha text"), embedder.Embed("beta text") };

        var written = await new EmbeddingStore(dataSource).WriteAsync(model, [
            new ChunkEmbedding(chunks[0].Id, DocumentStore.ContentHash("alpha text"), vectors[0]),
            new ChunkEmbedding(chunks[1].Id, DocumentStore.ContentHash("beta text"), vectors[1])], Token);

        Assert.Equal(2, written);
        await using var command = dataSource.CreateCommand("SELECT embedding::real[] FROM embeddings WHERE chunk_id = $1");
        command.Parameters.AddWithValue(chunks[1].Id);
        Assert.Equal(vectors[1], (float[])(await command.ExecuteScalarAsync(Token))!);
    }

    [Fact]
    public async Task Writing_the_same_embedding_twice_keeps_one_row()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunk = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["gamma"]), Token))[0];
        var row = new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash("gamma"), new OfflineEmbeddingGenerator(384).Embed("gamma"));
        var store = new EmbeddingStore(dataSource);

        Assert.Equal(1, await store.WriteAsync(model, [row], Token));
        Assert.Equal(0, await store.WriteAsync(model, [row], Token));
        Assert.Empty(await store.GetChunksToEmbedAsync([chunk.Id], model, Token));
    }

    [Fact]
    public async Task A_vector_of_the_wrong_length_is_refused_before_anything_is_written()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunk = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["delta"]), Token))[0];

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new EmbeddingStore(dataSource).WriteAsync(
            model, [new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash("delta"), new float[383])], Token));

        Assert.Contains("383", error.Message);
        Assert.Contains("384", error.Message);
    }

    [Fact]
    public async Task Reposting_a_document_replaces_its_chunks_and_drops_the_old_ones()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var documents = new DocumentStore(dataSource);
        var first = await documents.UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["one", "two"]), Token);

        var second = await documents.UpsertAsync(new DocumentToStore("d1", "new", null, """{"v":2}""", ["three"]), Token);

        Assert.Empty(await new EmbeddingStore(dataSource).GetChunksToEmbedAsync(first.Select(c => c.Id).ToList(), model, Token));
        var state = await documents.GetStateAsync("d1", model.Id, Token);
        Assert.Equal(("new", 1, "queued"), (state!.Title, state.Chunks.Total, state.Status));
        Assert.Single(second);
    }

    [Fact]
    public async Task Search_returns_the_nearest_chunk_first_with_cosine_similarity()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var embedder = new OfflineEmbeddingGenerator(384);
        string[] texts = ["The Broncos won the Super Bowl.", "pgvector adds HNSW indexes to PostgreSQL.", "Levi's Stadium is in Santa Clara."];
        var chunks = await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", "T", null, """{"lang":"en"}""", texts), Token);
        await new EmbeddingStore(dataSource).WriteAsync(model,
            chunks.Select(c => new ChunkEmbedding(c.Id, DocumentStore.ContentHash(texts[c.Ordinal]), embedder.Embed(texts[c.Ordinal]))).ToList(), Token);
        var query = embedder.Embed("Which index does pgvector add to PostgreSQL?");

        var hits = await new ChunkSearch(dataSource).SearchAsync(model, query, 2, null, 40, Token);

        Assert.Equal(2, hits.Count);
        Assert.Equal(texts[1], hits[0].Text);
        Assert.Equal(Embeddings.VectorMath.CosineSimilarity(query, embedder.Embed(texts[1])), hits[0].Score, 5);
        Assert.Equal("""{"lang": "en"}""", hits[0].MetadataJson);
        Assert.Empty(await new ChunkSearch(dataSource).SearchAsync(model, query, 2, 0.99, 40, Token));
    }
}
