using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
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

    /// <summary>Prefix of VectorPipeline's own ActivitySource and Meter names (embedding calls, batch consumes, vector writes, pipeline metrics).</summary>
    public const string SourcePrefix = "VectorPipeline";

    // MassTransit's ActivitySource and Meter (DiagnosticHeaders.DefaultListenerName): send, receive and consume spans.
    private const string MassTransitSource = "MassTransit";

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
        builder.AddDefaultHealthChecks();
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer<OptionalNullablePropertiesTransformer>());
        return builder;
    }

    /// <summary>
    /// OpenTelemetry as in Aspire's ServiceDefaults template: traces of ASP.NET Core (health probes left out),
    /// HttpClient, Npgsql, MassTransit and VectorPipeline's own sources (<see cref="SourcePrefix"/>); metrics of
    /// ASP.NET Core, HttpClient, the .NET runtime, Npgsql, MassTransit and VectorPipeline's meters; logs. Exported
    /// with <c>UseOtlpExporter()</c> when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (OTLP/gRPC unless
    /// <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>; the exporter reads the other standard <c>OTEL_*</c>
    /// variables itself). The resource: <c>service.name</c> from <c>OTEL_SERVICE_NAME</c>, else the application
    /// name; <c>service.instance.id</c> from <c>OTEL_RESOURCE_ATTRIBUTES</c>, else
    /// <see cref="DefaultServiceInstanceId"/>; every attribute of those variables wins over the defaults.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : builder.Environment.ApplicationName;
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        builder.Services.AddOpenTelemetry()
            // Defaults first, then the environment's variables, so that what Aspire or the user sets wins.
            .ConfigureResource(resource => resource.Clear()
                .AddService(serviceName, serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: DefaultServiceInstanceId)
                .AddTelemetrySdk()
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(MassTransitSource, SourcePrefix + ".*"))
            .WithTracing(tracing => tracing
                // The probes of MapDefaultEndpoints, polled every few seconds, would drown the traces.
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context =>
                    !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments("/alive"))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(MassTransitSource, SourcePrefix + ".*"));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// The <c>service.instance.id</c> of a replica that was given none in <c>OTEL_RESOURCE_ATTRIBUTES</c>:
    /// <c>{host name}-{process id}</c>, unique among the processes of one host and, where each replica has its own
    /// host name (containers, pods), across hosts too. Computed once: every signal of a process carries the same id.
    /// </summary>
    public static string DefaultServiceInstanceId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Adds the <c>self</c> check, tagged <see cref="LiveTag"/>: the process answers.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
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
