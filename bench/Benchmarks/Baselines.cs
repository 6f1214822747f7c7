using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Pgvector;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Benchmarks;

/// <summary>One stored embedding row, as read back for the COPY and INSERT baselines.</summary>
public sealed record EmbeddingRow(long ChunkId, int ModelId, byte[] ContentHash, int Dimensions, float[] Vector);

/// <summary>
/// The same-run baselines of the ingest benchmark: what PostgreSQL and RabbitMQ do on their own with the same data,
/// through plain clients (Npgsql, RabbitMQ.Client), without the pipeline around them.
/// </summary>
public static class Baselines
{
    /// <summary>
    /// Reads embedding rows in chunk order: every row (the vectors the pipeline just stored), or the
    /// <paramref name="newest"/> rows of model <paramref name="modelId"/> with the highest chunk ids.
    /// </summary>
    public static async Task<List<EmbeddingRow>> ReadEmbeddingsAsync(NpgsqlDataSource dataSource, int? modelId = null, int? newest = null)
    {
        var rows = new List<EmbeddingRow>();
        var sql = "SELECT chunk_id, model_id, content_hash, dimensions, embedding FROM embeddings"
            + (modelId is { } id ? $" WHERE model_id = {id}" : "")
            + (newest is { } count ? $" ORDER BY chunk_id DESC LIMIT {count}" : " ORDER BY chunk_id");
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new EmbeddingRow(reader.GetInt64(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2), reader.GetInt32(3), reader.GetFieldValue<Vector>(4).ToArray()));
        }

        return rows;
    }

    /// <summary>Empties the embeddings table (its indexes stay, empty).</summary>
    public static async Task TruncateEmbeddingsAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("TRUNCATE embeddings");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Binary COPY of <paramref name="rows"/> straight into <c>embeddings</c> (with its indexes, the model's HNSW
    /// index included) over <paramref name="streams"/> connections at once; rows per second.
    /// </summary>
    public static async Task<double> CopyAsync(NpgsqlDataSource dataSource, IReadOnlyList<EmbeddingRow> rows, int streams = 1)
    {
        await TruncateEmbeddingsAsync(dataSource);
        var clock = Stopwatch.StartNew();
        var share = (rows.Count + streams - 1) / streams;
        await Task.WhenAll(Enumerable.Range(0, streams).Select(s => CopyPartAsync(dataSource, rows.Skip(s * share).Take(share).ToList())));
        return rows.Count / clock.Elapsed.TotalSeconds;
    }

    private static async Task CopyPartAsync(NpgsqlDataSource dataSource, IReadOnlyList<EmbeddingRow> rows)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await CopyRowsAsync(connection, rows);
    }

    /// <summary>Binary COPY of <paramref name="rows"/> into <c>embeddings</c> on <paramref name="connection"/> (in its transaction, if any).</summary>
    public static async Task CopyRowsAsync(NpgsqlConnection connection, IReadOnlyList<EmbeddingRow> rows)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            "COPY embeddings (chunk_id, model_id, content_hash, dimensions, embedding) FROM STDIN (FORMAT BINARY)");
        foreach (var row in rows)
        {
            await importer.StartRowAsync();
            await importer.WriteAsync(row.ChunkId, NpgsqlDbType.Bigint);
            await importer.WriteAsync(row.ModelId, NpgsqlDbType.Integer);
            await importer.WriteAsync(row.ContentHash, NpgsqlDbType.Bytea);
            await importer.WriteAsync(row.Dimensions, NpgsqlDbType.Integer);
            await importer.WriteAsync(new Vector(row.Vector), "vector");
        }

        await importer.CompleteAsync();
    }

    /// <summary>
    /// The same rows with parameterised <c>INSERT</c>s, <paramref name="batchSize"/> statements per round trip
    /// (an <see cref="NpgsqlBatch"/>), one connection; rows per second. The COPY-versus-INSERT comparison.
    /// </summary>
    public static async Task<double> InsertAsync(NpgsqlDataSource dataSource, IReadOnlyList<EmbeddingRow> rows, int batchSize = 64)
    {
        await TruncateEmbeddingsAsync(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync();
        var clock = Stopwatch.StartNew();
        foreach (var chunk in rows.Chunk(batchSize))
        {
            await using var batch = new NpgsqlBatch(connection);
            foreach (var row in chunk)
            {
                var command = new NpgsqlBatchCommand("INSERT INTO embeddings (chunk_id, model_id, content_hash, dimensions, embedding) VALUES ($1, $2, $3, $4, $5)");
                command.Parameters.Add(new NpgsqlParameter { Value = row.ChunkId });
                command.Parameters.Add(new NpgsqlParameter { Value = row.ModelId });
                command.Parameters.Add(new NpgsqlParameter { Value = row.ContentHash });
                command.Parameters.Add(new NpgsqlParameter { Value = row.Dimensions });
                command.Parameters.Add(new NpgsqlParameter { Value = new Vector(row.Vector) });
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync();
        }

        return rows.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Bulk load then index: the model's vector index is dropped, the rows are copied into the table without it,
    /// and the index is built once (same definition, <c>maintenance_work_mem</c> 1 GB). Rows per second over both
    /// steps, and the build's share of the time.
    /// </summary>
    public static async Task<(double RowsPerSecond, TimeSpan Copy, TimeSpan Build)> CopyThenIndexAsync(NpgsqlDataSource dataSource, IReadOnlyList<EmbeddingRow> rows, string indexName)
    {
        await TruncateEmbeddingsAsync(dataSource);
        var definition = await IndexDefinitionAsync(dataSource, indexName);
        await ExecuteAsync(dataSource, $"DROP INDEX {indexName}");
        var clock = Stopwatch.StartNew();
        await CopyPartAsync(dataSource, rows);
        var copy = clock.Elapsed;
        await BuildIndexAsync(dataSource, definition);
        return (rows.Count / clock.Elapsed.TotalSeconds, copy, clock.Elapsed - copy);
    }

    /// <summary>The <c>CREATE INDEX</c> statement of an index (<c>pg_get_indexdef</c>).</summary>
    public static async Task<string> IndexDefinitionAsync(NpgsqlDataSource dataSource, string indexName)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_get_indexdef($1::regclass)");
        command.Parameters.AddWithValue(indexName);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs a <c>CREATE INDEX</c> statement with a large <c>maintenance_work_mem</c> (the graph fits in memory).</summary>
    public static async Task BuildIndexAsync(NpgsqlDataSource dataSource, string definition, string maintenanceWorkMem = "1GB")
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var set = new NpgsqlCommand($"SET maintenance_work_mem = '{maintenanceWorkMem}'", connection))
        {
            await set.ExecuteNonQueryAsync();
        }

        await using var create = new NpgsqlCommand(definition, connection) { CommandTimeout = 0 };
        await create.ExecuteNonQueryAsync();
    }

    /// <summary>Runs one statement.</summary>
    public static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Plain RabbitMQ: <paramref name="count"/> persistent messages of <paramref name="bodyBytes"/> bytes published with
    /// publisher confirms (up to 256 unconfirmed) to a durable queue while one consumer (prefetch
    /// <paramref name="prefetch"/>, one ack per message, as MassTransit does) takes them; messages per second from the
    /// first publish to the last delivery.
    /// </summary>
    public static async Task<double> RabbitMqAsync(string amqp, int count, int bodyBytes = 800, ushort prefetch = 128)
    {
        var factory = new ConnectionFactory { Uri = new Uri(amqp) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var consumerChannel = await connection.CreateChannelAsync();
        var queue = $"bench-baseline-{Guid.NewGuid():n}";
        await consumerChannel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await consumerChannel.BasicQosAsync(0, prefetch, false);
        var received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(consumerChannel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await consumerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }
        };
        await consumerChannel.BasicConsumeAsync(queue, autoAck: false, consumer);

        await using var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var body = new byte[bodyBytes];
        Random.Shared.NextBytes(body);
        var properties = new BasicProperties { Persistent = true, ContentType = "application/vnd.masstransit+json" };
        var clock = Stopwatch.StartNew();
        var pending = new List<Task>(256);
        for (var i = 0; i < count; i++)
        {
            pending.Add(publisher.BasicPublishAsync("", queue, mandatory: false, properties, body).AsTask());
            if (pending.Count == 256)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var rate = count / clock.Elapsed.TotalSeconds;
        await consumerChannel.QueueDeleteAsync(queue);
        return rate;
    }
}
