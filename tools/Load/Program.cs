using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VectorPipeline.TestServers;
using VectorPipeline.Tools.Load;

// Load: sustained load with wrk from a second process on 127.0.0.1 against the whole stack (LoadStack), in parts:
//   search   POST /search at rising concurrency, the highest that holds (no error, p99 < 100 ms) for --hold-minutes,
//            then --overload connections (what fails first) and a recovery run at the held concurrency
//   ingest   the same for POST /documents with small documents (p99 < 250 ms); then every accepted document is
//            checked: stored, and embedded once the load stops
//   memory   both held loads at once for --memory-minutes, RSS of each process sampled each minute
//   flood    Search.Api with a per-key limit of 200 requests per 10 s: one key floods with --overload connections while
//            another searches at its own pace; the other key's p99 against its p99 alone
// Prints each table in Markdown (docs/reliability.md, "Load") and writes every run to --out as JSON.
// Exit code 0: every check held; 1: a check failed; 2: bad arguments or the stack did not start. Needs root.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = LoadOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Load [--parts search,ingest,memory,flood] [--steps 1,2,4,8,16,32] [--step-seconds 20] [--hold-minutes 5]"
        + " [--overload 256] [--memory-minutes 15] [--flood-seconds 60] [--out bench/results/load-latest.json]");
    return 2;
}

