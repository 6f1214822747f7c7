namespace VectorPipeline.VectorStore;

/// <summary>
/// How a tenant's document id is stored. <c>documents.id</c> is the primary key of every tenant's documents, so a
/// document of a named tenant is stored as <c>{tenant}\u001F{id}</c>; the default tenant (empty name) stores the id
/// as given, so single-tenant databases (and every row written before tenants existed) are unchanged. Client ids
/// may not hold control characters and tenant names are letters, digits, <c>.</c>, <c>_</c> and <c>-</c>, so no
/// stored key of one tenant can equal one of another: a tenant can reach another's document by no id at all.
/// <c>documents.tenant</c> holds the tenant too, for filtering searches (checked against the key by a constraint).
/// </summary>
public static class DocumentKey
{
    /// <summary>Separator between tenant and id in a stored key (ASCII unit separator).</summary>
    public const char Separator = '\u001F';

    /// <summary>The stored key of <paramref name="tenant"/>'s document <paramref name="id"/>.</summary>
    public static string Stored(string tenant, string id)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(id);
        return tenant.Length == 0 ? id : tenant + Separator + id;
    }

    /// <summary>The client's id in a stored key (what follows the tenant).</summary>
    public static string ClientId(string stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var separator = stored.IndexOf(Separator, StringComparison.Ordinal);
        return separator < 0 ? stored : stored[(separator + 1)..];
    }
}
