using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Embeds a batch of chunks in one call to the embedding generator and writes the vectors set-based.
/// Idempotent: chunks that already have an embedding for the active model, or no longer exist, are
/// skipped before the call, and the write ignores rows that appeared meanwhile, so a redelivered or
/// duplicated message never creates a second embedding nor a second embedding call.
/// </summary>
public sealed partial class EmbedChunkBatchConsumer(
    EmbeddingStore store,
    IEmbeddingGenerator<string, Embedding<float>> generator,
    ActiveEmbeddingModel active,
    IOptions<EmbedBatchOptions> options,
    ILogger<EmbedChunkBatchConsumer> logger) : IConsumer<Batch<EmbedChunk>>
{
    /// <summary>Name of the meter this consumer reports on.</summary>
    public const string MeterName = "VectorPipeline.EmbedWorker";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> ChunksEmbedded = Meter.CreateCounter<long>("vectorpipeline.chunks.embedded", "{chunk}", "Embeddings written");
    private static readonly Counter<long> ChunksSkipped = Meter.CreateCounter<long>("vectorpipeline.chunks.skipped", "{chunk}", "Chunk messages that needed no embedding (already embedded or deleted)");
    private static readonly Histogram<double> EmbedDuration = Meter.CreateHistogram<double>("vectorpipeline.embedding.duration", "ms", "Time of one embedding call");

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<Batch<EmbedChunk>> context)
    {
        var model = active.Model;
        var chunkIds = context.Message.Select(m => m.Message.ChunkId).Distinct().ToArray();
        try
        {
            var chunks = await store.GetChunksToEmbedAsync(chunkIds, model, context.CancellationToken);
            if (chunks.Count > 0)
            {
                var started = Stopwatch.GetTimestamp();
                var generated = await generator.GenerateAsync(chunks.Select(c => c.Text), cancellationToken: context.CancellationToken);
                EmbedDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var written = await store.WriteAsync(model, ToRows(chunks, generated, model), context.CancellationToken);
                ChunksEmbedded.Add(written);
                LogEmbedded(written, context.Message.Length, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            ChunksSkipped.Add(context.Message.Length - chunks.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && context.GetRetryAttempt() >= options.Value.RetryLimit)
        {
            // Last attempt: make the failure visible in the document status before the messages are dead-lettered.
            LogFailed(ex, chunkIds.Length, options.Value.RetryLimit + 1);
            await store.RecordErrorAsync(chunkIds, model, $"{ex.GetType().Name}: {ex.Message}", CancellationToken.None);
            throw;
        }
    }

    // Checks what the provider returned against the model before anything is stored: same count as the
    // inputs, and exactly the declared dimensions (never padded or cut). Vectors are L2-normalised.
    private static List<ChunkEmbedding> ToRows(IReadOnlyList<ChunkToEmbed> chunks, GeneratedEmbeddings<Embedding<float>> generated, EmbeddingModel model)
    {
        if (generated.Count != chunks.Count)
        {
            throw new InvalidOperationException($"Model {model.Provider}/{model.Name} returned {generated.Count} embeddings for {chunks.Count} texts.");
        }

        var rows = new List<ChunkEmbedding>(chunks.Count);
        for (var i = 0; i < chunks.Count; i++)
        {
            var vector = generated[i].Vector.ToArray();
            if (vector.Length != model.Dimensions)
            {
                throw new InvalidOperationException($"Model {model.Provider}/{model.Name} returned a vector of {vector.Length} dimensions; it declares {model.Dimensions}.");
            }

            VectorMath.L2Normalize(vector);
            rows.Add(new ChunkEmbedding(chunks[i].Id, chunks[i].ContentHash, vector));
        }

        return rows;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded {Written} of {Received} chunks in {ElapsedMs} ms")]
    private partial void LogEmbedded(int written, int received, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Embedding {Chunks} chunks failed after {Attempts} attempts; chunks marked failed, messages dead-lettered")]
    private partial void LogFailed(Exception exception, int chunks, int attempts);
}
