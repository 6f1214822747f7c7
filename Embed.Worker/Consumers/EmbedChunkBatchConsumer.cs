using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using MassTransit.Logging;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
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
    VectorWriteGate writeGate,
    ILogger<EmbedChunkBatchConsumer> logger) : IConsumer<Batch<EmbedChunk>>
{
    /// <summary>Name of the meter and of the ActivitySource this consumer reports on.</summary>
    public const string MeterName = "VectorPipeline.EmbedWorker";

    /// <summary>Name of the ActivitySource of the batch and vector-write spans (same as <see cref="MeterName"/>).</summary>
    public const string ActivitySourceName = MeterName;

    /// <summary>Name of the span of one batch consume: a child of MassTransit's <c>embed-chunk process</c> span,
    /// linked to the send span of every message in the batch.</summary>
    public const string BatchSpanName = "embed-chunk batch";

    /// <summary>Name prefix of the span that writes one model's vectors (<c>store embeddings {model key}</c>).</summary>
    public const string StoreSpanPrefix = "store embeddings ";

    private static readonly ActivitySource Source = new(ActivitySourceName);
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> MessagesHandled = Meter.CreateCounter<long>("vectorpipeline.messages.handled", "{message}", "Chunk messages consumed successfully");
    private static readonly Counter<long> ChunksEmbedded = Meter.CreateCounter<long>("vectorpipeline.chunks.embedded", "{chunk}", "Embeddings written from an embedding call");
    private static readonly Counter<long> ChunksReused = Meter.CreateCounter<long>("vectorpipeline.chunks.reused", "{chunk}", "Embeddings copied from a chunk with the same content hash (no embedding call)");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("vectorpipeline.batch.size", "{message}", "Chunk messages per consumed batch",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000] });
    private static readonly Histogram<double> EmbedDuration = Meter.CreateHistogram<double>("vectorpipeline.embedding.duration", "s", "Time of one embedding call for a batch (all its requests to the model)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
    private static readonly Histogram<double> Lag = Meter.CreateHistogram<double>("vectorpipeline.chunk.lag", "s", "Time from publishing a chunk message (its SentTime) to its vectors being stored",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("vectorpipeline.embedding.failures", "{chunk}", "Chunks of a batch whose embedding with a model failed, by reason; final = the last retry (chunks marked failed, messages dead-lettered)");
    private static readonly ConcurrentDictionary<int, bool> WarnedUnconfigured = new();

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<Batch<EmbedChunk>> context)
    {
        var chunkIds = context.Message.Select(m => m.Message.ChunkId).Distinct().ToArray();
        BatchSize.Record(context.Message.Length);
        using var activity = StartBatchActivity(context.Message);
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
            catch (Exception ex) when (IsPermanent(ex))
            {
                // Retrying cannot help (400, 401, 413, wrong dimensions, ...): mark the chunks failed now and
                // acknowledge, instead of looping through every retry into the dead-letter queue.
                Failures.Add(chunkIds.Length, new("reason", FailureReason(ex)), new("model", model.Key), new("final", true));
                activity?.AddException(ex);
                LogPermanent(ex, model.Key, chunkIds.Length);
                await store.RecordErrorAsync(chunkIds, model, ErrorText(ex), context.CancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures.Add(ex);
                var final = context.GetRetryAttempt() >= options.Value.RetryLimit;
                Failures.Add(chunkIds.Length, new("reason", FailureReason(ex)), new("model", model.Key), new("final", final));
                activity?.AddException(ex);
                if (final)
                {
                    // Last attempt: make the failure visible in the document status before the messages are dead-lettered.
                    LogFailed(ex, model.Key, chunkIds.Length, options.Value.RetryLimit + 1);
                    await store.RecordErrorAsync(chunkIds, model, ErrorText(ex), CancellationToken.None);
                }
            }
        }

        // Models that succeeded are stored; a retry skips them and calls only the model that failed.
        if (failures.Count > 0)
        {
            activity?.SetStatus(ActivityStatusCode.Error, failures[0].Message);
        }

        if (failures.Count == 1)
        {
            throw failures[0];
        }

        if (failures.Count > 1)
        {
            throw new AggregateException("Embedding failed for several models.", failures);
        }

        MessagesHandled.Add(context.Message.Length);
        var now = DateTime.UtcNow;
        foreach (var message in context.Message)
        {
            if (message.SentTime is { } sent)
            {
                Lag.Record(Math.Max(0, (now - sent).TotalSeconds));
            }
        }
    }

    /// <summary>
    /// Starts the batch span: a child of the current activity (MassTransit's process span, which continues the trace
    /// of the batch's last message only), linked to the producing (send) span of every message, so that each
    /// document's trace reaches the batch that embedded its chunks. Null when nothing listens.
    /// </summary>
    private static Activity? StartBatchActivity(Batch<EmbedChunk> batch)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>(batch.Length);
        var linked = new HashSet<ActivitySpanId>();
        var documents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in batch)
        {
            documents.Add(message.Message.DocumentId);
            if (ProducerContext(message) is { } producer && linked.Add(producer.SpanId))
            {
                links.Add(new ActivityLink(producer, new ActivityTagsCollection
                {
                    ["messaging.message.id"] = message.MessageId?.ToString("D"),
                    ["vectorpipeline.document.id"] = message.Message.DocumentId,
                    ["vectorpipeline.chunk.id"] = message.Message.ChunkId,
                }));
            }
        }

        var activity = Source.StartActivity(BatchSpanName, ActivityKind.Consumer, parentContext: default, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.destination.name", EmbedChunk.QueueName);
            activity.SetTag("messaging.batch.message_count", batch.Length);
            activity.SetTag("vectorpipeline.batch.documents", documents.Count);
        }

        return activity;
    }

    // The W3C traceparent MassTransit put in the message when it was sent (header MT-Activity-Id).
    private static ActivityContext? ProducerContext(ConsumeContext<EmbedChunk> message)
    {
        var value = message.ReceiveContext.TransportHeaders.Get<string>(DiagnosticHeaders.ActivityId)
            ?? message.Headers.Get<string>(DiagnosticHeaders.ActivityId);
        return value is not null && ActivityContext.TryParse(value, null, isRemote: true, out var context) ? context : null;
    }

    /// <summary>
    /// True for a failure no retry can mend: an <see cref="EmbeddingProviderException"/> that is not transient
    /// (400, 401, 403, 404, 413, 422, vectors of the wrong length or count). Such chunks are marked failed at once.
    /// </summary>
    internal static bool IsPermanent(Exception exception) => exception is EmbeddingProviderException { IsTransient: false, IsCircuitOpen: false };

    private static string ErrorText(Exception exception) => $"{exception.GetType().Name}: {exception.Message}";

    /// <summary>The <c>reason</c> tag of <c>vectorpipeline.embedding.failures</c>: a small fixed set of values.</summary>
    internal static string FailureReason(Exception exception) => exception switch
    {
        EmbeddingProviderException { IsCircuitOpen: true } => "circuit_open",
        EmbeddingProviderException { StatusCode: { } status } => $"http_{status}",
        EmbeddingProviderException { IsTransient: true } => "unreachable",
        EmbeddingProviderException => "invalid_response",
        Npgsql.NpgsqlException => "database",
        _ => "other",
    };

    private async Task EmbedAsync(long[] chunkIds, EmbeddingModel model, ModelEmbedder embedder, int received, CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("model", model.Key);
        var reused = await store.CopyByContentHashAsync(chunkIds, model, cancellationToken);
        ChunksReused.Add(reused, tag);
        var chunks = await store.GetChunksToEmbedAsync(chunkIds, model, cancellationToken);
        if (chunks.Count > 0)
        {
            // Another worker (or batch) may hold messages for the same chunks right now: claim them (waiting for the
            // other holder to finish), then read again what is still missing, so no text is sent to the model twice.
            await using var claim = await store.ClaimAsync(chunks.Select(c => c.Id).ToList(), model, cancellationToken);
            var missing = await store.GetChunksToEmbedAsync(claim.Claimed, model, cancellationToken);
            if (missing.Count < chunks.Count)
            {
                LogClaimedElsewhere(model.Key, chunks.Count - missing.Count);
            }

            chunks = missing;
            await EmbedClaimedAsync(chunks, model, embedder, reused, received, cancellationToken);
            return;
        }

        if (reused > 0)
        {
            LogEmbedded(model.Key, 0, 0, reused, received, 0);
        }
    }

    private async Task EmbedClaimedAsync(IReadOnlyList<ChunkToEmbed> chunks, EmbeddingModel model, ModelEmbedder embedder, int reused, int received,
        CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("model", model.Key);
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
        IReadOnlyList<ReadOnlyMemory<float>> vectors;
        try
        {
            vectors = await embedder.EmbedDocumentsAsync(distinct.Select(c => c.Text).ToList(), cancellationToken);
        }
        catch (EmbeddingProviderException ex) when (distinct.Count > 1 && IsPermanent(ex) && ex.StatusCode is 400 or 413 or 422)
        {
            // The server refused the input: find the texts it refuses one by one, so the others still get embedded.
            (distinct, vectors) = await IsolateRefusedAsync(distinct, chunks, model, embedder, cancellationToken);
            chunks = chunks.Where(c => distinct.Any(d => d.ContentHash.AsSpan().SequenceEqual(c.ContentHash))).ToList();
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        EmbedDuration.Record(elapsed.TotalSeconds, tag);
        var byHash = new Dictionary<string, ReadOnlyMemory<float>>(distinct.Count);
        for (var i = 0; i < distinct.Count; i++)
        {
            byHash[Convert.ToHexString(distinct[i].ContentHash)] = vectors[i];
        }

        var rows = chunks.Select(c => new ChunkEmbedding(c.Id, c.ContentHash, byHash[Convert.ToHexString(c.ContentHash)])).ToList();
        int written;
        using (var write = Source.StartActivity(StoreSpanPrefix + model.Key, ActivityKind.Internal))
        {
            write?.SetTag("db.system.name", "postgresql");
            write?.SetTag("vectorpipeline.embedding.rows", rows.Count);
            using (await writeGate.EnterAsync(cancellationToken))
            {
                written = await store.WriteAsync(model, rows, cancellationToken);
            }

            write?.SetTag("vectorpipeline.embedding.written", written);
        }

        ChunksEmbedded.Add(written, tag);
        LogEmbedded(model.Key, written, distinct.Count, reused, received, (long)elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// Embeds each text alone after the server refused the batch's input. Texts refused alone (permanent error)
    /// have their chunks marked failed; a transient error is thrown (the whole batch is retried).
    /// </summary>
    private async Task<(List<ChunkToEmbed> Accepted, IReadOnlyList<ReadOnlyMemory<float>> Vectors)> IsolateRefusedAsync(
        List<ChunkToEmbed> distinct, IReadOnlyList<ChunkToEmbed> all, EmbeddingModel model, ModelEmbedder embedder, CancellationToken cancellationToken)
    {
        var accepted = new List<ChunkToEmbed>(distinct.Count);
        var vectors = new List<ReadOnlyMemory<float>>(distinct.Count);
        foreach (var chunk in distinct)
        {
            try
            {
                vectors.Add((await embedder.EmbedDocumentsAsync([chunk.Text], cancellationToken))[0]);
                accepted.Add(chunk);
            }
            catch (EmbeddingProviderException ex) when (IsPermanent(ex))
            {
                LogPermanent(ex, model.Key, 1);
                var refused = all.Where(c => c.ContentHash.AsSpan().SequenceEqual(chunk.ContentHash)).Select(c => c.Id).ToArray();
                await store.RecordErrorAsync(refused, model, ErrorText(ex), cancellationToken);
            }
        }

        return (accepted, vectors);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model}: permanent error for {Chunks} chunks, marked failed without retrying (POST /documents/{{id}}/retry queues them again)")]
    private partial void LogPermanent(Exception exception, string model, int chunks);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Model {Model}: {Chunks} chunks were embedded by another worker or batch while this one waited for them")]
    private partial void LogClaimedElsewhere(string model, int chunks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: wrote {Written} embeddings from {Texts} embedded texts, reused {Reused}, for {Received} messages; embedding took {ElapsedMs} ms")]
    private partial void LogEmbedded(string model, int written, int texts, int reused, int received, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} is enabled but not configured in this worker (Embedding or Embedding:Models:{{key}}); its chunks are left to workers that have it")]
    private partial void LogNotConfigured(string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model}: embedding {Chunks} chunks failed after {Attempts} attempts; chunks marked failed, messages dead-lettered")]
    private partial void LogFailed(Exception exception, string model, int chunks, int attempts);
}
