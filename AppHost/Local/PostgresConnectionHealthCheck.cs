using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace VectorPipeline.AppHost.Local;

/// <summary>Healthy when a connection to the resource's connection string opens and answers <c>SELECT 1</c>.</summary>
/// <param name="resource">The server or database resource; its connection string is resolved at each check.</param>
/// <param name="suffix">Appended to the connection string (<c>;Database=postgres</c> for a server).</param>
public sealed class PostgresConnectionHealthCheck(IResourceWithConnectionString resource, string suffix = "") : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
            await using var connection = new NpgsqlConnection(connectionString + suffix);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }
}
