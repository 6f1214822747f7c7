namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A RabbitMQ 3.10 node from the Debian package, run in the foreground by
/// <c>eng/rabbitmq.sh run DIR AMQP_PORT DIST_PORT EPMD_PORT MANAGEMENT_PORT</c> as an executable resource; on
/// SIGTERM the script stops the node and the Erlang port mapper it started. User <c>guest</c>, loopback only.
/// </summary>
/// <remarks>
/// Connection string: <c>amqp://guest:guest@127.0.0.1:{port}/</c>, the URI form Aspire's RabbitMQ container resource gives.
/// </remarks>
public sealed class LocalRabbitMqResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    /// <summary>The name of the AMQP endpoint.</summary>
    public const string PrimaryEndpointName = "tcp";

    /// <summary>The name of the management UI's HTTP endpoint.</summary>
    public const string ManagementEndpointName = "management";

    private EndpointReference? primaryEndpoint;

    /// <summary>The AMQP endpoint (not proxied: the port is the node's own).</summary>
    public EndpointReference PrimaryEndpoint => primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"amqp://guest:guest@{PrimaryEndpoint.Property(EndpointProperty.IPV4Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}/");
}
