using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RabbitMQ.Client;
using VectorPipeline.Ingest.Delivery;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;
using VectorPipeline.TestServers;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// <see cref="PublisherRecoveryService"/> on a real MassTransit bus and RabbitMQ: a bus whose connection went silent
/// (a proxy that freezes it without closing it) keeps failing its publishes while the broker answers; the service
/// sees the stall, restarts the bus, and publishes reach the queue again. When to restart is in UnitTests.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class PublisherRecoveryTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_bus_stuck_on_a_silent_connection_is_restarted_and_publishes_again()
    {
        var token = TestContext.Current.CancellationToken;
        await using var rabbit = await RabbitMqServer.StartAsync();
        await using var proxy = FreezingTcpProxy.Start(rabbit.Port);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:messaging"] = $"amqp://guest:guest@127.0.0.1:{proxy.Port}/",
        });
        builder.AddMessaging();
        // (Disposed only at the end: MassTransit keeps the first bus's logger factory in a static log context.)
        using var host = builder.Build();
        await host.StartAsync(token);
        var bus = host.Services.GetRequiredService<IBusControl>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var monitor = new PublishMonitor(time);
        var delivery = new DeliveryOptions { PublishTimeoutSeconds = 10 };
        var factory = new ConnectionFactory { Uri = new Uri(rabbit.ConnectionString) };
        var recovery = new PublisherRecoveryService(
            async ct => { await using var probe = await factory.CreateConnectionAsync(ct); },
            ct => PublisherRecoveryService.RestartAsync(bus, ct),
            monitor, Options.Create(delivery), NullLogger<PublisherRecoveryService>.Instance);

        Assert.Null(await PublishAsync(bus, monitor));

        // The bus's connection goes silent: publishes time out, the broker still answers new connections, and
        // MassTransit does not notice by itself. Each publish gives up at its timeout, although MassTransit takes far
        // longer to honour the cancelled token there.
        proxy.FreezeOpenConnections();
        for (var i = 0; i < PublishMonitor.StallFailures; i++)
        {
            if (i > 0)
            {
                time.Advance(TimeSpan.FromSeconds(20));
            }

            var clock = Stopwatch.StartNew();
            Assert.IsType<ChunkPublishException>(await PublishAsync(bus, monitor));
            Assert.True(clock.Elapsed < PublishTimeout + TimeSpan.FromSeconds(2), $"publish {i + 1} gave up after {clock.Elapsed.TotalSeconds:F1} s, timeout {PublishTimeout.TotalSeconds} s");
            if (i == 0)
            {
                Assert.Equal(PublisherRecoveryService.Outcome.NoStall, await recovery.CheckOnceAsync(token));
            }
        }

        await using var probeConnection = await factory.CreateConnectionAsync(token);
        var health = new BrokerHealthCheck(new QueueDepthProbe(new ServiceCollection().AddSingleton(probeConnection).BuildServiceProvider()),
            monitor, Options.Create(delivery));
        var stalled = await CheckHealthAsync(health);
        Assert.Equal(HealthStatus.Unhealthy, stalled.Status);
        Assert.Contains("no chunk message was confirmed", stalled.Description, StringComparison.Ordinal);

        Assert.Equal(PublisherRecoveryService.Outcome.Restarted, await recovery.CheckOnceAsync(token));
        Assert.Equal(1, monitor.BusRestarts);
        var recovered = await CheckHealthAsync(health);
        Assert.Equal(HealthStatus.Healthy, recovered.Status);
        Assert.Equal("RabbitMQ reachable; the message bus was restarted 1 time(s) after a publish stall", recovered.Description);
        var failure = await PublishAsync(bus, monitor);
        Assert.True(failure is null, $"publish after the restart failed: {failure}");
        await using (var connection = await factory.CreateConnectionAsync(token))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: token))
        {
            Assert.Equal(2u, (await channel.QueueDeclarePassiveAsync(EmbedChunk.QueueName, token)).MessageCount);
        }

        await host.StopAsync(token);
    }

    private static Task<HealthCheckResult> CheckHealthAsync(BrokerHealthCheck health) =>
        health.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration(BrokerHealthCheck.Name, health, HealthStatus.Unhealthy, null) },
            TestContext.Current.CancellationToken);

    private static async Task<Exception?> PublishAsync(IBus bus, PublishMonitor monitor) =>
        await Record.ExceptionAsync(() =>
            bus.PublishChunksAsync([new EmbedChunk("recovery", 1)], PublishTimeout, monitor, TestContext.Current.CancellationToken));
}
