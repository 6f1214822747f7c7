using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace VectorPipeline.ServiceDefaults.Security;

/// <summary>A configured key as the scheme holds it: its SHA-256, never the key itself.</summary>
/// <param name="Name">Label for logs and rate-limit partitions.</param>
/// <param name="Hash">SHA-256 of the key's UTF-8 bytes.</param>
/// <param name="Tenant">The key's tenant; empty = the default tenant.</param>
/// <param name="Roles">The key's roles (<see cref="Security.Roles"/>).</param>
public sealed record ApiKey(string Name, byte[] Hash, string Tenant, IReadOnlyList<string> Roles);

/// <summary>
/// The resolved <see cref="AuthOptions"/>: whether keys are required, and the keys by hash. Built once at start;
/// invalid settings stop the service with a message naming the key.
/// </summary>
public sealed partial class ApiKeyStore
{
    /// <summary>Shortest plain key accepted.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Longest tenant name.</summary>
    public const int MaxTenantLength = 64;

    private ApiKeyStore(bool enabled, IReadOnlyList<ApiKey> keys, string reason)
    {
        Enabled = enabled;
        Keys = keys;
        Reason = reason;
    }

    /// <summary>True when every endpoint but the open ones needs a key; false when authentication is off.</summary>
    public bool Enabled { get; }

    /// <summary>The configured keys (hashes only).</summary>
    public IReadOnlyList<ApiKey> Keys { get; }

    /// <summary>Why the mode is what it is, for the start-up log line.</summary>
    public string Reason { get; }

    /// <summary>
    /// Resolves the mode (see <see cref="AuthOptions.Mode"/>) and checks every key entry.
    /// </summary>
    /// <param name="options">The bound <c>Auth</c> section.</param>
    /// <param name="isDevelopment">Whether the host runs in the Development environment.</param>
    /// <exception cref="InvalidOperationException">A setting is invalid, or no key is configured outside Development without <c>Auth:Mode=none</c>.</exception>
    public static ApiKeyStore Create(AuthOptions options, bool isDevelopment)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mode = options.Mode?.Trim().ToLowerInvariant();
        if (mode is not (null or "" or "apikey" or "none"))
        {
            throw new InvalidOperationException($"Auth:Mode '{options.Mode}' is unknown; use 'apikey' or 'none'.");
        }

        if (mode == "none")
        {
            return new ApiKeyStore(false, [], "Auth:Mode is 'none'");
        }

        var keys = options.ApiKeys.Select((entry, n) => Parse(entry, n)).ToList();
        var duplicate = keys.GroupBy(k => Convert.ToHexString(k.Hash)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Auth:ApiKeys: keys {string.Join(" and ", duplicate.Select(k => k.Name))} are the same key; give each key once.");
        }

        if (keys.Count == 0)
        {
            if (mode == "apikey")
            {
                throw new InvalidOperationException("Auth:Mode is 'apikey' but no key is configured: add Auth:ApiKeys:0:Key (or :KeyHash) with :Role, or set Auth:Mode=none to run without keys.");
            }

            if (!isDevelopment)
            {
                throw new InvalidOperationException("No API key is configured (Auth:ApiKeys:0:Key or :KeyHash, with :Role and optionally :Tenant). "
                    + "Outside the Development environment a service refuses to run without keys; set Auth:Mode=none to run without them on purpose.");
            }

            return new ApiKeyStore(false, [], "no API key is configured and the environment is Development");
        }

        return new ApiKeyStore(true, keys, $"{keys.Count} API key(s) configured");
    }

    /// <summary>
    /// The key whose hash matches <paramref name="presented"/>, or null. Compares the SHA-256 of the presented key
    /// with every configured hash in constant time, without stopping at a match, so timing tells nothing about
    /// which key matched or how much of it.
    /// </summary>
    public ApiKey? Find(string presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        ApiKey? found = null;
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                found = key;
            }
        }

        return found;
    }

    /// <summary>SHA-256 hex (lower case) of a key, the form <see cref="ApiKeyEntry.KeyHash"/> takes.</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Whether <paramref name="tenant"/> is a valid tenant name (empty is the default tenant).</summary>
    public static bool IsValidTenant(string tenant) => tenant.Length == 0 || TenantPattern().IsMatch(tenant);

    private static ApiKey Parse(ApiKeyEntry entry, int n)
    {
        var at = string.Create(CultureInfo.InvariantCulture, $"Auth:ApiKeys:{n}");
        var name = string.IsNullOrWhiteSpace(entry.Name) ? string.Create(CultureInfo.InvariantCulture, $"key{n}") : entry.Name.Trim();
        byte[] hash;
        if (!string.IsNullOrEmpty(entry.Key) && !string.IsNullOrEmpty(entry.KeyHash))
        {
            throw new InvalidOperationException($"{at}: give Key or KeyHash, not both.");
        }

        if (!string.IsNullOrEmpty(entry.Key))
        {
            if (entry.Key.Length < MinKeyLength || entry.Key.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                throw new InvalidOperationException($"{at}:Key must be at least {MinKeyLength} characters without spaces or control characters.");
            }

            hash = SHA256.HashData(Encoding.UTF8.GetBytes(entry.Key));
        }
        else if (!string.IsNullOrEmpty(entry.KeyHash))
        {
            var hex = entry.KeyHash.Trim();
            if (hex.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
            {
                hex = hex["sha256:".Length..];
            }

            if (!HexPattern().IsMatch(hex))
            {
                throw new InvalidOperationException($"{at}:KeyHash must be the SHA-256 of the key as 64 hexadecimal digits.");
            }

            hash = Convert.FromHexString(hex);
        }
        else
        {
            throw new InvalidOperationException($"{at}: Key or KeyHash is required.");
        }

        var tenant = entry.Tenant?.Trim() ?? "";
        if (!IsValidTenant(tenant))
        {
            throw new InvalidOperationException($"{at}:Tenant '{tenant}' is invalid: letters, digits, '.', '_' and '-', 1 to {MaxTenantLength} characters, starting with a letter or digit.");
        }

        var roles = (entry.Role ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => r.ToLowerInvariant()).Distinct().ToList();
        if (roles.Count == 0 || roles.Any(r => !Roles.All.Contains(r)))
        {
            throw new InvalidOperationException($"{at}:Role '{entry.Role}' is invalid: one or more of {string.Join(", ", Roles.All)}, comma-separated.");
        }

        return new ApiKey(name, hash, tenant, roles);
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex HexPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex TenantPattern();
}
