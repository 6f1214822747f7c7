using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace VectorPipeline.Messaging;

/// <summary>Messages waiting in a queue and consumers attached to it, as RabbitMQ reports them (<c>queue.declare</c> passive).</summary>
/// <param name="Queue">Queue name.</param>
/// <param name="Messages">Messages ready for delivery (not counting those delivered and not yet acknowledged).</param>
/// <param name="Consumers">Consumers attached (one per worker receive endpoint).</param>
public sealed record QueueDepth(string Queue, long Messages, int Consumers);

/// <summary>
/// Reads queue depths straight from RabbitMQ over the <see cref="IConnection"/> of Aspire.RabbitMQ.Client
/// (<see cref="MessagingExtensions.AddQueueDepthProbe"/>; one channel per queue, meant for status endpoints, not hot
/// paths). A queue that does not exist yet reads as empty with no consumers.
/// </summary>
/// <param name="services">Gives the connection. It is opened on the first call, not at start-up, so that a broker that
/// cannot be reached fails that call (which the status endpoint reports) instead of the request's parameter binding.</param>
public sealed class QueueDepthProbe(IServiceProvider services)
{
    /// <summary>Depth of each queue, in the order given.</summary>
    /// <exception cref="BrokerUnreachableException">RabbitMQ cannot be reached.</exception>
    /// <exception cref="AlreadyClosedException">The connection was lost and is not recovered yet.</exception>
    public async Task<IReadOnlyList<QueueDepth>> GetAsync(IReadOnlyList<string> queues, CancellationToken cancellationToken = default)
    {
        var amqp = services.GetRequiredService<IConnection>();
        var depths = new List<QueueDepth>(queues.Count);
        foreach (var queue in queues)
        {
            // A passive declare of a missing queue closes the channel, so each queue gets its own.
            await using var channel = await amqp.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                var ok = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
                depths.Add(new QueueDepth(queue, ok.MessageCount, (int)ok.ConsumerCount));
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
            {
                depths.Add(new QueueDepth(queue, 0, 0));
            }
        }

        return depths;
    }
}
