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
    /// records the outcome in <paramref name="monitor"/>.
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
        try
        {
            await publisher.PublishBatch(messages, bounded.Token);
            monitor.Succeeded();
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            monitor.Failed();
            throw new ChunkPublishException($"the message broker did not accept {messages.Count} chunk messages within {timeout.TotalSeconds:0.#} s (Delivery:PublishTimeoutSeconds)", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            monitor.Failed();
            throw new ChunkPublishException($"the message broker refused {messages.Count} chunk messages ({ex.GetType().Name})", ex);
        }
    }
}
