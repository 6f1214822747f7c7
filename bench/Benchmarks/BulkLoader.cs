using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Pgvector;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Fills the store directly, not through the pipeline: documents, chunks and their vectors (the hashing embedder's, or
/// any given) by binary COPY (ten chunks per document). The model's vector index should be dropped first and built afterwards
/// (<see cref="Baselines.BuildIndexAsync"/>): one build over all rows is much cheaper than as many HNSW inserts.
/// </summary>
public static class BulkLoader
{
    /// <summary>Chunks per generated document.</summary>
    public const int ChunksPerDocument = 10;

    /// <summary>Characters per generated chunk.</summary>
    public const int ChunkChars = 300;

    /// <summary>Adds <paramref name="chunks"/> chunks with embeddings of model <paramref name="modelId"/>.</summary>
    /// <returns>Time spent embedding (client side, all cores) and copying.</returns>
    public static async Task<(TimeSpan Embed, TimeSpan Copy)> LoadAsync(NpgsqlDataSource dataSource, SyntheticCorpus corpus, int chunks, int modelId, string prefix)
    {
        var nextId = await NextChunkIdAsync(dataSource);

        var embed = TimeSpan.Zero;
        var copy = TimeSpan.Zero;
        const int block = 20_000;
        for (var done = 0; done < chunks; done += block)
        {
            var count = Math.Min(block, chunks - done);
            var texts = Enumerable.Range(0, count).Select(_ => corpus.Text(ChunkChars)).ToArray();
            var clock = Stopwatch.StartNew();
            var vectors = new float[count][];
            var hashes = new byte[count][];
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                () => new HashingEmbeddingGenerator(384),
                (i, _, embedder) =>
                {
                    vectors[i] = embedder.Embed(texts[i]);
                    hashes[i] = SHA256.HashData(Encoding.UTF8.GetBytes(texts[i]));
                    return embedder;
                },
                embedder => embedder.Dispose());
            embed += clock.Elapsed;
            clock.Restart();
            await CopyBlockAsync(dataSource, texts, vectors, hashes, nextId, done, modelId, prefix);
            copy += clock.Elapsed;
            nextId += count;
        }

        await SetSequenceAsync(dataSource);
        return (embed, copy);
    }

    /// <summary>
    /// Adds one chunk per text with the given vectors of model <paramref name="modelId"/> (any embedder's), ten chunks
    /// per document, ids <c>{prefix}-{n}</c>.
    /// </summary>
    /// <returns>Time spent copying.</returns>
    /// <exception cref="ArgumentException">Not one vector per text.</exception>
    public static async Task<TimeSpan> LoadAsync(NpgsqlDataSource dataSource, IReadOnlyList<string> texts, IReadOnlyList<float[]> vectors, int modelId, string prefix)
    {
        if (texts.Count != vectors.Count)
        {
            throw new ArgumentException($"{texts.Count} texts but {vectors.Count} vectors.", nameof(vectors));
        }

        var nextId = await NextChunkIdAsync(dataSource);

        var clock = Stopwatch.StartNew();
        var hashes = texts.Select(t => SHA256.HashData(Encoding.UTF8.GetBytes(t))).ToArray();
        await CopyBlockAsync(dataSource, [.. texts], [.. vectors], hashes, nextId, 0, modelId, prefix);
        await SetSequenceAsync(dataSource);
        return clock.Elapsed;
    }

    private static async Task CopyBlockAsync(NpgsqlDataSource dataSource, string[] texts, float[][] vectors, byte[][] hashes, long nextId, int done, int modelId, string prefix)
    {
        var count = texts.Length;
        var dimensions = vectors.Length == 0 ? 0 : vectors[0].Length;
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var documents = await connection.BeginBinaryImportAsync("COPY documents (id, title, chunk_count) FROM STDIN (FORMAT BINARY)"))
        {
            for (var d = 0; d * ChunksPerDocument < count; d++)
            {
                await documents.StartRowAsync();
                await documents.WriteAsync($"{prefix}-{done + (d * ChunksPerDocument)}", NpgsqlDbType.Text);
                await documents.WriteAsync($"Loaded document {done + (d * ChunksPerDocument)}", NpgsqlDbType.Text);
                await documents.WriteAsync(Math.Min(ChunksPerDocument, count - (d * ChunksPerDocument)), NpgsqlDbType.Integer);
            }

            await documents.CompleteAsync();
        }

        // Identity values are given explicitly (COPY takes them as INSERT ... OVERRIDING SYSTEM VALUE would).
        await using (var rows = await connection.BeginBinaryImportAsync("COPY chunks (id, document_id, ordinal, text, content_hash) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < count; i++)
            {
                await rows.StartRowAsync();
                await rows.WriteAsync(nextId + i, NpgsqlDbType.Bigint);
                await rows.WriteAsync($"{prefix}-{done + (i / ChunksPerDocument * ChunksPerDocument)}", NpgsqlDbType.Text);
                await rows.WriteAsync(i % ChunksPerDocument, NpgsqlDbType.Integer);
                await rows.WriteAsync(texts[i], NpgsqlDbType.Text);
                await rows.WriteAsync(hashes[i], NpgsqlDbType.Bytea);
            }

            await rows.CompleteAsync();
        }

        await using (var rows = await connection.BeginBinaryImportAsync("COPY embeddings (chunk_id, model_id, content_hash, dimensions, embedding) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < count; i++)
            {
                await rows.StartRowAsync();
                await rows.WriteAsync(nextId + i, NpgsqlDbType.Bigint);
                await rows.WriteAsync(modelId, NpgsqlDbType.Integer);
                await rows.WriteAsync(hashes[i], NpgsqlDbType.Bytea);
                await rows.WriteAsync(dimensions, NpgsqlDbType.Integer);
                await rows.WriteAsync(new Vector(vectors[i]), "vector");
            }

            await rows.CompleteAsync();
        }

        await transaction.CommitAsync();
    }

    private static async Task<long> NextChunkIdAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT coalesce(max(id), 0) + 1 FROM chunks");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task SetSequenceAsync(NpgsqlDataSource dataSource)
    {
        await using var sequence = dataSource.CreateCommand("SELECT setval(pg_get_serial_sequence('chunks', 'id'), (SELECT max(id) FROM chunks))");
        await sequence.ExecuteNonQueryAsync();
    }
}
