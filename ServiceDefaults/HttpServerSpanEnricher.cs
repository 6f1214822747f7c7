using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace VectorPipeline.ServiceDefaults;

/// <summary>
/// Completes ASP.NET Core's server span (<c>Microsoft.AspNetCore.Hosting.HttpRequestIn</c>) at the end of each request.
/// With <c>Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData</c> = false, ASP.NET Core 10 puts only the
/// tags known at the start on it (<c>http.request.method</c>, <c>url.scheme</c>, <c>url.path</c>, <c>server.address</c>,
/// <c>server.port</c>); this outermost middleware adds what the OpenTelemetry HTTP server conventions ask for at the
/// end: <c>http.response.status_code</c>, <c>http.route</c> (the endpoint's route template), the span name
/// <c>{method} {route}</c> (<c>{method}</c> without a route), and on 5xx or an unhandled exception the status Error
/// with <c>error.type</c>. Stands in for <c>OpenTelemetry.Instrumentation.AspNetCore</c>, which does not restore here
/// (ASP.NET Core 11 does the same natively).
/// </summary>
internal sealed class HttpServerSpanEnricher : IStartupFilter
{
    /// <inheritdoc />
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            try
            {
                await nextMiddleware(context);
            }
            catch (Exception ex)
            {
                Complete(context, ex);
                throw;
            }

            Complete(context, null);
        });
        next(app);
    };

    private static void Complete(HttpContext context, Exception? exception)
    {
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is not { IsAllDataRequested: true } activity)
        {
            return;
        }

        var status = exception is null ? context.Response.StatusCode : StatusCodes.Status500InternalServerError;
        activity.SetTag("http.response.status_code", status);
        var method = context.Request.Method;
        if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } route)
        {
            route = route.StartsWith('/') ? route : "/" + route;
            activity.SetTag("http.route", route);
            activity.DisplayName = $"{method} {route}";
        }
        else
        {
            activity.DisplayName = method;
        }

        if (exception is not null)
        {
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        }
        else if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
