using System.Reflection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace VectorPipeline.ServiceDefaults;

/// <summary>
/// Owns the tracer and meter providers for the life of the host and flushes them on stop.
/// Names of the sources and meters VectorPipeline itself emits start with <see cref="SourcePrefix"/>.
/// </summary>
public sealed class Telemetry : IHostedService, IDisposable
{
    /// <summary>Prefix of VectorPipeline's own ActivitySource and Meter names.</summary>
    public const string SourcePrefix = "VectorPipeline";

    /// <summary>
    /// The ActivitySources traced: ASP.NET Core's server spans, HttpClient's client spans, Npgsql's commands, COPY
    /// operations and connection opens, MassTransit's send, receive and process spans, and every
    /// <c>VectorPipeline.*</c> source (embedding calls, batch consumes, vector writes).
    /// </summary>
    public static readonly IReadOnlyList<string> TracedSources =
        ["Microsoft.AspNetCore", "System.Net.Http", "Npgsql", "MassTransit", SourcePrefix + ".*"];

    /// <summary>
    /// The meters exported: ASP.NET Core hosting and Kestrel, HttpClient, the .NET runtime, Npgsql, MassTransit and
    /// every <c>VectorPipeline.*</c> meter (pipeline metrics, see the README's Observability section).
    /// </summary>
    public static readonly IReadOnlyList<string> ExportedMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Runtime", "Npgsql", "MassTransit", SourcePrefix + ".*"];

    private readonly TracerProvider _tracerProvider;
    private readonly MeterProvider _meterProvider;

    /// <summary>Builds the providers with the OTLP exporter (which reads the standard <c>OTEL_EXPORTER_OTLP_*</c> variables).</summary>
    /// <param name="resource">The resource every signal carries (see <see cref="CreateResource"/>).</param>
    public Telemetry(ResourceBuilder resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _tracerProvider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource([.. TracedSources])
            .AddOtlpExporter()
            .Build();
        _meterProvider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter([.. ExportedMeters])
            .AddOtlpExporter()
            .Build();
    }

    /// <summary>
    /// The resource of every signal of this process: <c>service.name</c> = <paramref name="serviceName"/>,
    /// <c>service.version</c> = the entry assembly's informational version, <c>service.instance.id</c> =
    /// <paramref name="serviceInstanceId"/>; then every attribute of <c>OTEL_RESOURCE_ATTRIBUTES</c> (and
    /// <c>OTEL_SERVICE_NAME</c>), which win over these.
    /// </summary>
    /// <param name="serviceName">The <c>service.name</c> resource attribute.</param>
    /// <param name="serviceInstanceId">The <c>service.instance.id</c>: one per replica (see <see cref="DefaultServiceInstanceId"/>).</param>
    public static ResourceBuilder CreateResource(string serviceName, string serviceInstanceId)
    {
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return ResourceBuilder.CreateEmpty()
            .AddService(serviceName, serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: serviceInstanceId)
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector();
    }

    /// <summary>
    /// The <c>service.instance.id</c> of a replica that was given none in <c>OTEL_RESOURCE_ATTRIBUTES</c>:
    /// <c>{host name}-{process id}</c>, unique among the processes of one host and, where each replica has its own
    /// host name (containers, pods), across hosts too. Computed once: every signal of a process carries the same id.
    /// </summary>
    public static string DefaultServiceInstanceId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Exports what is buffered (each provider waits at most 5 s).</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _tracerProvider.ForceFlush(5000);
        _meterProvider.ForceFlush(5000);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _tracerProvider.Dispose();
        _meterProvider.Dispose();
    }
}
