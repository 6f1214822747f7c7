using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VectorPipeline.ServiceDefaults.Http;

/// <summary>
/// What browsers are told: every response carries <c>X-Content-Type-Options: nosniff</c> (a browser never runs a
/// JSON answer as script or HTML), and cross-origin requests are refused (no <c>Access-Control-Allow-*</c> headers)
/// unless <c>Cors:AllowedOrigins</c> names the origins allowed, e.g. <c>Cors__AllowedOrigins__0=https://app.example.com</c>.
/// </summary>
public static class BrowserPolicy
{
    /// <summary>Configuration key of the allowed origins (an array of <c>scheme://host[:port]</c>).</summary>
    public const string AllowedOriginsKey = "Cors:AllowedOrigins";

    private const string PolicyName = "configured-origins";

    /// <summary>Registers the CORS policy of <see cref="AllowedOriginsKey"/> when it names origins; nothing otherwise.</summary>
    /// <exception cref="InvalidOperationException">An origin is not an absolute http(s) URI without a path, or is <c>*</c>.</exception>
    public static TBuilder AddBrowserPolicy<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var origins = builder.Configuration.GetSection(AllowedOriginsKey).Get<string[]>() ?? [];
        foreach (var origin in origins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || origin.EndsWith('/'))
            {
                throw new InvalidOperationException($"{AllowedOriginsKey} holds '{origin}': give origins as scheme://host[:port] (no path, no '*').");
            }
        }

        if (origins.Length > 0)
        {
            // API keys travel in headers, never cookies: no credentials mode.
            builder.Services.AddCors(options => options.AddPolicy(PolicyName, new CorsPolicyBuilder()
                .WithOrigins(origins).AllowAnyHeader().WithMethods("GET", "POST", "DELETE").Build()));
        }

        return builder;
    }

    /// <summary>
    /// Adds the <c>nosniff</c> header to every response (set when the response starts, so error answers written by
    /// the exception handler get it too) and, when origins are configured, the CORS middleware. Call before
    /// authentication, so that preflight requests, which carry no key, are answered.
    /// </summary>
    public static WebApplication UseBrowserPolicy(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.XContentTypeOptions = "nosniff";
                return Task.CompletedTask;
            });
            return next(context);
        });
        if (app.Services.GetService<ICorsService>() is not null && (app.Configuration.GetSection(AllowedOriginsKey).Get<string[]>() ?? []).Length > 0)
        {
            app.UseCors(PolicyName);
        }

        return app;
    }
}
