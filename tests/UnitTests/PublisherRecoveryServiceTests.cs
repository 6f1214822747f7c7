using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VectorPipeline.Ingest.Delivery;
using Outcome = VectorPipeline.Ingest.Delivery.PublisherRecoveryService.Outcome;

namespace VectorPipeline.UnitTests;

/// <summary>
/// When Ingest.Api restarts its message bus by itself: a stall of publishes with the broker answering, once per stall
/// window; never while publishes succeed or the broker is down. The bus restart against a real RabbitMQ is in
/// IntegrationTests (<c>PublisherRecoveryTests</c>).
/// </summary>
public class PublisherRecoveryServiceTests
{
    [Fact]
    public async Task A_stall_with_the_broker_answering_restarts_the_bus_once_per_stall_window()
    {
        var recovery = new Recovery();
        recovery.FailFor(seconds: 40);

        Assert.Equal(Outcome.Restarted, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        Assert.Equal((1, 1), (recovery.Probes, recovery.Restarts));
        Assert.Equal(1, recovery.Monitor.BusRestarts);

        // Publishes still failing right after the restart: no second restart until a new window has passed.
        recovery.FailFor(seconds: 20);
        Assert.Equal(Outcome.NoStall, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        recovery.FailFor(seconds: 20);
        Assert.Equal(Outcome.Restarted, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(2, recovery.Restarts);
    }

    [Fact]
    public async Task Publishes_that_succeed_or_fail_for_less_than_the_window_neither_probe_nor_restart()
    {
        var recovery = new Recovery();
        Assert.Equal(Outcome.NoStall, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));

        recovery.FailFor(seconds: 20);
        Assert.Equal(Outcome.NoStall, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));

        recovery.FailFor(seconds: 30);
        recovery.Monitor.Succeeded();
        Assert.Equal(Outcome.NoStall, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        Assert.Equal((0, 0), (recovery.Probes, recovery.Restarts));
    }

    [Fact]
    public async Task A_broker_that_does_not_answer_is_left_to_MassTransit_s_own_reconnect()
    {
        var recovery = new Recovery { BrokerDown = true };
        recovery.FailFor(seconds: 40);

        Assert.Equal(Outcome.BrokerUnreachable, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        Assert.Equal((1, 0), (recovery.Probes, recovery.Restarts));
        Assert.Null(recovery.Monitor.Stall(PublishMonitor.StallAfter(new DeliveryOptions())));
    }

    [Fact]
    public async Task A_restart_that_throws_is_reported_and_ends_the_window_like_one_that_worked()
    {
        var recovery = new Recovery { RestartThrows = true };
        recovery.FailFor(seconds: 40);

        Assert.Equal(Outcome.RestartFailed, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, recovery.Restarts);
        Assert.Equal(Outcome.NoStall, await recovery.Service.CheckOnceAsync(TestContext.Current.CancellationToken));
    }

    private sealed class Recovery
    {
        public Recovery()
        {
            Monitor = new PublishMonitor(Time);
            Service = new PublisherRecoveryService(
                _ => { Probes++; return BrokerDown ? Task.FromException(new TimeoutException("no answer")) : Task.CompletedTask; },
                _ => { Restarts++; return RestartThrows ? Task.FromException(new InvalidOperationException("start faulted")) : Task.CompletedTask; },
                Monitor, Options.Create(new DeliveryOptions()), NullLogger<PublisherRecoveryService>.Instance);
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

        public PublishMonitor Monitor { get; }

        public PublisherRecoveryService Service { get; }

        public bool BrokerDown { get; init; }

        public bool RestartThrows { get; init; }

        public int Probes { get; private set; }

        public int Restarts { get; private set; }

        // A failed publish every 10 s (the default publish timeout) for the given time, ending with one.
        public void FailFor(int seconds)
        {
            for (var elapsed = 0; elapsed < seconds; elapsed += 10)
            {
                Monitor.Failed();
                Time.Advance(TimeSpan.FromSeconds(10));
            }

            Monitor.Failed();
        }
    }
}
