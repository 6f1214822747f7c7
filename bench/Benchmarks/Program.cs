using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Npgsql;
using VectorPipeline.Benchmarks;
using VectorPipeline.Benchmarks.Report;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

// bench/Benchmarks: measures the pipeline against same-run baselines and writes docs/benchmarks.md,
// docs/benchmarks-throughput.svg and bench/results/latest.json (see docs/benchmarks.md, "Reproduce").
//   --size tiny|default|large   work per part (tiny: CI smoke run; large: adds the 1M-chunk level)
//   --parts ingest,model,search,onnx   which parts to run (default: all; onnx is part 7, the built-in model;
//                               onnx-search is its search latency and recall alone, best with --out)
// VP_BENCH_NPGSQL_OPTIONS="Max Auto Prepare=0" adds Npgsql settings to every part's connection strings (to compare them).
//   --batches 1,8,...           model-bound batch sizes (default: the size's)
//   --hnsw 16x64,32x128         part 6: (m)x(ef_construction) index builds (default: the size's)
//   --ef-search 40,100,...      part 6: ef_search values (default: the size's)
//   --concurrency N             model-bound: Embedding__ConcurrencyLimit of the workers (default: the product default)
//   --render                    only re-render docs/ from bench/results/latest.json (and onnx-latest.json)
//   --out DIR                   where docs/ and bench/results/ are written (default: the checkout)
//   --raw-onnx FILE --callers N --batch B --result FILE   (internal) part 7's raw ONNX baseline, in a process of its own
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length && !args[x.i + 1].StartsWith("--", StringComparison.Ordinal) ? args[x.i + 1] : "true");
if (options.TryGetValue("raw-onnx", out var rawTexts))
{
    return await RawOnnxRun.RunChildAsync(rawTexts, int.Parse(options["callers"], CultureInfo.InvariantCulture), int.Parse(options["batch"], CultureInfo.InvariantCulture), options["result"],
        options.TryGetValue("runs", out var runs) ? int.Parse(runs, CultureInfo.InvariantCulture) : null);
}

var size = BenchmarkSize.Parse(options.GetValueOrDefault("size", "default"));
if (options.TryGetValue("batches", out var batches))
{
    size = size with { ModelBatchSizes = batches.Split(',').Select(int.Parse).ToArray() };
}

