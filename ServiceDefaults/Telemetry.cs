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

    private readonly TracerProvider _tracerProvider;
    private readonly MeterProvider _meterProvider;

    /// <summary>Builds the providers with the OTLP exporter.</summary>
    /// <param name="serviceName">The <c>service.name</c> resource attribute.</param>
    public Telemetry(string serviceName)
    {
        _tracerProvider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(CreateResource(serviceName))
            .AddSource("Microsoft.AspNetCore", "System.Net.Http", "Npgsql", "MassTransit", SourcePrefix + ".*")
            .AddOtlpExporter()
            .Build();
        _meterProvider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(CreateResource(serviceName))
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http",
                "System.Runtime", "Npgsql", "MassTransit", SourcePrefix + ".*")
            .AddOtlpExporter()
            .Build();
    }

    /// <summary>The resource every signal carries: <c>service.name</c> plus the <c>OTEL_RESOURCE_ATTRIBUTES</c>.</summary>
    public static ResourceBuilder CreateResource(string serviceName) =>
        ResourceBuilder.CreateDefault().AddService(serviceName).AddEnvironmentVariableDetector();

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
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
