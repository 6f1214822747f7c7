namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// Outcomes of this process's chunk publishes (<see cref="BoundedPublish"/>), for <c>/health</c>: it tells a broker
/// that answers but never confirms a publish (a publisher stuck after a broker restart, a queue refusing messages)
/// from a broker that is down (which <see cref="BrokerHealthCheck"/> sees by itself). Thread-safe; one per process.
/// </summary>
/// <param name="time">The clock (a fake one in tests).</param>
public sealed class PublishMonitor(TimeProvider time)
{
    /// <summary>How many failed publishes, all after the broker was last seen unreachable, make a stall (with <see cref="StallAfter"/>).</summary>
    public const int StallFailures = 3;

    private readonly Lock _lock = new();
    private DateTimeOffset? _failingSince;
    private DateTimeOffset _lastFailure;
    private DateTimeOffset _unreachableAt = DateTimeOffset.MinValue;
    private int _failuresSinceUnreachable;
    private int _failures;
    private int _busRestarts;

    /// <summary>A publish was confirmed: ends any run of failures.</summary>
    public void Succeeded()
    {
        lock (_lock)
        {
            (_failingSince, _failures, _failuresSinceUnreachable) = (null, 0, 0);
        }
    }

    /// <summary>A publish timed out or was refused.</summary>
    public void Failed()
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            _failingSince ??= now;
            _lastFailure = now;
            _failures++;
            _failuresSinceUnreachable++;
        }
    }

    /// <summary>How many times <see cref="PublisherRecoveryService"/> restarted the bus in this process.</summary>
    public int BusRestarts
    {
        get
        {
            lock (_lock)
            {
                return _busRestarts;
            }
        }
    }

    /// <summary>The bus was restarted after a stall (<see cref="PublisherRecoveryService"/>): ends the run of failures, so
    /// that another restart needs a whole new <see cref="StallAfter"/> of failed publishes.</summary>
    public void BusRestarted()
    {
        lock (_lock)
        {
            (_failingSince, _failures, _failuresSinceUnreachable) = (null, 0, 0);
            _busRestarts++;
        }
    }

    /// <summary>The broker did not answer a probe: failures until now are explained by that, not by a stuck publisher.</summary>
    public void BrokerUnreachable()
    {
        lock (_lock)
        {
            (_unreachableAt, _failuresSinceUnreachable) = (time.GetUtcNow(), 0);
        }
    }

    /// <summary>
    /// With the broker reachable: a message when no publish was confirmed for at least <paramref name="stallAfter"/> and
    /// at least <see cref="StallFailures"/> publishes failed since the broker was last seen unreachable, the last of them
    /// within <paramref name="stallAfter"/> (publishes still being tried and still failing); otherwise null.
    /// </summary>
    /// <param name="stallAfter">How long publishes may fail before it counts as a stall (<see cref="StallAfter"/>).</param>
    public string? Stall(TimeSpan stallAfter)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_failingSince is not { } since || now - since < stallAfter || now - _lastFailure > stallAfter
                || _failuresSinceUnreachable < StallFailures || _lastFailure <= _unreachableAt)
            {
                return null;
            }

            return $"RabbitMQ answers, but no chunk message was confirmed for {(now - since).TotalSeconds:0} s ({_failures} publishes failed): "
                + "the publisher may be stuck; the message bus restarts itself once RabbitMQ answers, and a stall that lasts "
                + "through that calls for a restart of Ingest.Api (new chunks are stored and queued by the redelivery sweep)";
        }
    }

    /// <summary>How long publishes may fail, with the broker reachable, before <c>/health</c> reports a stall: 3 × the publish timeout, at least 30 s.</summary>
    public static TimeSpan StallAfter(DeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TimeSpan.FromSeconds(Math.Max(30, 3 * options.PublishTimeoutSeconds));
    }
}
