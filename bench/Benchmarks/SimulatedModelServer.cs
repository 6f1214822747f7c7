using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// A model server on loopback (the custom <c>http</c> provider's contract: <c>POST /batch_embed</c>
/// <c>{"texts"}</c> → <c>{"embeddings","dimensions"}</c>, <c>GET /health</c>) whose service time for a request of
/// n texts is exactly <c>a + b·n</c> and which serves at most <see cref="Parallel"/> requests at once (the others
/// queue). Its best throughput for requests of n texts is therefore known: <see cref="Capacity"/>. The
/// vectors are drawn from a fixed pool of random unit vectors (pre-serialised, so answering costs almost no CPU).
/// </summary>
public sealed class SimulatedModelServer : IAsyncDisposable
{
    private const int PoolSize = 4096;
    private readonly WebApplication _app;
    private readonly SemaphoreSlim _slots;
    private readonly string[] _pool;
    private long _texts;
    private long _requests;

    private SimulatedModelServer(WebApplication app, TimeSpan fixedTime, TimeSpan perText, int parallel, int dimensions)
    {
        _app = app;
        FixedTime = fixedTime;
        PerText = perText;
        Parallel = parallel;
        Dimensions = dimensions;
        _slots = new SemaphoreSlim(parallel, parallel);
        var random = new Random(7);
        _pool = new string[PoolSize];
        for (var i = 0; i < PoolSize; i++)
        {
            var vector = new float[dimensions];
            double norm = 0;
            for (var d = 0; d < dimensions; d++)
            {
                vector[d] = (float)(random.NextDouble() * 2 - 1);
                norm += vector[d] * vector[d];
            }

            var scale = (float)(1 / Math.Sqrt(norm));
            _pool[i] = JsonSerializer.Serialize(vector.Select(v => v * scale).ToArray());
        }
    }

    /// <summary>Root address (ends in <c>/</c>).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>a: fixed time of every request.</summary>
    public TimeSpan FixedTime { get; }

    /// <summary>b: time per text of a request.</summary>
    public TimeSpan PerText { get; }

    /// <summary>Requests served at once; more wait.</summary>
    public int Parallel { get; }

    /// <summary>Length of the vectors served.</summary>
    public int Dimensions { get; }

    /// <summary>Texts embedded so far.</summary>
    public long Texts => Interlocked.Read(ref _texts);

    /// <summary>Requests answered so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>
    /// Highest throughput in texts per second when every request carries <paramref name="batchSize"/> texts and
    /// all slots are always busy: Parallel × n / (a + b·n).
    /// </summary>
    public double Capacity(int batchSize) => Parallel * batchSize / (FixedTime.TotalSeconds + PerText.TotalSeconds * batchSize);

    /// <summary>Starts the server on a free loopback port.</summary>
    public static async Task<SimulatedModelServer> StartAsync(TimeSpan fixedTime, TimeSpan perText, int parallel, int dimensions)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new SimulatedModelServer(app, fixedTime, perText, parallel, dimensions);
        app.MapPost("/batch_embed", server.EmbedAsync);
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Zeroes the counters.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _texts, 0);
        Interlocked.Exchange(ref _requests, 0);
    }

    private async Task EmbedAsync(HttpContext context)
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var texts = document.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString() ?? "").ToList();
        await _slots.WaitAsync(context.RequestAborted);
        try
        {
            await Task.Delay(FixedTime + PerText * texts.Count, context.RequestAborted);
        }
        finally
        {
            _slots.Release();
        }

        var body = new StringBuilder(texts.Count * (Dimensions * 12) + 64).Append("{\"embeddings\":[");
        for (var i = 0; i < texts.Count; i++)
        {
            body.Append(i == 0 ? "" : ",").Append(_pool[(uint)texts[i].GetHashCode() % PoolSize]);
        }

        body.Append("],\"dimensions\":").Append(Dimensions).Append('}');
        Interlocked.Add(ref _texts, texts.Count);
        Interlocked.Increment(ref _requests);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToString(), context.RequestAborted);
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _slots.Dispose();
    }
}
