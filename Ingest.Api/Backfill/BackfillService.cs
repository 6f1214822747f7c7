using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Ingest.Delivery;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Backfill;

/// <summary>
/// Runs backfills in the background: for a model asked for with <see cref="Enqueue"/>, publishes one
/// <see cref="EmbedChunk"/> per chunk that has no embedding of it, page by page (keyset pagination over
/// chunk keys), through the same queue and workers as new documents. Every
/// <see cref="BackfillOptions.CheckIntervalMs"/> it also records finished backfills and activates the
/// models that asked for it (<see cref="EmbeddingModelStore.CompleteBackfillsAsync"/>). Progress lives in
/// the database, so a restart loses nothing: asking for the backfill again queues what is still missing.
/// </summary>
public sealed partial class BackfillService(
    IBus bus,
    Delivery.PublishMonitor publishes,
    EmbeddingModelStore models,
    IOptions<BackfillOptions> options,
    IOptions<Delivery.DeliveryOptions> delivery,
    ILogger<BackfillService> logger) : BackgroundService
{
    private readonly Channel<int> _requests = Channel.CreateUnbounded<int>();

    /// <summary>Queues a backfill of the model; returns at once.</summary>
    public void Enqueue(int modelId) => _requests.Writer.TryWrite(modelId);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var checks = CheckCompletionsAsync(stoppingToken);
        await foreach (var modelId in _requests.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await PublishMissingAsync(modelId, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPublishFailed(ex, modelId);
            }
        }

        await checks;
    }

    private async Task PublishMissingAsync(int modelId, CancellationToken cancellationToken)
    {
        var model = await models.FindAsync(modelId, cancellationToken);
        if (model is null)
        {
            return;
        }

        long after = 0, queued = 0;
        while (true)
        {
            var page = await models.GetMissingAsync(modelId, after, options.Value.PageSize, cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            await bus.PublishChunksAsync([.. page.Select(c => new EmbedChunk(c.DocumentId, c.ChunkId))], delivery.Value.PublishTimeout, publishes, cancellationToken);
            IngestMetrics.Published(page.Count, "backfill");
            queued += page.Count;
            after = page[^1].ChunkId;
            LogQueued(model.Key, queued);
        }

        LogQueuedAll(model.Key, queued);
    }

    private async Task CheckCompletionsAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.CheckIntervalMs));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                await models.CompleteBackfillsAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogCheckFailed(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backfill of model {Model}: {Queued} chunks queued so far")]
    private partial void LogQueued(string model, long queued);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backfill of model {Model}: all {Queued} chunks without an embedding are queued")]
    private partial void LogQueuedAll(string model, long queued);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backfill of model {ModelId} stopped while queueing chunks; ask for it again to queue the rest")]
    private partial void LogPublishFailed(Exception exception, int modelId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking backfills for completion failed; will try again")]
    private partial void LogCheckFailed(Exception exception);
}
