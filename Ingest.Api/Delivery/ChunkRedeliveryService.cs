using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Ingest.Telemetry;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.VectorStore;

namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// The redelivery sweep: every <see cref="DeliveryOptions.SweepIntervalMs"/>, one Ingest.Api replica (elected
/// with a PostgreSQL session advisory try-lock, <see cref="DeliveryStore.TryLeadSweepAsync"/>) pages through the
/// chunks queued more than <see cref="DeliveryOptions.RedeliverAfterSeconds"/> ago (<see cref="DeliveryStore.SweepAsync"/>,
/// keyset pagination) and publishes <see cref="EmbedChunk"/> again for those still without an embedding and
/// without a recorded error. This makes good a message lost between the commit of a document and the publish of
/// its chunks (process killed, broker down or refusing). Duplicates are harmless: the worker skips chunks that
/// already have their embedding. Chunks found embedded or failed leave the sweep's index.
/// </summary>
public sealed partial class ChunkRedeliveryService(
    IBus bus,
    PublishMonitor publishes,
    DeliveryStore store,
    IOptions<DeliveryOptions> options,
    ILogger<ChunkRedeliveryService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.RedeliveryEnabled)
        {
            LogDisabled();
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(settings.SweepIntervalMs));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(ex);
            }
        }
    }

    /// <summary>
    /// Runs one sweep if this process wins the election; otherwise returns at once.
    /// </summary>
    /// <returns>Chunk messages published again; -1 when another process leads the sweep.</returns>
    /// <exception cref="Npgsql.NpgsqlException">Database unreachable.</exception>
    public async Task<long> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var lease = await store.TryLeadSweepAsync(cancellationToken);
        if (lease is null)
        {
            return -1;
        }

        long after = 0, published = 0, settled = 0;
        while (true)
        {
            var page = await store.SweepAsync(TimeSpan.FromSeconds(settings.RedeliverAfterSeconds), after, settings.PageSize, cancellationToken);
            if (page.LastChunkId == 0)
            {
                break;
            }

            if (page.Waiting.Count > 0)
            {
                await bus.PublishChunksAsync([.. page.Waiting.Select(c => new EmbedChunk(c.DocumentId, c.ChunkId))], settings.PublishTimeout, publishes, cancellationToken);
                IngestMetrics.Published(page.Waiting.Count, "redelivery");
                published += page.Waiting.Count;
            }

            settled += page.Settled;
            after = page.LastChunkId;
        }

        if (published > 0)
        {
            LogRedelivered(published, settings.RedeliverAfterSeconds, settled);
        }

        return published;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redelivery: published {Published} chunk messages again (chunks still waiting {Seconds} s after being queued); {Settled} chunks found done")]
    private partial void LogRedelivered(long published, int seconds, long settled);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redelivery sweep failed; will try again at the next interval")]
    private partial void LogSweepFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redelivery sweep disabled in this process (Delivery:RedeliveryEnabled = false)")]
    private partial void LogDisabled();
}
