using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.IntegrationTests;

public class VectorStoreTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<(NpgsqlDataSource DataSource, EmbeddingModel Model)> NewStoreAsync()
    {
        var dataSource = VectorStoreExtensions.CreateDataSource(await servers.NewDatabaseAsync());
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var models = new EmbeddingModelStore(dataSource);
        var model = await models.EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 384, cancellationToken: Token);
        await models.ActivateIfNoneActiveAsync(model.Id, Token);
        return (dataSource, model);
    }

    [Fact]
    public async Task A_changed_chunk_stays_findable_through_its_predecessors_vector_until_its_own_is_written()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var documents = new DocumentStore(dataSource);
        var embeddings = new EmbeddingStore(dataSource);
        var embedder = new HashingEmbeddingGenerator(384);
        string[] before = ["Stadium seats and parking for the final.", "Ticket prices for the final rose sharply."];
        var first = (await documents.UpsertAsync(new DocumentToStore("d", null, null, "{}", before), Token)).Chunks;
        await embeddings.WriteAsync(model, first.Select(c => new ChunkEmbedding(c.Id, DocumentStore.ContentHash(before[c.Ordinal]), embedder.Embed(before[c.Ordinal]))).ToList(), Token);

        // The second chunk changes: its new row stands in with the old vector at once.
        string[] after = [before[0], "Ticket prices for the final fell after the announcement."];
        var reposted = await documents.UpsertAsync(new DocumentToStore("d", null, null, "{}", after), Token);
        var replacement = reposted.Chunks.Single(c => c.Ordinal == 1).Id;
        Assert.Equal([replacement], reposted.ChunksToEmbed);
        var state = (await documents.GetStateAsync("d", model.Id, Token))!;
        Assert.Equal((2, 1, "embedding"), (state.Chunks.Total, state.Chunks.Embedded, state.Status)); // the stand-in is not counted
        var hits = await new ChunkSearch(dataSource).SearchAsync(model, embedder.Embed(before[1]), 1, null, 40, cancellationToken: Token);
        Assert.Equal((replacement, after[1]), (hits[0].ChunkId, hits[0].Text)); // no gap: the passage is found, with its new text
        Assert.Single(await embeddings.GetChunksToEmbedAsync([replacement], model, Token)); // still to embed

        // A stand-in is never reused for identical text elsewhere; the worker's vector replaces it.
        var twin = (await documents.UpsertAsync(new DocumentToStore("twin", null, null, "{}", [after[1]]), Token)).Chunks[0].Id;
        Assert.Equal(0, await embeddings.CopyByContentHashAsync([twin], model, Token));
        await embeddings.WriteAsync(model, [new ChunkEmbedding(replacement, DocumentStore.ContentHash(after[1]), embedder.Embed(after[1]))], Token);
        await using var command = dataSource.CreateCommand("SELECT provisional, embedding::real[] FROM embeddings WHERE chunk_id = $1");
        command.Parameters.AddWithValue(replacement);
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            Assert.True(await reader.ReadAsync(Token));
            Assert.False(reader.GetBoolean(0));
            Assert.Equal(embedder.Embed(after[1]).ToArray(), reader.GetFieldValue<float[]>(1));
        }

        Assert.Equal("ready", (await documents.GetStateAsync("d", model.Id, Token))!.Status);
        Assert.Equal(1, await embeddings.CopyByContentHashAsync([twin], model, Token));
    }

    [Fact]
    public async Task A_second_claim_on_a_chunk_waits_until_the_first_is_released()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunk = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("c", null, null, "{}", ["claimed text"]), Token)).Chunks[0].Id;
        var store = new EmbeddingStore(dataSource);

        var first = await store.ClaimAsync([chunk], model, Token);
        var second = store.ClaimAsync([chunk], model, Token);
        await Task.Delay(500, Token);
        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        await using var claim = await second.WaitAsync(TimeSpan.FromSeconds(10), Token);
        Assert.Equal([chunk], claim.Claimed);
    }

    [Fact]
    public async Task Vectors_written_with_binary_copy_read_back_unchanged()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunks = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", "T", null, "{}", ["alpha text", "beta text"]), Token)).Chunks;
        // Any float survives the binary round trip bit for bit: signs, tiny and huge magnitudes, not only unit vectors.
        var random = new Random(7);
        var vectors = Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 384)
            .Select(i => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, (i % 13) - 6))).ToArray()).ToArray();

        var written = await new EmbeddingStore(dataSource).WriteAsync(model, [
            new ChunkEmbedding(chunks[0].Id, DocumentStore.ContentHash("alpha text"), vectors[0]),
            new ChunkEmbedding(chunks[1].Id, DocumentStore.ContentHash("beta text"), vectors[1])], Token);

        Assert.Equal(2, written);
        // As PostgreSQL itself reads them (vector cast to real[]), and as the store reads them back (Pgvector's Vector).
        await using var command = dataSource.CreateCommand("SELECT embedding::real[] FROM embeddings WHERE chunk_id = $1");
        command.Parameters.AddWithValue(chunks[1].Id);
        Assert.Equal(vectors[1], (float[])(await command.ExecuteScalarAsync(Token))!);
        var read = await new ChunkSearch(dataSource).GetEmbeddingsAsync(model, [chunks[0].Id, chunks[1].Id], Token);
        Assert.Equal(vectors[0], read[chunks[0].Id]);
        Assert.Equal(vectors[1], read[chunks[1].Id]);
    }

    [Fact]
    public async Task A_process_that_connected_before_another_created_the_vector_type_can_write_vectors()
    {
        var database = await servers.NewDatabaseAsync();
        await using var late = VectorStoreExtensions.CreateDataSource(database);
        await using (var first = await late.OpenConnectionAsync(Token))
        {
            // Its types are loaded now, before the vector extension exists.
        }

        await using (var other = VectorStoreExtensions.CreateDataSource(database))
        {
            Assert.True(await new SchemaMigrator(other, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token) > 0);
        }

        Assert.Equal(0, await new SchemaMigrator(late, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token));
        var model = await new EmbeddingModelStore(late).EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 384, cancellationToken: Token);
        var chunk = (await new DocumentStore(late).UpsertAsync(new DocumentToStore("d", null, null, "{}", ["late text"]), Token)).Chunks[0];

        Assert.Equal(1, await new EmbeddingStore(late).WriteAsync(model,
            [new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash("late text"), new HashingEmbeddingGenerator(384).Embed("late text"))], Token));
    }

    [Fact]
    public async Task A_vector_holding_NaN_is_refused_by_the_database_and_nothing_of_its_batch_is_written()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunks = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["good", "bad"]), Token)).Chunks;
        var embedder = new HashingEmbeddingGenerator(384);
        var bad = embedder.Embed("bad").ToArray();
        bad[17] = float.NaN;

        var error = await Assert.ThrowsAsync<PostgresException>(() => new EmbeddingStore(dataSource).WriteAsync(model, [
            new ChunkEmbedding(chunks[0].Id, DocumentStore.ContentHash("good"), embedder.Embed("good")),
            new ChunkEmbedding(chunks[1].Id, DocumentStore.ContentHash("bad"), bad)], Token));

        Assert.Contains("NaN", error.MessageText, StringComparison.Ordinal);
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM embeddings");
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync(Token))!);
    }

    [Fact]
    public async Task Writing_the_same_embedding_twice_keeps_one_row()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var chunk = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["gamma"]), Token)).Chunks[0];
        var row = new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash("gamma"), new HashingEmbeddingGenerator(384).Embed("gamma"));
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
        var chunk = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["delta"]), Token)).Chunks[0];

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new EmbeddingStore(dataSource).WriteAsync(
            model, [new ChunkEmbedding(chunk.Id, DocumentStore.ContentHash("delta"), new float[383])], Token));

        Assert.Contains("383", error.Message);
        Assert.Contains("384", error.Message);
    }

    [Fact]
    public async Task Reposting_a_document_keeps_unchanged_chunks_with_their_embeddings_and_replaces_the_rest()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var documents = new DocumentStore(dataSource);
        var embeddings = new EmbeddingStore(dataSource);
        var first = await documents.UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["one", "two", "three"]), Token);
        Assert.Equal(3, first.ChunksToEmbed.Count);
        await WriteHashingAsync(embeddings, model, first.Chunks, ["one", "two", "three"]);

        var unchanged = await documents.UpsertAsync(new DocumentToStore("d1", null, null, "{}", ["one", "two", "three"]), Token);
        var edited = await documents.UpsertAsync(new DocumentToStore("d1", "new", null, """{"v":2}""", ["zero", "one", "three"]), Token);

        Assert.Equal(first.Chunks.Select(c => c.Id), unchanged.Chunks.Select(c => c.Id));
        Assert.Empty(unchanged.ChunksToEmbed);
        Assert.Equal((2, 1, 1), (edited.Kept, edited.Added, edited.Removed));
        Assert.Equal([edited.Chunks[0].Id], edited.ChunksToEmbed);
        Assert.Equal([first.Chunks[0].Id, first.Chunks[2].Id], edited.Chunks.Skip(1).Select(c => c.Id));
        Assert.Empty(await embeddings.GetChunksToEmbedAsync([first.Chunks[1].Id], model, Token));
        var state = await documents.GetStateAsync("d1", model.Id, Token);
        Assert.Equal(("new", 3, 2, "embedding"), (state!.Title, state.Chunks.Total, state.Chunks.Embedded, state.Status));
    }

    [Fact]
    public async Task A_chunk_whose_text_is_already_embedded_elsewhere_gets_a_copy_of_that_vector()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var documents = new DocumentStore(dataSource);
        var embeddings = new EmbeddingStore(dataSource);
        var a = await documents.UpsertAsync(new DocumentToStore("a", null, null, "{}", ["shared text", "only in a"]), Token);
        await WriteHashingAsync(embeddings, model, a.Chunks, ["shared text", "only in a"]);
        var b = await documents.UpsertAsync(new DocumentToStore("b", null, null, "{}", ["only in b", "shared text"]), Token);

        var copied = await embeddings.CopyByContentHashAsync(b.ChunksToEmbed, model, Token);
        var left = await embeddings.GetChunksToEmbedAsync(b.ChunksToEmbed, model, Token);

        Assert.Equal(1, copied);
        Assert.Equal(["only in b"], left.Select(c => c.Text));
        await using var command = dataSource.CreateCommand("SELECT count(DISTINCT embedding::text), count(*) FROM embeddings WHERE content_hash = $1");
        command.Parameters.AddWithValue(DocumentStore.ContentHash("shared text"));
        await using var reader = await command.ExecuteReaderAsync(Token);
        await reader.ReadAsync(Token);
        Assert.Equal((1L, 2L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    private static async Task WriteHashingAsync(EmbeddingStore store, EmbeddingModel model, IReadOnlyList<StoredChunk> chunks, string[] texts)
    {
        var embedder = new HashingEmbeddingGenerator(model.Dimensions);
        await store.WriteAsync(model, chunks.Select(c => new ChunkEmbedding(c.Id, DocumentStore.ContentHash(texts[c.Ordinal]), embedder.Embed(texts[c.Ordinal]))).ToList(), Token);
    }

    [Fact]
    public async Task Search_returns_the_nearest_chunk_first_with_cosine_similarity()
    {
        var (dataSource, model) = await NewStoreAsync();
        await using var _ = dataSource;
        var embedder = new HashingEmbeddingGenerator(384);
        string[] texts = ["The Broncos won the Super Bowl.", "pgvector adds HNSW indexes to PostgreSQL.", "Levi's Stadium is in Santa Clara."];
        var chunks = (await new DocumentStore(dataSource).UpsertAsync(new DocumentToStore("d1", "T", null, """{"lang":"en"}""", texts), Token)).Chunks;
        await new EmbeddingStore(dataSource).WriteAsync(model,
            chunks.Select(c => new ChunkEmbedding(c.Id, DocumentStore.ContentHash(texts[c.Ordinal]), embedder.Embed(texts[c.Ordinal]))).ToList(), Token);
        var query = embedder.Embed("Which index does pgvector add to PostgreSQL?");

        var hits = await new ChunkSearch(dataSource).SearchAsync(model, query, 2, null, 40, null, Token);

        Assert.Equal(2, hits.Count);
        Assert.Equal(texts[1], hits[0].Text);
        Assert.Equal(Embeddings.VectorMath.CosineSimilarity(query, embedder.Embed(texts[1])), hits[0].Score, 5);
        Assert.Equal("""{"lang": "en"}""", hits[0].MetadataJson);
        Assert.Empty(await new ChunkSearch(dataSource).SearchAsync(model, query, 2, 0.99, 40, null, Token));
    }
}
