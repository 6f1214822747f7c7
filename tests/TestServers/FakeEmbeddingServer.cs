using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VectorPipeline.Embeddings.Hashing;

namespace VectorPipeline.TestServers;

/// <summary>
/// An in-process model server (Kestrel on 127.0.0.1, a free port) that speaks the three embedding APIs at once:
/// Ollama <c>POST /api/embed</c> and <c>GET /api/version</c>, OpenAI-compatible <c>POST /v1/embeddings</c>, and the
/// custom contract <c>POST /batch_embed</c>, <c>POST /embed</c>, <c>GET /health</c>. Vectors are those of the
/// hashing embedder (<see cref="HashingEmbeddingGenerator.Embed"/> with <see cref="Dimensions"/>), multiplied by
/// <see cref="VectorScale"/>, so a search over them behaves like the hashing model. Faults can be queued
/// (<see cref="EnqueueFault(FakeFault)"/>) or made permanent (<see cref="AlwaysFault"/>) to test clients.
/// </summary>
public sealed class FakeEmbeddingServer : IAsyncDisposable
{
    /// <summary>Version <c>GET /api/version</c> reports.</summary>
    public const string Version = "0.0.0-fake";

    private readonly WebApplication _app;
    private readonly HashingEmbeddingGenerator _embedder;
    private readonly string? _apiKey;
    private readonly LinkedList<FakeFault> _faults = new();
    private readonly ConcurrentQueue<string> _receivedTexts = new();
    private readonly List<FakeRequest> _log = [];
    private readonly object _lock = new();
    private int _requests;
    private int _textsEmbedded;
    private int _attempts;
    private int _healthRequests;

    private FakeEmbeddingServer(WebApplication app, int dimensions, string? apiKey)
    {
        _app = app;
        _embedder = new HashingEmbeddingGenerator(dimensions);
        _apiKey = apiKey;
        Dimensions = dimensions;
    }

    /// <summary>Root address, for example <c>http://127.0.0.1:41234/</c> (ends in <c>/</c>).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Length of the vectors served (unless a fault says otherwise).</summary>
    public int Dimensions { get; }

    /// <summary>Embedding requests answered successfully, all endpoints (one per <c>/embed</c> text).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Texts embedded in successful answers.</summary>
    public int TextsEmbedded => Volatile.Read(ref _textsEmbedded);

    /// <summary>Embedding requests received, failed ones included (every attempt of a retrying client).</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary><c>GET /health</c> and <c>GET /api/version</c> requests received.</summary>
    public int HealthRequests => Volatile.Read(ref _healthRequests);

    /// <summary>Texts of the successful answers, in the order they were answered.</summary>
    public IReadOnlyCollection<string> ReceivedTexts => _receivedTexts.ToArray();

