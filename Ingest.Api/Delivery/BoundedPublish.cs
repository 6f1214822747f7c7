using MassTransit;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// The broker did not accept chunk messages within <see cref="DeliveryOptions.PublishTimeoutSeconds"/>, or refused
/// them. The chunks stay queued in PostgreSQL (<c>chunks.queued_at</c>), so the redelivery sweep publishes them once
/// the broker is back. The message never holds the broker's address or credentials.
/// </summary>
public sealed class ChunkPublishException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Publishing of <see cref="EmbedChunk"/> messages that gives up after a bounded time. MassTransit waits for its
/// broker connection to come back before it sends, for as long as the caller lets it (unbounded without a
/// cancellation token): with RabbitMQ down, a <c>POST /documents</c> would hang until the broker returned.
/// </summary>
public static class BoundedPublish
{
    /// <summary>
    /// Publishes <paramref name="messages"/> (one batch), cancelling the attempt after <paramref name="timeout"/>, and
    /// records the outcome in <paramref name="monitor"/>. Returns or throws within <paramref name="timeout"/> (plus
    /// scheduling), even where MassTransit is slower to honour the cancellation; a publish given up on may still reach
    /// the broker later, and the chunks are then published twice (the worker embeds each chunk once).
    /// </summary>
    /// <exception cref="ChunkPublishException">The broker refused the messages or the timeout passed first.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the caller's own cancellation).</exception>
    public static async Task PublishChunksAsync(this IPublishEndpoint publisher, IReadOnlyCollection<EmbedChunk> messages, TimeSpan timeout,
        PublishMonitor monitor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        if (messages.Count == 0)
        {
            return;
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        Task? publish = null;
        try
        {
            // On a connection that went silent, MassTransit's publish can take several times the timeout to honour the
            // cancelled token (measured: up to 20 s with a 3 s timeout): the caller stops waiting at the timeout.
            publish = publisher.PublishBatch(messages, bounded.Token);
            await publish.WaitAsync(timeout, cancellationToken);
            monitor.Succeeded();
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            monitor.Failed();
            Abandon(publish);
            throw new ChunkPublishException($"the message broker did not accept {messages.Count} chunk messages within {timeout.TotalSeconds:0.#} s (Delivery:PublishTimeoutSeconds)", ex);
        }
        catch (OperationCanceledException)
        {
            Abandon(publish);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            monitor.Failed();
            throw new ChunkPublishException($"the message broker refused {messages.Count} chunk messages ({ex.GetType().Name})", ex);
        }
    }

    // A publish given up on still ends by itself (its token is cancelled); its outcome no longer matters, but a fault
    // left unobserved would be reported as an unobserved task exception.
    private static void Abandon(Task? publish) =>
        publish?.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
