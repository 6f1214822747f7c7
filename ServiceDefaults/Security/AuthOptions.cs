namespace VectorPipeline.ServiceDefaults.Security;

/// <summary>
/// The <c>Auth</c> configuration section of Ingest.Api and Search.Api (environment form <c>Auth__Mode</c>,
/// <c>Auth__ApiKeys__0__Key</c>, ...): whether API keys are required, and the keys with their tenant and roles.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Auth";

    /// <summary>
    /// <c>apikey</c> (every endpoint but <c>/health</c>, <c>/alive</c> and <c>/openapi/v1.json</c> needs a key),
    /// <c>none</c> (no keys: every caller is an administrator of the default tenant; a warning is logged at start),
    /// or not set: <c>apikey</c> when keys are configured; with no keys, <c>none</c> in the Development environment
    /// and a refusal to start in any other.
    /// </summary>
    public string? Mode { get; set; }

    /// <summary>The accepted keys (<c>Auth:ApiKeys:{n}:*</c>).</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];
}

/// <summary>One API key in configuration (<c>Auth:ApiKeys:{n}</c>).</summary>
public sealed class ApiKeyEntry
{
    /// <summary>A label for logs and rate-limit partitions (never the key); <c>key{n}</c> when not set.</summary>
    public string? Name { get; set; }

    /// <summary>The key itself, at least 16 characters. Give this or <see cref="KeyHash"/>, not both.</summary>
    public string? Key { get; set; }

    /// <summary>
    /// SHA-256 of the key's UTF-8 bytes as 64 hexadecimal digits (<c>printf %s "$KEY" | sha256sum</c>), so that the
    /// plain key need not be in configuration. Give this or <see cref="Key"/>.
    /// </summary>
    public string? KeyHash { get; set; }

    /// <summary>
    /// The tenant the key belongs to: every document it writes and every search it runs is confined to that
    /// tenant. Empty or not set: the default tenant (where documents posted without tenants live). Letters, digits,
    /// <c>.</c>, <c>_</c>, <c>-</c>, at most 64 characters.
    /// </summary>
    public string? Tenant { get; set; }

    /// <summary>
    /// Roles, comma-separated: <c>admin</c> (everything, including <c>/models</c>), <c>ingest</c>
    /// (<c>/documents</c>), <c>search</c> (<c>/search</c>, <c>/search/context</c>).
    /// </summary>
    public string? Role { get; set; }
}

/// <summary>The <c>RateLimit</c> configuration section: requests per client (API key, else IP address) and window.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "RateLimit";

    /// <summary>Requests one client may make per window; 0 turns rate limiting off. 1000 by default.</summary>
    public int PermitLimit { get; set; } = 1000;

    /// <summary>The window over which <see cref="PermitLimit"/> tokens are refilled, evenly, seconds (1..3600); 10 by default.</summary>
    public int WindowSeconds { get; set; } = 10;

    /// <summary>
    /// Requests a client may make at once, after it has been idle (the token bucket's size); 0 (the default) = one
    /// second's share of <see cref="PermitLimit"/>, at least 10 and at most <see cref="PermitLimit"/>. With the whole
    /// window's permits as the bucket, a flooding client got 200 requests through at once at the start of its flood,
    /// and that burst filled the load-shedding places of every other client (docs/reliability.md, "Load").
    /// </summary>
    public int Burst { get; set; }

    /// <summary>The bucket size in effect: <see cref="Burst"/>, or its default when 0.</summary>
    public int EffectiveBurst => Burst > 0
        ? Math.Min(Burst, PermitLimit)
        : Math.Min(PermitLimit, Math.Max(10, (int)Math.Ceiling((double)PermitLimit / WindowSeconds)));

    /// <summary>
    /// Milliseconds a refused request waits before its 429 is sent (0..60000, at most its <c>Retry-After</c>); 1000 by
    /// default. A client that sends again the moment it is refused is slowed to one request a second per connection
    /// instead of taking the cores from other clients (docs/reliability.md, "Load": the flood). 0 answers at once.
    /// </summary>
    public int RejectionDelayMs { get; set; } = 1000;

    /// <summary>
    /// Requests of one API key worked on at once (0 turns this off; requests without a key are not limited this way:
    /// with <c>Auth:Mode</c> none every local caller has the same address); its further requests wait their turn, oldest first,
    /// up to the bucket's size (<see cref="EffectiveBurst"/>), then get 429. Default: half the cores, at least 1, so that
    /// one client cannot take every core from the others: beside a flooding key, another key's <c>POST /search</c>
    /// p99 rose 2.2× without it and 1.2× with it on 2 cores (docs/reliability.md, "Load": the flood).
    /// </summary>
    public int ConcurrentPerClient { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);
}