Wrk.EnsureInstalled();
var clock = Stopwatch.StartNew();
void Log(string message) => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {message}");
var report = new LoadReport { StartedAt = DateTimeOffset.UtcNow, Command = "dotnet tools/Load/bin/Release/net10.0/Load.dll " + string.Join(' ', args) };
report.Machine["CPU"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() + $", {Environment.ProcessorCount} cores";
report.Machine["Load average before"] = File.ReadAllText("/proc/loadavg").Trim();
var failures = new List<string>();
var bodies = Path.Combine(Path.GetTempPath(), $"vp-load-{Environment.ProcessId}");
Directory.CreateDirectory(bodies);
var searchBodies = Path.Combine(bodies, "search.ndjson");
var documentTexts = Path.Combine(bodies, "texts.ndjson");
await File.WriteAllLinesAsync(searchBodies, LoadStack.SearchBodies());
await File.WriteAllLinesAsync(documentTexts, LoadStack.DocumentTexts());

LoadStack stack;
try
{
    stack = await LoadStack.StartAsync(rateLimit: 0, Log);
}
catch (Exception ex)
{
    Console.Error.WriteLine($"load: the stack did not start: {ex.Message}");
    return 2;
}

await using (stack)
{
    var search = new Endpoint("POST /search", "search", searchBodies, 200, 100);
    var ingest = new Endpoint("POST /documents", "documents", documentTexts, 202, 250);
    var held = new Dictionary<string, int>();
    foreach (var endpoint in new[] { search, ingest })
    {
        if (!options.Parts.Contains(endpoint.Script == "search" ? "search" : "ingest"))
        {
            continue;
        }

        var url = endpoint.Script == "search" ? stack.Search.Url : stack.Ingest.Url;
        await WarmUpAsync(endpoint, url);
        var passed = new List<int>();
        foreach (var connections in options.Steps)
        {
            var run = await RunAsync(endpoint, url, "step", connections, TimeSpan.FromSeconds(options.StepSeconds));
            if (run.Result.Errors(endpoint.Success) == 0 && run.Result.P99Ms < endpoint.P99LimitMs)
            {
                passed.Add(connections);
            }
        }

        // The hold: from the highest step that passed, down to the next ones that passed until one holds for the whole
        // hold (a step is short; a hold can fail where its step passed).
        int? hold = null;
        foreach (var connections in passed.OrderDescending().Take(3))
        {
            var holding = await RunAsync(endpoint, url, "hold", connections, TimeSpan.FromMinutes(options.HoldMinutes));
            if (holding.Result.Errors(endpoint.Success) == 0 && holding.Result.P99Ms < endpoint.P99LimitMs)
            {
                hold = connections;
                break;
            }

            Log($"{endpoint.Name}: the hold at {connections} connections did not hold ({holding.Result.Errors(endpoint.Success)} errors, p99 {holding.Result.P99Ms:F1} ms)");
        }

        if (hold is null)
        {
            failures.Add($"{endpoint.Name}: no concurrency held for {options.HoldMinutes} min with no error and p99 < {endpoint.P99LimitMs} ms (steps that passed: {string.Join(", ", passed)})");
            hold = passed.Count > 0 ? passed.Min() : options.Steps[0];
        }
        else
        {
            held[endpoint.Name] = hold.Value;
        }

        var overload = await RunAsync(endpoint, url, "overload", options.Overload, TimeSpan.FromSeconds(options.StepSeconds));
        var unexpected = overload.Result.Statuses.Where(s => s.Key != endpoint.Success.ToString(CultureInfo.InvariantCulture) && s.Key is not ("429" or "503")).Sum(s => s.Value)
            + overload.Result.SocketErrors + overload.Result.Timeouts;
        if (unexpected > 0)
        {
            failures.Add($"{endpoint.Name}: {unexpected} answers at {options.Overload} connections were neither {endpoint.Success}, 429 nor 503 (socket errors and timeouts included)");
        }

        var recovery = await RunAsync(endpoint, url, "recovery", hold.Value, TimeSpan.FromSeconds(options.StepSeconds));
        if (recovery.Result.Errors(endpoint.Success) > 0 || recovery.Result.P99Ms >= endpoint.P99LimitMs)
        {
            failures.Add($"{endpoint.Name}: no recovery after the overload ({recovery.Result.Errors(endpoint.Success)} errors, p99 {recovery.Result.P99Ms:F1} ms at {hold.Value} connections)");
        }

        CheckCrashes();
    }

    if (options.Parts.Contains("memory") && held.TryGetValue(search.Name, out var searchHold) && held.TryGetValue(ingest.Name, out var ingestHold))
    {
        var duration = TimeSpan.FromMinutes(options.MemoryMinutes);
        Log($"memory: {search.Name} at {searchHold} and {ingest.Name} at {ingestHold} connections for {options.MemoryMinutes} min, RSS each minute");
        using var sampling = new CancellationTokenSource();
        var samples = SampleMemoryAsync(sampling.Token);
        var runs = await Task.WhenAll(
            RunAsync(search, stack.Search.Url, "memory", searchHold, duration),
            RunAsync(ingest, stack.Ingest.Url, "memory", ingestHold, duration));
        await sampling.CancelAsync();
        report.Memory = await samples;
        foreach (var series in report.Memory)
        {
            Log($"memory {series.Process}: {series.StartMiB:F0} -> {series.EndMiB:F0} MiB, slope after warm-up {series.SlopeMiBPerMinute:+0.00;-0.00} MiB/min");
        }

        foreach (var (endpoint, run) in new[] { search, ingest }.Zip(runs))
        {
            if (run.Result.Errors(endpoint.Success) > 0)
            {
                failures.Add($"{endpoint.Name}: {run.Result.Errors(endpoint.Success)} errors in the memory run");
            }
        }

        CheckCrashes();
    }

    if (options.Parts.Contains("ingest"))
    {
        await CheckDocumentsAsync();
    }

    if (options.Parts.Contains("flood"))
    {
        await FloodAsync(search);
        CheckCrashes();
    }
}

report.Machine["Load average after"] = File.ReadAllText("/proc/loadavg").Trim();
report.DurationMinutes = Math.Round(clock.Elapsed.TotalMinutes, 1);
report.Failures = failures;
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine();
Console.WriteLine(report.Markdown());
Log($"wrote {options.Out}; {(failures.Count == 0 ? "every check held" : $"{failures.Count} check(s) failed:\n  " + string.Join("\n  ", failures))}");
Directory.Delete(bodies, recursive: true);
return failures.Count == 0 ? 0 : 1;

async Task<LoadRun> RunAsync(Endpoint endpoint, Uri url, string phase, int connections, TimeSpan duration, string key = LoadStack.AdminKey, int delayMs = 0)
{
    var prefix = $"load/{phase}-{connections}-{Guid.NewGuid():N}";
    var result = await Wrk.RunAsync(endpoint.Script, url, connections, duration, new Dictionary<string, string>
    {
        ["VP_LOAD_BODIES"] = endpoint.Bodies,
        ["VP_LOAD_KEY"] = key,
        ["VP_LOAD_RUN"] = prefix,
        ["VP_LOAD_DELAY_MS"] = delayMs.ToString(CultureInfo.InvariantCulture),
    });
    var run = new LoadRun(endpoint.Name, phase, connections, duration.TotalSeconds, endpoint.Script == "documents" ? prefix : null, result);
    lock (report.Runs)
    {
        report.Runs.Add(run);
    }

    var statuses = string.Join(", ", result.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
    Log($"{endpoint.Name} {phase} c={connections} {duration.TotalSeconds:F0} s: {result.Throughput:F1}/s, p50 {result.P50Ms:F1} p95 {result.P95Ms:F1} p99 {result.P99Ms:F1} ms;"
        + $" {statuses}{(result.SocketErrors + result.Timeouts > 0 ? $", socket errors {result.SocketErrors}, timeouts {result.Timeouts}" : "")}");
    return run;
}

// Not measured: the first requests load the model (Search.Api) and compile the code paths.
async Task WarmUpAsync(Endpoint endpoint, Uri url) =>
    await Wrk.RunAsync(endpoint.Script, url, 2, TimeSpan.FromSeconds(5),
        new Dictionary<string, string> { ["VP_LOAD_BODIES"] = endpoint.Bodies, ["VP_LOAD_KEY"] = LoadStack.AdminKey, ["VP_LOAD_RUN"] = $"warm-up/{Guid.NewGuid():N}" });

void CheckCrashes()
{
    foreach (var name in stack.Exited)
    {
        failures.Add($"{name} exited during the load");
    }
}

async Task<List<MemorySeries>> SampleMemoryAsync(CancellationToken cancellationToken)
{
    var processes = stack.Processes.Where(p => p.ProcessId is not null).ToList();
    var samples = processes.ToDictionary(p => p.Name, _ => new List<double>());
    var started = Stopwatch.StartNew();
    for (var minute = 0; ; minute++)
    {
        foreach (var (name, pid) in processes)
        {
            samples[name].Add(ProcessMemory.TreePssMiB(pid!.Value));
        }

        var next = TimeSpan.FromMinutes(minute + 1) - started.Elapsed;
        try
        {
            await Task.Delay(next > TimeSpan.Zero ? next : TimeSpan.Zero, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            break;
        }
    }

    return [.. samples.Select(s => MemorySeries.From(s.Key, s.Value, options.WarmUpMinutes))];
}

async Task CheckDocumentsAsync()
{
    // Every 202 stored its document; a 503 may have (stored, not queued). Once the load stops, every stored document
    // gets its vectors: the workers drain the queue, and the redelivery sweep queues what was stored but not queued.
    var deadline = DateTime.UtcNow.AddMinutes(10);
    var runs = report.Runs.Where(r => r.DocumentPrefix is not null).ToList();
    long accepted = runs.Sum(r => r.Result.Count(202)), maybe = runs.Sum(r => r.Result.Count(503));
    Log($"documents: {accepted} accepted (202), {maybe} answered 503; waiting for every stored one to be embedded");
    while (true)
    {
        var (stored, waiting, failed) = await stack.CountDocumentsAsync("load/");
        if (waiting == 0 || DateTime.UtcNow > deadline)
        {
            report.Documents = new DocumentCheck(accepted, maybe, stored, waiting, failed);
            Log($"documents: {stored} stored, {waiting} still without a vector, {failed} with an embedding error");
            if (stored < accepted || stored > accepted + maybe)
            {
                failures.Add($"documents: {stored} stored for {accepted} accepted and {maybe} answered 503");
            }

            if (waiting > 0 || failed > 0)
            {
                failures.Add($"documents: {waiting} stored documents still without a vector 10 min after the load, {failed} with an embedding error");
            }

            return;
        }

        Log($"documents: {stored} stored, {waiting} waiting for a vector");
        await Task.Delay(TimeSpan.FromSeconds(10));
    }
}

async Task FloodAsync(Endpoint search)
{
    // A per-key limit below what the machine serves (the default, 1,000 requests per 10 s, is more than a 2-core
    // machine answers for POST /search), as an operator sets it: 200 per 10 s.
    await stack.RestartSearchAsync(new Dictionary<string, string> { ["RateLimit__PermitLimit"] = "200", ["RateLimit__WindowSeconds"] = "10" });
    var duration = TimeSpan.FromSeconds(options.FloodSeconds);
    await WarmUpAsync(search, stack.Search.Url);
    // The steady key paces itself under its limit: 2 connections, each waiting 250 ms between an answer and its next
    // request (under 8 requests a second, the limit being 20).
    var alone = await RunAsync(search, stack.Search.Url, "flood-baseline", 2, duration, LoadStack.SteadyKey, delayMs: 250);
    var both = await Task.WhenAll(
        RunAsync(search, stack.Search.Url, "flood-steady", 2, duration, LoadStack.SteadyKey, delayMs: 250),
        RunAsync(search, stack.Search.Url, "flood", options.Overload, duration, LoadStack.FloodKey));
    report.Flood = new FloodResult(alone.Result, both[0].Result, both[1].Result, options.Overload);
    var ratio = both[0].Result.P99Ms / Math.Max(0.001, alone.Result.P99Ms);
    Log($"flood: the steady key's p99 {alone.Result.P99Ms:F1} ms alone, {both[0].Result.P99Ms:F1} ms beside the flood ({ratio:F2}x); the flooding key got {both[1].Result.Count(429)} x 429 of {both[1].Result.Requests}");
    if (ratio > 1.5)
    {
        failures.Add($"flood: the steady key's p99 rose {ratio:F2}x (limit 1.5x)");
    }

    if (both[0].Result.Errors(200) > 0)
    {
        failures.Add($"flood: the steady key got {both[0].Result.Errors(200)} errors");
    }
}
