using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// Part of Ingest.Api's <c>/health</c>: RabbitMQ answers (an AMQP connection opens and the <c>embed-chunk</c> queue
/// can be declared passively) within 5 s. MassTransit's own bus check cannot tell: a publish-only bus has no receive
/// endpoint, and its check reads "Ready" while the broker is down. Unhealthy names the broker as unreachable,
/// without its address or credentials. A reachable broker whose publishes have failed for a while (<see cref="PublishMonitor.Stall"/>)
/// is unhealthy too: the publisher is stuck; <see cref="PublisherRecoveryService"/> restarts the bus, and a stall that
/// outlasts that calls for a restart of the process.
/// </summary>
public sealed class BrokerHealthCheck(QueueDepthProbe probe, PublishMonitor publishes, IOptions<DeliveryOptions> delivery) : IHealthCheck
{
    /// <summary>Name of the check in <c>/health</c>.</summary>
    public const string Name = "messaging";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        try
        {
            await probe.GetAsync([EmbedChunk.QueueName], bounded.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            publishes.BrokerUnreachable();
            return new HealthCheckResult(context.Registration.FailureStatus, $"RabbitMQ unreachable ({ex.GetType().Name}): new chunks are stored and queued by the redelivery sweep once it is back");
        }

        return publishes.Stall(PublishMonitor.StallAfter(delivery.Value)) is { } stall
            ? new HealthCheckResult(context.Registration.FailureStatus, stall)
            : HealthCheckResult.Healthy(publishes.BusRestarts is var restarts and > 0
                ? $"RabbitMQ reachable; the message bus was restarted {restarts} time(s) after a publish stall"
                : "RabbitMQ reachable");
    }
}