    /// <summary>Every embedding request received (failed ones included), oldest first.</summary>
    public IReadOnlyList<FakeRequest> RequestLog
    {
        get
        {
            lock (_lock)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>Most texts one request may carry; more gives 413. Default: no limit.</summary>
    public int MaxBatchItemsAccepted { get; set; } = int.MaxValue;

    /// <summary>Most characters (all texts together) one request may carry; more gives 413. Default: no limit.</summary>
    public int MaxBatchCharsAccepted { get; set; } = int.MaxValue;

    /// <summary>False: <c>POST /batch_embed</c> answers 404 (a server with <c>/embed</c> only). Default true.</summary>
    public bool BatchEmbedAvailable { get; set; } = true;

    /// <summary>Status of <c>GET /health</c> and <c>GET /api/version</c>; default 200.</summary>
    public int HealthStatusCode { get; set; } = 200;

    /// <summary>Factor applied to every served vector (the hashing vectors have unit length); default 1.</summary>
    public float VectorScale { get; set; } = 1f;

    /// <summary>Applied to every embedding request when no queued fault matches; null = none.</summary>
    public FakeFault? AlwaysFault { get; set; }

    /// <summary>Starts a server.</summary>
    /// <param name="dimensions">Vector length, 16..2000 (the hashing embedder's range).</param>
    /// <param name="apiKey">When set, embedding endpoints demand <c>Authorization: Bearer {apiKey}</c> and answer 401 otherwise.</param>
    public static async Task<FakeEmbeddingServer> StartAsync(int dimensions, string? apiKey = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeEmbeddingServer(app, dimensions, apiKey);
        app.MapPost("/api/embed", context => server.EmbedAsync(context, Api.Ollama));
        app.MapPost("/v1/embeddings", context => server.EmbedAsync(context, Api.OpenAI));
        app.MapPost("/batch_embed", context => server.EmbedAsync(context, Api.Batch));
        app.MapPost("/embed", context => server.EmbedAsync(context, Api.Single));
        app.MapGet("/health", context => server.HealthAsync(context, new { status = "ok" }));
        app.MapGet("/api/version", context => server.HealthAsync(context, new { version = Version }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Queues a fault for the next embedding request it matches (see <see cref="FakeFault.Path"/>); faults are used once, in order.</summary>
    public void EnqueueFault(FakeFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_lock)
        {
            _faults.AddLast(fault);
        }
    }

    /// <summary>Queues <paramref name="count"/> copies of <paramref name="fault"/>.</summary>
    public void EnqueueFault(FakeFault fault, int count)
    {
        for (var i = 0; i < count; i++)
        {
            EnqueueFault(fault);
        }
    }

    /// <summary>Removes queued faults and <see cref="AlwaysFault"/>.</summary>
    public void ClearFaults()
    {
        lock (_lock)
        {
            _faults.Clear();
            AlwaysFault = null;
        }
    }

    /// <summary>Zeroes the counters and clears <see cref="ReceivedTexts"/> and <see cref="RequestLog"/>; settings and faults stay.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            Interlocked.Exchange(ref _requests, 0);
            Interlocked.Exchange(ref _textsEmbedded, 0);
            Interlocked.Exchange(ref _attempts, 0);
            Interlocked.Exchange(ref _healthRequests, 0);
            _receivedTexts.Clear();
            _log.Clear();
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private enum Api
    {
        Ollama,
        OpenAI,
        Batch,
        Single,
    }

    private async Task HealthAsync(HttpContext context, object body)
    {
        Interlocked.Increment(ref _healthRequests);
        context.Response.StatusCode = HealthStatusCode;
        await WriteJsonAsync(context, HealthStatusCode is >= 200 and <= 299 ? body : new { error = "unhealthy" });
    }

    private async Task EmbedAsync(HttpContext context, Api api)
    {
        var path = context.Request.Path.Value ?? "";
        using var reader = new StreamReader(context.Request.Body);
        var raw = await reader.ReadToEndAsync(context.RequestAborted);
        var authorization = context.Request.Headers.Authorization.ToString();
        Interlocked.Increment(ref _attempts);
        lock (_lock)
        {
            _log.Add(new FakeRequest(path, authorization.Length == 0 ? null : authorization, raw, DateTimeOffset.UtcNow));
        }

        if (api == Api.Batch && !BatchEmbedAvailable)
        {
            await ErrorAsync(context, 404, "Not Found");
            return;
        }

        var fault = TakeFault(path);
        if (fault?.Delay is { } delay)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (_apiKey is not null && authorization != $"Bearer {_apiKey}")
        {
            // Like some real servers, echo the key that was sent: clients must not put it in their messages.
            await ErrorAsync(context, 401, authorization.StartsWith("Bearer ", StringComparison.Ordinal)
                ? $"Incorrect API key provided: {authorization["Bearer ".Length..]}"
                : "Missing API key.");
            return;
        }

        if (fault?.StatusCode is { } status)
        {
            if (fault.RetryAfter is { } after)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }
            else if (fault.RetryAfterDate is { } date)
            {
                context.Response.Headers.RetryAfter = date.ToString("r", CultureInfo.InvariantCulture);
            }

            await ErrorAsync(context, status, fault.Body ?? $"Injected fault {status}.");
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(raw);
        }
        catch (JsonException e)
        {
            await ErrorAsync(context, 400, $"Invalid JSON: {e.Message}");
            return;
        }

        using (document)
        {
            var (texts, problem) = ReadTexts(document.RootElement, api);
            if (problem is not null)
            {
                await ErrorAsync(context, api == Api.Ollama || api == Api.OpenAI ? 400 : 422, problem);
                return;
            }

            if (texts.Count > MaxBatchItemsAccepted || texts.Sum(t => (long)t.Length) > MaxBatchCharsAccepted)
            {
                await ErrorAsync(context, 413, $"Too many texts or characters in one request: {texts.Count} texts, {texts.Sum(t => (long)t.Length)} characters.");
                return;
            }

            if (api == Api.OpenAI && document.RootElement.TryGetProperty("dimensions", out var asked) && asked.ValueKind == JsonValueKind.Number && asked.GetInt32() != Dimensions)
            {
                await ErrorAsync(context, 400, $"This model produces {Dimensions} dimensions; {asked.GetInt32()} were asked for.");
                return;
            }

            var vectors = texts.Select(text => Vector(text, fault)).ToList();
            var dimensions = fault?.ReportedDimensions ?? vectors[0].Length;
            var model = document.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : "fake";
            object body = api switch
            {
                Api.Ollama => new Dictionary<string, object?>
                {
                    ["model"] = model,
                    ["embeddings"] = vectors,
                    ["total_duration"] = 1000,
                    ["load_duration"] = 10,
                    ["prompt_eval_count"] = texts.Sum(t => (t.Length + 3) / 4),
                },
                Api.OpenAI => new Dictionary<string, object?>
                {
                    ["object"] = "list",
                    ["data"] = OpenAIData(vectors, fault,
                        document.RootElement.TryGetProperty("encoding_format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() == "base64"),
                    ["model"] = model,
                    ["usage"] = new Dictionary<string, int> { ["prompt_tokens"] = texts.Sum(t => (t.Length + 3) / 4), ["total_tokens"] = texts.Sum(t => (t.Length + 3) / 4) },
                },
                Api.Batch => new Dictionary<string, object?> { ["embeddings"] = vectors, ["dimensions"] = dimensions },
                _ => new Dictionary<string, object?> { ["embedding"] = vectors[0], ["dimensions"] = dimensions },
            };

            if (fault?.StallAfterHeaders is { } stall)
            {
                // Send the status line, headers and the first byte of the body, then stop talking.
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync("{"u8.ToArray(), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                try
                {
                    await Task.Delay(stall, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                context.Abort();
                return;
            }

            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _textsEmbedded, texts.Count);
            foreach (var text in texts)
            {
                _receivedTexts.Enqueue(text);
            }

            await WriteJsonAsync(context, body);
        }
    }

    private static (List<string> Texts, string? Problem) ReadTexts(JsonElement root, Api api)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return ([], "The body must be a JSON object.");
        }

        var (name, single) = api switch
        {
            Api.Batch => ("texts", false),
            Api.Single => ("text", true),
            _ => ("input", false),
        };
        if (!root.TryGetProperty(name, out var value))
        {
            return ([], $"Field '{name}' is required.");
        }

        if (value.ValueKind == JsonValueKind.String && (single || api != Api.Batch))
        {
            return ([value.GetString()!], null);
        }

        if (!single && value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            var texts = value.EnumerateArray().Select(e => e.GetString()!).ToList();
            return texts.Count == 0 ? ([], $"Field '{name}' must not be empty.") : (texts, null);
        }

        return ([], $"Field '{name}' must be {(single ? "a string" : "an array of strings")}.");
    }

    private float[] Vector(string text, FakeFault? fault)
    {
        float[] vector;
        if (fault?.WrongDimensions is { } wrong && wrong != Dimensions)
        {
            vector = wrong is >= 16 and <= 2000
                ? new HashingEmbeddingGenerator(wrong).Embed(text)
                : Enumerable.Repeat((float)(1 / Math.Sqrt(Math.Max(1, wrong))), Math.Max(0, wrong)).ToArray();
        }
        else
        {
            vector = _embedder.Embed(text);
        }

        if (fault?.ZeroVectors == true)
        {
            Array.Clear(vector);
        }

        var scale = VectorScale;
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] *= scale;
        }

        return vector;
    }

    // encoding_format "base64": each vector as the base64 of its little-endian float32 bytes, as OpenAI answers.
    private static List<Dictionary<string, object>> OpenAIData(List<float[]> vectors, FakeFault? fault, bool base64)
    {
        var data = vectors.Select((vector, index) => new Dictionary<string, object>
        {
            ["object"] = "embedding",
            ["index"] = fault?.DuplicateIndex == true ? 0 : index,
            ["embedding"] = base64 ? Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan())) : vector,
        }).ToList();
        if (fault?.ReorderData == true)
        {
            data.Reverse();
        }

        return data;
    }

    private FakeFault? TakeFault(string path)
    {
        lock (_lock)
        {
            for (var node = _faults.First; node is not null; node = node.Next)
            {
                if (node.Value.Path is null || string.Equals(node.Value.Path, path, StringComparison.Ordinal))
                {
                    _faults.Remove(node);
                    return node.Value;
                }
            }

            return AlwaysFault is { } always && (always.Path is null || always.Path == path) ? always : null;
        }
    }

    private static async Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        // FastAPI says "detail", Ollama and OpenAI say "error": send both.
        await WriteJsonAsync(context, new Dictionary<string, object> { ["error"] = new { message, code = status }, ["detail"] = message });
    }

