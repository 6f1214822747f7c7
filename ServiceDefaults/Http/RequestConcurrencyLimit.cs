using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VectorPipeline.ServiceDefaults.Http;

/// <summary>
/// The <c>Requests</c> configuration section: how many requests a service works on at once before it sheds load.
/// </summary>
public sealed class RequestLimitOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Requests";

    /// <summary>
    /// Requests in progress at once (<c>Requests:MaxConcurrent</c>); 0 turns load shedding off. Default: 8 per core,
    /// above the 4 connections from which a 2-core machine gains no more <c>POST /search</c> throughput, only latency
    /// (docs/reliability.md, "Load"), so that a held load is never shed.
    /// </summary>
    public int MaxConcurrent { get; set; } = 8 * Environment.ProcessorCount;

    /// <summary>
    /// Requests that wait, oldest first, when <see cref="MaxConcurrent"/> are in progress (<c>Requests:QueueLimit</c>);
    /// one more is refused at once with 503. Default: 16 per core.
    /// </summary>
    public int QueueLimit { get; set; } = 16 * Environment.ProcessorCount;
}

/// <summary>
/// Load shedding: a service that is given more requests than it can work on answers the excess at once with
/// <c>503 Service Unavailable</c>, <c>Retry-After: 1</c> and a problem detail, instead of letting every request wait
/// longer until callers time out. Built on <see cref="ConcurrencyLimiter"/> (System.Threading.RateLimiting);
/// <c>/health</c>, <c>/alive</c> and long-lived requests (<see cref="LongLivedRequests"/>) are never limited.
/// </summary>
public static class RequestConcurrencyLimit
{
    /// <summary>Reads and checks <see cref="RequestLimitOptions"/> and registers the limiter.</summary>
    /// <exception cref="InvalidOperationException"><c>Requests:MaxConcurrent</c> or <c>Requests:QueueLimit</c> is negative or above 100,000.</exception>
    public static TBuilder AddRequestConcurrencyLimit<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var options = builder.Configuration.GetSection(RequestLimitOptions.SectionName).Get<RequestLimitOptions>() ?? new RequestLimitOptions();
        if (options.MaxConcurrent is < 0 or > 100_000 || options.QueueLimit is < 0 or > 100_000)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Requests:MaxConcurrent ({options.MaxConcurrent}) and Requests:QueueLimit ({options.QueueLimit}) must be between 0 and 100000 (MaxConcurrent 0: no load shedding)."));
        }

        builder.Services.AddSingleton(options);
        return builder;
    }

    /// <summary>Adds the limiter to the pipeline; call it after authorization and rate limiting, so that only requests that will be worked on take a place.</summary>
    public static WebApplication UseRequestConcurrencyLimit(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<RequestLimitOptions>();
        if (options.MaxConcurrent == 0)
        {
            return app;
        }

        var limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrent,
            QueueLimit = options.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        app.Lifetime.ApplicationStopped.Register(limiter.Dispose);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/health") || context.Request.Path.StartsWithSegments("/alive") || context.IsLongLived())
            {
                await next(context);
                return;
            }

            using var lease = await limiter.AcquireAsync(1, context.RequestAborted);
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "Server busy",
                    Detail = string.Create(CultureInfo.InvariantCulture,
                        $"{options.MaxConcurrent} requests are in progress and {options.QueueLimit} waiting; retry after 1 s."),
                    Type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
                },
            });
        });
        return app;
    }
}
