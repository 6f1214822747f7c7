using System.Security.Claims;

namespace VectorPipeline.ServiceDefaults.Security;

/// <summary>The roles an API key can have.</summary>
public static class Roles
{
    /// <summary>Everything, including the <c>/models</c> administration endpoints.</summary>
    public const string Admin = "admin";

    /// <summary>Write, read and delete documents (<c>/documents</c>).</summary>
    public const string Ingest = "ingest";

    /// <summary>Search (<c>/search</c>, <c>/search/context</c>).</summary>
    public const string Search = "search";

    /// <summary>Every role.</summary>
    public static readonly IReadOnlyList<string> All = [Admin, Ingest, Search];
}

/// <summary>Authorization policies the endpoints name.</summary>
public static class AuthPolicies
{
    /// <summary>Roles <c>ingest</c> or <c>admin</c>.</summary>
    public const string Ingest = "ingest";

    /// <summary>Roles <c>search</c> or <c>admin</c>.</summary>
    public const string Search = "search";

    /// <summary>Role <c>admin</c>.</summary>
    public const string Admin = "admin";
}

/// <summary>Claims the API-key scheme puts on the caller.</summary>
public static class ApiKeyClaims
{
    /// <summary>The caller's tenant (empty = the default tenant).</summary>
    public const string Tenant = "vectorpipeline:tenant";

    /// <summary>The key's name (<see cref="ApiKeyEntry.Name"/>); absent when authentication is off.</summary>
    public const string KeyName = "vectorpipeline:key";

    /// <summary>The caller's tenant: the claim <see cref="Tenant"/>, or the default tenant (empty) when there is none.</summary>
    public static string GetTenant(this ClaimsPrincipal user) => user.FindFirstValue(Tenant) ?? "";
}
