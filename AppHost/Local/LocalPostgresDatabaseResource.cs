namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A database of a <see cref="LocalPostgresServerResource"/>. It has no process of its own: the dashboard shows the
/// server's state for it, and its health check connects to the database itself.
/// </summary>
/// <remarks>Connection string: the server's plus <c>;Database={name}</c>, the shape Aspire's PostgresDatabaseResource gives.</remarks>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    /// <summary>The database's name on the server.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <inheritdoc />
    public LocalPostgresServerResource Parent { get; } = parent;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}
