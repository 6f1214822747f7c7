using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
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
    /// Traces (ASP.NET Core with its OpenTelemetry tags, HttpClient, Npgsql, MassTransit and VectorPipeline's own
    /// sources, see <see cref="Telemetry.TracedSources"/>), metrics (<see cref="Telemetry.ExportedMeters"/>) and logs,
    /// exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; the exporter reads the standard
    /// <c>OTEL_EXPORTER_OTLP_*</c>, <c>OTEL_BSP_*</c>, <c>OTEL_BLRP_*</c> and <c>OTEL_METRIC_EXPORT_*</c> variables.
    /// When it is not set nothing listens to the sources: no spans are created, nothing is exported and nothing
    /// is logged about it. Every signal carries one resource (<see cref="Telemetry.CreateResource"/>):
    /// <c>service.name</c> from <c>OTEL_SERVICE_NAME</c> (else the application name), <c>service.instance.id</c>
    /// from <c>OTEL_RESOURCE_ATTRIBUTES</c> (else <see cref="Telemetry.DefaultServiceInstanceId"/>).
    /// Stands in for <c>OpenTelemetry.Extensions.Hosting</c>, which does not restore on this project's machines:
    /// the providers are built here, before the host, so that start-up work (migrations) is traced too, and
    /// flushed when the host stops.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }

        // .NET 10 leaves OpenTelemetry tags off ASP.NET Core's server spans unless this switch is false; even then it
        // sets only the tags known at the start of a request: HttpServerSpanEnricher adds status, route and span name.
        AppContext.SetSwitch("Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData", false);
        builder.Services.Insert(0, ServiceDescriptor.Transient<IStartupFilter, HttpServerSpanEnricher>());
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : builder.Environment.ApplicationName;
        var resource = Telemetry.CreateResource(serviceName, Telemetry.DefaultServiceInstanceId);
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
            logging.SetResourceBuilder(resource);
            logging.AddOtlpExporter();
        });
        var telemetry = new Telemetry(resource);
        // Factories, so that the container disposes the providers; registered first, so stopped last: what the
        // other hosted services do while stopping is exported too.
        builder.Services.AddSingleton(_ => telemetry);
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(services => services.GetRequiredService<Telemetry>()));
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready: every check passes, including database and broker reachability) and
    /// <c>/alive</c> (the process is up). Both answer 200 when healthy and 503 otherwise. Also maps the
    /// OpenAPI document of the service's endpoints at <c>/openapi/v1.json</c>. All three stay open when API keys are
    /// required (<see cref="VectorPipeline.ServiceDefaults.Security.SecurityExtensions.AddApiSecurity{TBuilder}"/>).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Open without an API key (AddApiSecurity): probes must work without credentials, and the OpenAPI
        // document describes the endpoints but holds no data.
        app.MapOpenApi().AllowAnonymous();
        app.MapHealthChecks("/health").AllowAnonymous();
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) }).AllowAnonymous();
        return app;
    }
}