    private static async Task WriteJsonAsync(HttpContext context, object body)
    {
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, body.GetType(), cancellationToken: context.RequestAborted);
    }
}

/// <summary>
/// A misbehaviour of <see cref="FakeEmbeddingServer"/> for one embedding request (queued) or all of them
/// (<see cref="FakeEmbeddingServer.AlwaysFault"/>). Effects combine: the delay comes first, then a status
/// (which ends the request), then a stalled body (which ends it too), else the answer is altered as set.
/// </summary>
public sealed record FakeFault
{
    /// <summary>Only requests to this path (for example <c>/v1/embeddings</c>) use the fault; null = any embedding endpoint.</summary>
    public string? Path { get; init; }

    /// <summary>Answer this status with a JSON error body.</summary>
    public int? StatusCode { get; init; }

    /// <summary>With <see cref="StatusCode"/>: <c>Retry-After</c> in delta seconds (rounded up).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>With <see cref="StatusCode"/>: <c>Retry-After</c> as an HTTP-date.</summary>
    public DateTimeOffset? RetryAfterDate { get; init; }

    /// <summary>Error body text for <see cref="StatusCode"/>; null = a generic one.</summary>
    public string? Body { get; init; }

    /// <summary>Wait this long before answering (or until the client gives up).</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>Send 200, the headers and one byte of the body, then stall this long and drop the connection.</summary>
    public TimeSpan? StallAfterHeaders { get; init; }

