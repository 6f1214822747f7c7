using Microsoft.Extensions.Time.Testing;
using VectorPipeline.Ingest.Delivery;

namespace VectorPipeline.UnitTests;

/// <summary>
/// When Ingest.Api's <c>/health</c> calls a reachable broker stuck (publishes failing for a while) and when not: an outage the
/// probe saw, a failure run too short or too sparse, or one that a confirmed publish ended.
/// </summary>
public class PublishMonitorTests
{
    private static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(30);

    [Fact]
    public void Publishes_failing_for_the_stall_time_with_the_broker_reachable_are_a_stall_until_one_is_confirmed()
    {
        var (time, monitor) = New();
        FailEvery10Seconds(monitor, time, 4);

        var stall = monitor.Stall(StallAfter);
        Assert.NotNull(stall);
        Assert.Contains("no chunk message was confirmed for 40 s (4 publishes failed)", stall, StringComparison.Ordinal);

        monitor.Succeeded();
        Assert.Null(monitor.Stall(StallAfter));
    }

    [Fact]
    public void Failures_shorter_than_the_stall_time_or_fewer_than_three_are_no_stall()
    {
        var (time, monitor) = New();
        monitor.Failed();
        time.Advance(TimeSpan.FromSeconds(20));
        monitor.Failed();
        monitor.Failed();
        Assert.Null(monitor.Stall(StallAfter)); // 20 s < 30 s

        var (time2, sparse) = New();
        sparse.Failed();
        time2.Advance(TimeSpan.FromSeconds(40));
        sparse.Failed();
        Assert.Null(sparse.Stall(StallAfter)); // two failures only
    }

    [Fact]
    public void Failures_the_probe_explained_by_an_outage_are_no_stall_and_old_failures_expire()
    {
        var (time, monitor) = New();
        FailEvery10Seconds(monitor, time, 5);

        monitor.BrokerUnreachable();
        Assert.Null(monitor.Stall(StallAfter)); // the broker was down: /health says so already

        // Back up, publishes failing again: three more make it a stall.
        for (var i = 0; i < 3; i++)
        {
            monitor.Failed();
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(monitor.Stall(StallAfter));

        // Nothing tried for longer than the stall time: no evidence left that publishing is stuck.
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Null(monitor.Stall(StallAfter));
    }

    [Theory]
    [InlineData(3, 30)]
    [InlineData(10, 30)]
    [InlineData(20, 60)]
    public void The_stall_time_is_three_publish_timeouts_and_at_least_30_s(int publishTimeoutSeconds, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), PublishMonitor.StallAfter(new DeliveryOptions { PublishTimeoutSeconds = publishTimeoutSeconds }));

    private static (FakeTimeProvider Time, PublishMonitor Monitor) New()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        return (time, new PublishMonitor(time));
    }

    // count failed publishes, 10 s apart.
    private static void FailEvery10Seconds(PublishMonitor monitor, FakeTimeProvider time, int count)
    {
        for (var i = 0; i < count; i++)
        {
            monitor.Failed();
            time.Advance(TimeSpan.FromSeconds(10));
        }
    }
}