if (options.TryGetValue("hnsw", out var hnsw))
{
    size = size with { HnswBuilds = hnsw.Split(',').Select(p => p.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray() };
}

if (options.TryGetValue("ef-search", out var efSearch))
{
    size = size with { EfSearchSweep = efSearch.Split(',').Select(int.Parse).ToArray() };
}

if (options.TryGetValue("concurrency", out var concurrency))
{
    ModelBoundBenchmark.ConcurrencyLimit = int.Parse(concurrency, CultureInfo.InvariantCulture);
}

var parts = options.GetValueOrDefault("parts", "ingest,model,search,onnx").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
var output = Path.GetFullPath(options.GetValueOrDefault("out", RepositoryPaths.Root));
var total = Stopwatch.StartNew();
var results = new BenchmarkResults
{
    Size = size.Name,
    Command = options.GetValueOrDefault("command", $"dotnet bench/Benchmarks/bin/Release/net10.0/Benchmarks.dll {string.Join(' ', args)}"),
    StartedAt = DateTimeOffset.UtcNow,
};
PipelineRunner.LogDirectory = Path.Combine(output, "bench", "results", "logs");
if (Directory.Exists(PipelineRunner.LogDirectory))
{
    Directory.Delete(PipelineRunner.LogDirectory, recursive: true);
}

void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");

if (options.ContainsKey("render"))
{
    // Re-renders docs/benchmarks.md and the chart from bench/results/latest.json (after editing bench/tuning.md), and
    // docs/benchmarks-onnx.md from bench/results/onnx-latest.json (after editing bench/onnx-notes.md).
    var saved = JsonSerializer.Deserialize<BenchmarkResults>(await File.ReadAllTextAsync(Path.Combine(output, "bench", "results", "latest.json")), JsonOptions())!;
    await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks-throughput.svg"), SvgChart.Throughput(saved));
    await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks.md"), MarkdownReport.Render(saved));
    Console.WriteLine(MarkdownReport.Summary(saved));
    var onnxJson = Path.Combine(output, "bench", "results", "onnx-latest.json");
    if (File.Exists(onnxJson))
    {
        var onnx = JsonSerializer.Deserialize<BenchmarkResults>(await File.ReadAllTextAsync(onnxJson), JsonOptions())!;
        await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks-onnx.md"), OnnxReport.Render(onnx));
        Console.WriteLine(OnnxReport.Summary(onnx));
    }

    return 0;
}

Log($"VectorPipeline benchmarks, size {size.Name}, parts {string.Join(",", parts)}; output under {output}");

results.Machine = MachineInfo();
if (Environment.GetEnvironmentVariable(BenchmarkDatabase.NpgsqlOptionsVariable) is { Length: > 0 } npgsqlOptions)
{
    Log($"every part's connection strings end with: {npgsqlOptions}");
    results.Machine["Npgsql options"] = npgsqlOptions;
}
// pg_stat_statements shows where the pipeline's PostgreSQL time goes (part 1's statement profile).
Environment.SetEnvironmentVariable("VP_POSTGRES_OPTIONS", "-c shared_preload_libraries=pg_stat_statements");
await using (var postgres = await PostgresServer.StartAsync())
await using (var rabbit = await RabbitMqServer.StartAsync())
{
    await using (var dataSource = VectorStoreExtensions.CreateDataSource(postgres.ConnectionString()))
    {
        await using var command = dataSource.CreateCommand("SELECT version(), (SELECT default_version FROM pg_available_extensions WHERE name = 'vector'), current_setting('shared_buffers')");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        results.Machine["PostgreSQL"] = reader.GetString(0).Split(" on ")[0] + $", shared_buffers {reader.GetString(2)}";
        results.Machine["pgvector"] = reader.GetString(1);
    }

    results.Machine["RabbitMQ"] = RabbitMqVersion();
    Log($"servers up: PostgreSQL on {postgres.Port}, RabbitMQ on {rabbit.Port}");
    await RunPartAsync("ingest", async () => results.Ingest = await IngestBenchmark.RunAsync(postgres, rabbit, size, Log));
    await RunPartAsync("model", async () => results.ModelBound = await ModelBoundBenchmark.RunAsync(postgres, rabbit, size, Log));
    await RunPartAsync("search", async () => (results.Search, results.Growth, results.HnswSweep) = await SearchBenchmark.RunAsync(postgres, rabbit, size, Log));
    await RunPartAsync("onnx", async () => results.OnnxModel = await OnnxModelBenchmark.RunAsync(postgres, rabbit, size, Log));
    await RunPartAsync("onnx-search", async () => results.OnnxModel = await OnnxModelBenchmark.RunAsync(postgres, rabbit, size, Log, searchOnly: true));
}

results.Machine["Load average after"] = File.ReadAllText("/proc/loadavg").Trim();
results.DurationSeconds = Math.Round(total.Elapsed.TotalSeconds, 1);
Directory.CreateDirectory(Path.Combine(output, "bench", "results"));
Directory.CreateDirectory(Path.Combine(output, "docs"));
var written = new List<string>();
if (parts.Overlaps(["ingest", "model", "search"]))
{
    await File.WriteAllTextAsync(Path.Combine(output, "bench", "results", "latest.json"), JsonSerializer.Serialize(results, JsonOptions()));
    await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks-throughput.svg"), SvgChart.Throughput(results));
    await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks.md"), MarkdownReport.Render(results));
    written.AddRange(["docs/benchmarks.md", "docs/benchmarks-throughput.svg", "bench/results/latest.json"]);
    Console.WriteLine();
    Console.WriteLine(MarkdownReport.Summary(results));
}

if (results.OnnxModel is not null)
{
    await File.WriteAllTextAsync(Path.Combine(output, "bench", "results", "onnx-latest.json"), JsonSerializer.Serialize(results, JsonOptions()));
    await File.WriteAllTextAsync(Path.Combine(output, "docs", "benchmarks-onnx.md"), OnnxReport.Render(results));
    written.AddRange(["docs/benchmarks-onnx.md", "bench/results/onnx-latest.json"]);
    Console.WriteLine();
    Console.WriteLine(OnnxReport.Summary(results));
}

Log($"done in {total.Elapsed.TotalMinutes:F1} min; wrote {string.Join(", ", written)} under {output}");
return results.Errors.Count == 0 ? 0 : 1;

async Task RunPartAsync(string part, Func<Task> run)
{
    if (!parts.Contains(part))
    {
        return;
    }

    var clock = Stopwatch.StartNew();
    try
    {
        await run();
        Log($"part {part} took {clock.Elapsed.TotalSeconds:F0} s");
    }
    catch (Exception ex)
    {
        results.Errors.Add($"{part}: {ex.GetType().Name}: {ex.Message}");
        Log($"part {part} FAILED after {clock.Elapsed.TotalSeconds:F0} s: {ex}");
    }
}

static JsonSerializerOptions JsonOptions() =>
    new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

static Dictionary<string, string> MachineInfo()
{
    var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
    var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(':', 2)[1].Trim();
    var os = File.Exists("/etc/os-release")
        ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? ""
        : RuntimeInformation.OSDescription;
    return new Dictionary<string, string>
    {
        ["CPU"] = $"{cpu}, {Environment.ProcessorCount} cores",
        ["Memory"] = memory,
        ["OS"] = $"{os}, kernel {Environment.OSVersion.Version}",
        [".NET"] = RuntimeInformation.FrameworkDescription,
        ["Load average before"] = File.ReadAllText("/proc/loadavg").Trim(),
    };
}

static string RabbitMqVersion()
{
    try
    {
        var info = new ProcessStartInfo("dpkg-query", ["-W", "-f=${Version}", "rabbitmq-server"]) { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var version = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return version.Length > 0 ? version : "unknown";
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "unknown";
    }
}