    /// <summary>Serve vectors of this length instead of the server's dimensions.</summary>
    public int? WrongDimensions { get; init; }

    /// <summary>Custom API: the <c>dimensions</c> field says this, whatever the vectors' length.</summary>
    public int? ReportedDimensions { get; init; }

    /// <summary>Serve all-zero vectors.</summary>
    public bool ZeroVectors { get; init; }

    /// <summary>OpenAI API: list <c>data</c> in reverse order (indices stay right).</summary>
    public bool ReorderData { get; init; }

    /// <summary>OpenAI API: every item of <c>data</c> says index 0.</summary>
    public bool DuplicateIndex { get; init; }

    /// <summary>Answer <paramref name="statusCode"/>, optionally with <c>Retry-After</c>.</summary>
    public static FakeFault Status(int statusCode, TimeSpan? retryAfter = null) => new() { StatusCode = statusCode, RetryAfter = retryAfter };

    /// <summary>Answer normally after <paramref name="delay"/>.</summary>
    public static FakeFault Slow(TimeSpan delay) => new() { Delay = delay };

    /// <summary>Serve vectors of <paramref name="dimensions"/> values.</summary>
    public static FakeFault Dimensions(int dimensions) => new() { WrongDimensions = dimensions };

    /// <summary>OpenAI API: reverse the order of <c>data</c>.</summary>
    public static FakeFault Reordered() => new() { ReorderData = true, Path = "/v1/embeddings" };
}

/// <summary>One embedding request as <see cref="FakeEmbeddingServer"/> received it.</summary>
/// <param name="Path">Request path, for example <c>/api/embed</c>.</param>
/// <param name="Authorization">The <c>Authorization</c> header, or null.</param>
/// <param name="Body">The raw JSON body.</param>
/// <param name="ReceivedAt">When it arrived (UTC).</param>
public sealed record FakeRequest(string Path, string? Authorization, string Body, DateTimeOffset ReceivedAt);
