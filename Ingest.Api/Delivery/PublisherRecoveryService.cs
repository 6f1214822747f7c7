using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// Restarts this process's MassTransit bus when its chunk publishes stall while RabbitMQ answers
/// (<see cref="PublishMonitor.Stall"/>): after a broker restart MassTransit's connection or its bus endpoint can stay
/// down for good (a receive transport whose reconnect hits an error its retry policy does not cover stops retrying),
/// and every publish then times out although the broker is back. A stop and start of the bus builds its connection
/// and endpoints anew. Checks every <see cref="CheckInterval"/>; a restart ends the run of failures, so another one
/// needs a whole new <see cref="PublishMonitor.StallAfter"/> of failed publishes. Chunks whose publish failed meanwhile
/// are stored and queued; the redelivery sweep publishes them.
/// </summary>
/// <param name="probeBroker">Throws when RabbitMQ does not answer (<see cref="QueueDepthProbe"/> in the service).</param>
/// <param name="restartBus">Stops and starts the bus (<see cref="RestartAsync"/> in the service).</param>
/// <param name="publishes">This process's publish outcomes.</param>
/// <param name="options">Delivery settings (the publish timeout sets the stall window).</param>
/// <param name="logger">Logs each restart and its outcome.</param>
public sealed partial class PublisherRecoveryService(
    Func<CancellationToken, Task> probeBroker,
    Func<CancellationToken, Task> restartBus,
    PublishMonitor publishes,
    IOptions<DeliveryOptions> options,
    ILogger<PublisherRecoveryService> logger) : BackgroundService
{
    /// <summary>How often the publish outcomes are checked for a stall.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    // Above RabbitMQ.Client's 30 s wait for close-ok: on a silent connection the stop takes that long, and a stop cut
    // shorter leaves the bus unable to send (measured: TransportUnavailableException after a 10 s cut).
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>What one check did.</summary>
    public enum Outcome
    {
        /// <summary>No stall: publishes succeed, or have not failed for long enough.</summary>
        NoStall,

        /// <summary>Publishes fail, but RabbitMQ does not answer: MassTransit reconnects by itself once it is back.</summary>
        BrokerUnreachable,

        /// <summary>The bus was stopped and started again.</summary>
        Restarted,

        /// <summary>The restart threw (logged); the next stall window tries again.</summary>
        RestartFailed,
    }

    /// <summary>The service for Ingest.Api: probes with <see cref="QueueDepthProbe"/> and restarts the registered <see cref="IBusControl"/>.</summary>
    public static PublisherRecoveryService Create(IServiceProvider services)
    {
        var probe = services.GetRequiredService<QueueDepthProbe>();
        var bus = services.GetRequiredService<IBusControl>();
        return new PublisherRecoveryService(
            cancellationToken => probe.GetAsync([EmbedChunk.QueueName], cancellationToken),
            cancellationToken => RestartAsync(bus, cancellationToken),
            services.GetRequiredService<PublishMonitor>(),
            services.GetRequiredService<IOptions<DeliveryOptions>>(),
            services.GetRequiredService<ILogger<PublisherRecoveryService>>());
    }

    /// <summary>
    /// Stops <paramref name="bus"/> (at most 45 s: on a connection that went silent, RabbitMQ.Client waits 30 s for the
    /// broker's close-ok) and starts it again (at most 60 s).
    /// </summary>
    /// <exception cref="OperationCanceledException">The stop or start took longer, or <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="Exception">Whatever MassTransit's start raises when the broker refuses the connection.</exception>
    public static async Task RestartAsync(IBusControl bus, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bus);
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            stop.CancelAfter(StopTimeout);
            await bus.StopAsync(stop.Token);
        }

        using var start = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        start.CancelAfter(StartTimeout);
        await bus.StartAsync(start.Token);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await CheckOnceAsync(stoppingToken);
        }
    }

    /// <summary>
    /// One check: with a stall (<see cref="PublishMonitor.Stall"/>), probes the broker; when it answers, restarts the
    /// bus and records it (<see cref="PublishMonitor.BusRestarted"/>), whether the restart worked or not.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<Outcome> CheckOnceAsync(CancellationToken cancellationToken)
    {
        var stallAfter = PublishMonitor.StallAfter(options.Value);
        if (publishes.Stall(stallAfter) is not { } stall)
        {
            return Outcome.NoStall;
        }

        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(ProbeTimeout);
            await probeBroker(bounded.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogBrokerUnreachable(ex.GetType().Name);
            publishes.BrokerUnreachable();
            return Outcome.BrokerUnreachable;
        }

        LogRestarting(stall);
        try
        {
            await restartBus(cancellationToken);
            LogRestarted();
            return Outcome.Restarted;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogRestartFailed(ex);
            return Outcome.RestartFailed;
        }
        finally
        {
            publishes.BusRestarted();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stall}. Restarting the message bus")]
    private partial void LogRestarting(string stall);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message bus restarted; chunks whose publish failed meanwhile are published by the redelivery sweep")]
    private partial void LogRestarted();

    [LoggerMessage(Level = LogLevel.Error, Message = "Restarting the message bus failed; trying again after another stall window")]
    private partial void LogRestartFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chunk publishes fail and RabbitMQ does not answer ({Error}); waiting for MassTransit to reconnect")]
    private partial void LogBrokerUnreachable(string error);
}
