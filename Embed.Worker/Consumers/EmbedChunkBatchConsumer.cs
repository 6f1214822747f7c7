using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Makes sure every chunk of a batch has an embedding of every enabled model this worker is configured
/// for. Per model, without wasted embedding calls: chunks already embedded (a redelivered or duplicated
/// message) or deleted are skipped; a chunk whose text was already embedded anywhere (same content
/// hash) gets a copy of that vector; identical texts within the batch are sent once; the rest go to the
/// model in one call (split into requests by the provider's batch limits) and are written set-based.
/// </summary>
public sealed partial class EmbedChunkBatchConsumer(
    EmbeddingStore store,
    EmbeddingModelStore models,
    EmbeddingModelCatalog catalog,
    IOptions<EmbedBatchOptions> options,
    ILogger<EmbedChunkBatchConsumer> logger) : IConsumer<Batch<EmbedChunk>>
{
    /// <summary>Name of the meter this consumer reports on.</summary>
    public const string MeterName = "VectorPipeline.EmbedWorker";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> MessagesHandled = Meter.CreateCounter<long>("vectorpipeline.messages.handled", "{message}", "Chunk messages consumed successfully");
    private static readonly Counter<long> ChunksEmbedded = Meter.CreateCounter<long>("vectorpipeline.chunks.embedded", "{chunk}", "Embeddings written from an embedding call");
    private static readonly Counter<long> ChunksReused = Meter.CreateCounter<long>("vectorpipeline.chunks.reused", "{chunk}", "Embeddings copied from a chunk with the same content hash (no embedding call)");
    private static readonly Histogram<double> EmbedDuration = Meter.CreateHistogram<double>("vectorpipeline.embedding.duration", "ms", "Time of one embedding call for a batch");
    private static readonly ConcurrentDictionary<int, bool> WarnedUnconfigured = new();

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<Batch<EmbedChunk>> context)
    {
        var chunkIds = context.Message.Select(m => m.Message.ChunkId).Distinct().ToArray();
        var failures = new List<Exception>();
        foreach (var model in await models.GetEnabledAsync(context.CancellationToken))
        {
            var embedder = catalog.Find(model);
            if (embedder is null)
            {
                if (WarnedUnconfigured.TryAdd(model.Id, true))
                {
                    LogNotConfigured(model.Key);
                }

                continue;
            }

            try
            {
                await EmbedAsync(chunkIds, model, embedder, context.Message.Length, context.CancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures.Add(ex);
                if (context.GetRetryAttempt() >= options.Value.RetryLimit)
                {
                    // Last attempt: make the failure visible in the document status before the messages are dead-lettered.
                    LogFailed(ex, model.Key, chunkIds.Length, options.Value.RetryLimit + 1);
                    await store.RecordErrorAsync(chunkIds, model, $"{ex.GetType().Name}: {ex.Message}", CancellationToken.None);
                }
            }
        }

        // Models that succeeded are stored; a retry skips them and calls only the model that failed.
        if (failures.Count == 1)
        {
            throw failures[0];
        }

        if (failures.Count > 1)
        {
            throw new AggregateException("Embedding failed for several models.", failures);
        }

        MessagesHandled.Add(context.Message.Length);
    }

    private async Task EmbedAsync(long[] chunkIds, EmbeddingModel model, ModelEmbedder embedder, int received, CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("model", model.Key);
        var reused = await store.CopyByContentHashAsync(chunkIds, model, cancellationToken);
        ChunksReused.Add(reused, tag);
        var chunks = await store.GetChunksToEmbedAsync(chunkIds, model, cancellationToken);
        if (chunks.Count == 0)
        {
            if (reused > 0)
            {
                LogEmbedded(model.Key, 0, 0, reused, received, 0);
            }

            return;
        }

        // Identical texts in one batch (same content hash) are sent once.
        var distinct = chunks.GroupBy(c => Convert.ToHexString(c.ContentHash)).Select(g => g.First()).ToList();
        var started = Stopwatch.GetTimestamp();
        var vectors = await embedder.EmbedDocumentsAsync(distinct.Select(c => c.Text).ToList(), cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        EmbedDuration.Record(elapsed, tag);
        var byHash = new Dictionary<string, ReadOnlyMemory<float>>(distinct.Count);
        for (var i = 0; i < distinct.Count; i++)
        {
            byHash[Convert.ToHexString(distinct[i].ContentHash)] = vectors[i];
        }

        var rows = chunks.Select(c => new ChunkEmbedding(c.Id, c.ContentHash, byHash[Convert.ToHexString(c.ContentHash)])).ToList();
        var written = await store.WriteAsync(model, rows, cancellationToken);
        ChunksEmbedded.Add(written, tag);
        LogEmbedded(model.Key, written, distinct.Count, reused, received, (long)elapsed);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: wrote {Written} embeddings from {Texts} embedded texts, reused {Reused}, for {Received} messages; embedding took {ElapsedMs} ms")]
    private partial void LogEmbedded(string model, int written, int texts, int reused, int received, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} is enabled but not configured in this worker (Embedding or Embedding:Models:{{key}}); its chunks are left to workers that have it")]
    private partial void LogNotConfigured(string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model}: embedding {Chunks} chunks failed after {Attempts} attempts; chunks marked failed, messages dead-lettered")]
    private partial void LogFailed(Exception exception, string model, int chunks, int attempts);
}
