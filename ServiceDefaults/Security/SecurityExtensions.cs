using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VectorPipeline.ServiceDefaults.Http;

namespace VectorPipeline.ServiceDefaults.Security;

/// <summary>
/// API keys, roles, tenants and rate limits of Ingest.Api and Search.Api: the <c>ApiKey</c> authentication scheme
/// (<see cref="ApiKeyAuthenticationHandler"/>), the policies of <see cref="AuthPolicies"/>, a fallback policy that
/// requires an authenticated caller on every endpoint not marked otherwise, a per-client rate limiter (a token bucket of
/// <c>RateLimit:Burst</c> tokens, <c>RateLimit:PermitLimit</c> of them refilled evenly over <c>RateLimit:WindowSeconds</c>),
/// and problem details for requests the framework rejects (bad JSON, wrong content type, body too large).
/// </summary>
public static class SecurityExtensions
{
    /// <summary>
    /// Registers authentication, authorization, rate limiting, <see cref="BadRequestExceptionHandler"/>, the browser
    /// policy (<see cref="BrowserPolicy.AddBrowserPolicy{TBuilder}"/>) and load shedding
    /// (<see cref="RequestConcurrencyLimit.AddRequestConcurrencyLimit{TBuilder}"/>).
    /// Reads <c>Auth</c> (<see cref="AuthOptions"/>), <c>RateLimit</c> (<see cref="RateLimitOptions"/>) and
    /// <c>Requests</c> (<see cref="RequestLimitOptions"/>) now.
    /// </summary>
    /// <exception cref="InvalidOperationException">A key setting is invalid, or no key is configured outside Development without <c>Auth:Mode=none</c>.</exception>
    public static TBuilder AddApiSecurity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var auth = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var store = ApiKeyStore.Create(auth, builder.Environment.IsDevelopment());
        builder.Services.AddSingleton(store);
        // Routing answers 415 itself when a body's content type is not one an endpoint accepts (Accepts metadata): say which.
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && string.IsNullOrEmpty(context.ProblemDetails.Detail))
            {
                context.ProblemDetails.Title = "Unsupported content type";
                context.ProblemDetails.Detail = $"Content type '{context.HttpContext.Request.ContentType ?? "(none)"}' is not supported: send 'Content-Type: application/json' (UTF-8).";
            }
        });
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AuthPolicies.Admin, policy => policy.RequireRole(Roles.Admin))
            .AddPolicy(AuthPolicies.Ingest, policy => policy.RequireRole(Roles.Ingest, Roles.Admin))
            .AddPolicy(AuthPolicies.Search, policy => policy.RequireRole(Roles.Search, Roles.Admin))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build());

        var limits = builder.Configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (limits.PermitLimit < 0 || limits.WindowSeconds is < 1 or > 3600 || limits.RejectionDelayMs is < 0 or > 60_000 || limits.Burst < 0 || limits.ConcurrentPerClient < 0)
        {
            throw new InvalidOperationException("RateLimit:PermitLimit must be 0 (off) or more, RateLimit:WindowSeconds between 1 and 3600, RateLimit:RejectionDelayMs between 0 and 60000, RateLimit:Burst 0 (one second's share) or more, RateLimit:ConcurrentPerClient 0 (off) or more.");
        }

        builder.Services.AddSingleton(limits);
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            var rate = PartitionedRateLimiter.Create<HttpContext, string>(context => Partition(context, limits));
            options.GlobalLimiter = limits.ConcurrentPerClient > 0
                // The client's turn first, then its token: the middleware first tries without waiting, and a chain that
                // took a token and then found no free place would spend that token for nothing.
                ? PartitionedRateLimiter.CreateChained(PartitionedRateLimiter.Create<HttpContext, string>(context => ConcurrencyPartition(context, limits)), rate)
                : rate;
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(limits.WindowSeconds);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var http = context.HttpContext;
                // A client that does not wait as told (a flood on many connections, each sending again the moment it is
                // answered) would otherwise get thousands of cheap 429s a second, enough to take the cores from every
                // other client: its answer comes after RejectionDelayMs (never after Retry-After), so each of its
                // connections costs a timer, not a core.
                var delay = Math.Min(limits.RejectionDelayMs, seconds * 1000);
                if (delay > 0)
                {
                    try
                    {
                        await Task.Delay(delay, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return; // the client went away
                    }
                }

                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = string.Create(CultureInfo.InvariantCulture,
                            $"This client may make {limits.PermitLimit} requests per {limits.WindowSeconds} s, at most {limits.EffectiveBurst} at once; retry after {seconds} s."),
                        Type = "https://tools.ietf.org/html/rfc6585#section-4",
                    },
                });
            };
        });

        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.AddBrowserPolicy();
        builder.AddRequestConcurrencyLimit();
        return builder;
    }

    /// <summary>
    /// Adds the browser policy (<see cref="BrowserPolicy"/>: <c>nosniff</c>, CORS only when configured), authentication,
    /// the rate limiter (after authentication, so that it can partition by key), authorization and load shedding
    /// (<see cref="RequestConcurrencyLimit"/>: 503 beyond <c>Requests:MaxConcurrent</c> in progress and
    /// <c>Requests:QueueLimit</c> waiting; last, so that requests refused with 401, 403 or 429 never take a place of
    /// the requests that do work, and one key's flood cannot crowd out another key) to the pipeline, and
    /// logs the authentication mode: a warning when keys are not required.
    /// Call after <c>UseExceptionHandler</c> and <c>UseStatusCodePages</c>.
    /// </summary>
    public static WebApplication UseApiSecurity(this WebApplication app)
    {
        var store = app.Services.GetRequiredService<ApiKeyStore>();
        var limits = app.Services.GetRequiredService<RateLimitOptions>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VectorPipeline.Security");
        if (store.Enabled)
        {
            logger.LogInformation("API keys required: {Reason}; tenants: {Tenants}", store.Reason,
                string.Join(", ", store.Keys.Select(k => k.Tenant.Length == 0 ? "(default)" : k.Tenant).Distinct()));
        }
        else
        {
            logger.LogWarning("AUTHENTICATION IS OFF ({Reason}): every caller is an administrator of the default tenant. "
                + "Configure Auth:ApiKeys before exposing this service.", store.Reason);
        }

        if (limits.PermitLimit == 0)
        {
            logger.LogWarning("Rate limiting is off (RateLimit:PermitLimit = 0).");
        }

        app.UseBrowserPolicy();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRequestConcurrencyLimit();
        return app;
    }

    // The authenticated key's name, else the client's address (behind a proxy, configure forwarded headers).
    private static string ClientOf(HttpContext context) =>
        context.User.FindFirst(ApiKeyClaims.KeyName)?.Value is { } key
            ? "key:" + key
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    // RateLimit:ConcurrentPerClient: an API key's requests in progress at once; those beyond wait, oldest first. Only
    // for keys: without one (Auth:Mode none, Dify's /retrieval) every local caller shares the address 127.0.0.1, and one
    // place for all of them would serve a whole machine's callers one at a time.
    private static RateLimitPartition<string> ConcurrencyPartition(HttpContext context, RateLimitOptions limits)
    {
        var key = context.User.FindFirst(ApiKeyClaims.KeyName)?.Value;
        if (key is null || IsUnlimited(context, limits) || context.IsLongLived())
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        return RateLimitPartition.GetConcurrencyLimiter("key:" + key, _ => new ConcurrencyLimiterOptions
        {
            PermitLimit = limits.ConcurrentPerClient,
            QueueLimit = limits.EffectiveBurst,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    // Rate limiting off, or a probe.
    private static bool IsUnlimited(HttpContext context, RateLimitOptions limits) =>
        limits.PermitLimit == 0 || context.Request.Path.StartsWithSegments("/health") || context.Request.Path.StartsWithSegments("/alive");

    private static RateLimitPartition<string> Partition(HttpContext context, RateLimitOptions limits)
    {
        if (IsUnlimited(context, limits))
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        var client = ClientOf(context);
        // A token bucket refilled evenly over the window, not a fixed window: a fixed window hands a flooding client all
        // its permits at once at the start of each window, a burst that fills the load-shedding places of every other
        // client (docs/reliability.md, "Load"); the bucket holds only RateLimit:Burst tokens for the same reason. Tokens
        // come every 100 ms at most (the partitioned limiter's replenishment tick), so PermitLimit per window holds on average.
        var window = TimeSpan.FromSeconds(limits.WindowSeconds);
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, window.Ticks / limits.PermitLimit));
        var tokensPerPeriod = (int)Math.Max(1, Math.Round((double)limits.PermitLimit * period.Ticks / window.Ticks));
        return RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.EffectiveBurst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}
