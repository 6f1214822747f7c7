using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using VectorPipeline.ServiceDefaults;
using VectorPipeline.ServiceDefaults.OpenApi;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every VectorPipeline service shares, in the shape of Aspire's ServiceDefaults project:
/// OpenTelemetry (exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), health checks,
/// the <c>/health</c> and <c>/alive</c> endpoints and the OpenAPI document at <c>/openapi/v1.json</c>.
/// </summary>
public static class Extensions
{
    /// <summary>Tag of the checks <c>/alive</c> runs (process up); <c>/health</c> runs every check.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Adds OpenTelemetry, the default health checks and the OpenAPI document <c>v1</c> (nullable properties
    /// not required). A service adds its title, description and examples with its own
    /// <c>AddOpenApi(options => ...)</c> call for the same document: the call has to be in the service's
    /// assembly, with a lambda (a method group is not picked up), for the OpenAPI source generator to copy the
    /// XML doc comments of that assembly and its project references into the document's schemas.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        // Absent optional fields (title, errors) are left out of answers rather than sent as null.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull);
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer<OptionalNullablePropertiesTransformer>());
        return builder;
    }

    /// <summary>
    /// Traces (ASP.NET Core, HttpClient, Npgsql, MassTransit and VectorPipeline's own sources), metrics and
    /// logs, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the
    /// standard <c>OTEL_*</c> variables; the resource reads <c>OTEL_SERVICE_NAME</c> and
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c>). Stands in for <c>OpenTelemetry.Extensions.Hosting</c>, which does not
    /// restore on this project's machines: the providers are built here and flushed when the host stops.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }

        // .NET 10 leaves OpenTelemetry tags off ASP.NET Core's activities unless this switch is false.
        AppContext.SetSwitch("Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData", false);
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName;
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
            logging.SetResourceBuilder(Telemetry.CreateResource(serviceName));
            logging.AddOtlpExporter();
        });
        builder.Services.AddSingleton(_ => new Telemetry(serviceName));
        builder.Services.AddHostedService(services => services.GetRequiredService<Telemetry>());
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready: every check passes, including database and broker reachability) and
    /// <c>/alive</c> (the process is up). Both answer 200 when healthy and 503 otherwise. Also maps the
    /// OpenAPI document of the service's endpoints at <c>/openapi/v1.json</c>.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        return app;
    }
}
