using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace VectorPipeline.AppHost.Local;

/// <summary>Healthy when an AMQP connection to the resource's connection string opens (and is closed again).</summary>
/// <param name="resource">The broker resource; its connection string is resolved at each check.</param>
public sealed class RabbitMqConnectionHealthCheck(IResourceWithConnectionString resource) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
            var factory = new ConnectionFactory { Uri = new Uri(connectionString!), RequestedConnectionTimeout = TimeSpan.FromSeconds(5) };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
            await connection.CloseAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or IOException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }
}
