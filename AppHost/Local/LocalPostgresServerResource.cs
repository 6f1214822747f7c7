namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// PostgreSQL 15 with pgvector from the Debian packages, run in the foreground by <c>eng/postgres.sh run DIR PORT</c>
/// as an executable resource: DCP starts it, shows its log, stops it with SIGTERM (the script turns that into a
/// fast shutdown). Trust authentication on 127.0.0.1 only, user <c>postgres</c>.
/// </summary>
/// <remarks>
/// Connection string (Npgsql keywords, the same keys as Aspire's PostgreSQL container resource minus the password):
/// <c>Host=127.0.0.1;Port={port};Username=postgres</c>.
/// </remarks>
public sealed class LocalPostgresServerResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    /// <summary>The name of the TCP endpoint the server listens on.</summary>
    public const string PrimaryEndpointName = "tcp";

    private EndpointReference? primaryEndpoint;

    /// <summary>The server's TCP endpoint (not proxied: the port is the server's own).</summary>
    public EndpointReference PrimaryEndpoint => primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <summary>Database names by resource name, created once the server accepts connections.</summary>
    public Dictionary<string, string> Databases { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.IPV4Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres");
}
