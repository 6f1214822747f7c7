using MassTransit;
using VectorPipeline.Messaging.Contracts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VectorPipeline.Messaging;

/// <summary>Wires MassTransit on RabbitMQ from <c>ConnectionStrings:messaging</c>.</summary>
public static class MessagingExtensions
{
    /// <summary>Configuration key of the broker address (Aspire resource name <c>messaging</c>).</summary>
    public const string ConnectionStringName = ResourceNames.Messaging;

    /// <summary>
    /// Adds a MassTransit bus on RabbitMQ. <paramref name="configureConsumers"/> registers the
    /// service's consumers (none for a publisher-only service). Endpoints get kebab-case names.
    /// MassTransit also registers its bus health check (tags <c>ready</c>, <c>masstransit</c>). Host start-up
    /// waits (up to 2 minutes) until the bus is connected and its endpoints are ready.
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection string is missing.</exception>
    /// <exception cref="FormatException">The connection string is not an amqp URI.</exception>
    public static IHostApplicationBuilder AddMessaging(
        this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator>? configureConsumers = null)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} is not set. Give the RabbitMQ address as " +
                $"ConnectionStrings__{ConnectionStringName}=amqp://guest:guest@127.0.0.1:5672/");
        var connection = RabbitMqConnection.Parse(connectionString);

        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            configureConsumers?.Invoke(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(connection.Host, (ushort)connection.Port, connection.VirtualHost, host =>
                {
                    host.Username(connection.Username);
                    host.Password(connection.Password);
                });
                // Publishing declares the workers' queue too, bound straight to the message type's exchange, so
                // chunks published before any worker ever started wait in the queue instead of being dropped.
                rabbit.Publish<EmbedChunk>(publish => publish.BindQueue(publish.Exchange.ExchangeName, EmbedChunk.QueueName));
                rabbit.ConfigureEndpoints(context);
            });
        });

        // Start-up waits until the bus is connected and its receive endpoints (and so their queues and
        // bindings) exist: a worker counts as started only when it can consume.
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(options =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromMinutes(2);
        });
        return builder;
    }

    /// <summary>
    /// Adds <see cref="QueueDepthProbe"/> over Aspire.RabbitMQ.Client's connection to <c>ConnectionStrings:messaging</c>
    /// (with its <c>RabbitMQ.Client</c> health check and traces; settings in <c>Aspire:RabbitMQ:Client</c>). The bus of
    /// <see cref="AddMessaging"/> keeps its own connection from the same connection string.
    /// </summary>
    public static IHostApplicationBuilder AddQueueDepthProbe(this IHostApplicationBuilder builder)
    {
        // Not opened at start-up: the service starts with the bus (which waits for the broker itself), and the probe
        // connects on first use.
        builder.AddRabbitMQClient(ConnectionStringName,
            settings => settings.DisableAutoActivation = true,
            factory => factory.ClientProvidedName = "vectorpipeline-queue-depth");
        builder.Services.AddSingleton<QueueDepthProbe>();
        return builder;
    }
}
