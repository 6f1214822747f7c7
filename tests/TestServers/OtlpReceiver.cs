using System.IO.Compression;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VectorPipeline.TestServers;

/// <summary>
/// An in-process OTLP/HTTP endpoint (Kestrel on 127.0.0.1, a free port) for tests: what services export with
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> = <see cref="Endpoint"/> and <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>.
/// <c>POST /v1/traces</c> and <c>POST /v1/metrics</c> are decoded with <see cref="OtlpProtobuf"/> (gzip bodies too)
/// and kept; <c>POST /v1/logs</c> is counted. Every export is answered 200 with an empty protobuf response
/// (an empty <c>Export*ServiceResponse</c>: full success). A body that does not decode is answered 400 and
/// recorded in <see cref="Errors"/>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _lock = new();
    private readonly List<OtlpSpan> _spans = [];
    private readonly List<(int Export, OtlpMetricPoint Point)> _metrics = [];
    private readonly List<string> _errors = [];
    private int _metricExports;
    private int _logExports;
    private int _traceExports;

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>Base address to give as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<OtlpSpan> Spans
    {
        get
        {
            lock (_lock)
            {
                return [.. _spans];
            }
        }
    }

    /// <summary>Every metric data point received so far, with the number of the export that carried it (1, 2, ...).</summary>
    public IReadOnlyList<(int Export, OtlpMetricPoint Point)> MetricPoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _metrics];
            }
        }
    }

    /// <summary>Bodies that did not decode (exception messages).</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Trace export requests received.</summary>
    public int TraceExports => Volatile.Read(ref _traceExports);

    /// <summary>Log export requests received (not decoded).</summary>
    public int LogExports => Volatile.Read(ref _logExports);

    /// <summary>Starts the receiver.</summary>
    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", context => receiver.ReceiveAsync(context, body =>
        {
            var spans = OtlpProtobuf.ReadTraces(body);
            lock (receiver._lock)
            {
                receiver._traceExports++;
                receiver._spans.AddRange(spans);
            }
        }));
        app.MapPost("/v1/metrics", context => receiver.ReceiveAsync(context, body =>
        {
            var points = OtlpProtobuf.ReadMetrics(body);
            lock (receiver._lock)
            {
                var export = ++receiver._metricExports;
                receiver._metrics.AddRange(points.Select(p => (export, p)));
            }
        }));
        app.MapPost("/v1/logs", context => receiver.ReceiveAsync(context, _ => Interlocked.Increment(ref receiver._logExports)));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Endpoint = address.TrimEnd('/');
        return receiver;
    }

    /// <summary>Stops the receiver.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext context, Action<ReadOnlyMemory<byte>> decode)
    {
        using var buffer = new MemoryStream();
        var body = context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(context.Request.Body, CompressionMode.Decompress)
            : context.Request.Body;
        await body.CopyToAsync(buffer, context.RequestAborted);
        try
        {
            decode(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (FormatException e)
        {
            lock (_lock)
            {
                _errors.Add($"{context.Request.Path}: {e.Message}");
            }

            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = StatusCodes.Status200OK;
    }
}
