using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>
/// CI's check of the benchmark program (bench/Benchmarks): it builds (a project reference) and its tiny size runs every
/// part against real servers and writes the report, JSON and chart. The numbers themselves are not checked: benchmarks
/// are not tests (run bench/run.sh for them).
/// </summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public async Task Tiny_benchmark_runs_every_part_and_writes_the_report()
    {
        var configuration = typeof(BenchmarkSmokeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var program = Path.Combine(RepositoryPaths.Root, "bench", "Benchmarks", "bin", configuration, "net10.0", "Benchmarks.dll");
        Assert.True(File.Exists(program), $"{program} is not built");
        var output = ProcessRunner.CreateTempDirectory("vp-bench-smoke");
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { program, "--size", "tiny", "--out", output })
            {
                info.ArgumentList.Add(argument);
            }

            var clock = Stopwatch.StartNew();
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(7));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            var log = await stdout + await stderr;
            TestContext.Current.TestOutputHelper?.WriteLine($"tiny benchmark: {clock.Elapsed.TotalSeconds:F0} s\n{log}");
            Assert.True(process.ExitCode == 0, $"the benchmark exited with {process.ExitCode}:\n{log}");

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "bench", "results", "latest.json"), TestContext.Current.CancellationToken));
            var root = results.RootElement;
            Assert.Equal("tiny", root.GetProperty("Size").GetString());
            Assert.True(root.GetProperty("Ingest").GetProperty("CopyRowsPerSecond").GetDouble() > 0);
            Assert.NotEmpty(root.GetProperty("ModelBound").GetProperty("Runs").EnumerateArray());
            Assert.NotEmpty(root.GetProperty("Search").GetProperty("Levels").EnumerateArray());
            Assert.Empty(root.GetProperty("Errors").EnumerateArray());
            var sweep = root.GetProperty("HnswSweep").EnumerateArray().ToList();
            Assert.Equal(4, sweep.Count);
            Assert.All(sweep, row => Assert.InRange(row.GetProperty("PassageRecallAt10").GetDouble(), 0.01, 1.0));
            var markdown = await File.ReadAllTextAsync(Path.Combine(output, "docs", "benchmarks.md"), TestContext.Current.CancellationToken);
            Assert.Contains("## Targets", markdown, StringComparison.Ordinal);
            Assert.Contains("## 6. HNSW parameters", markdown, StringComparison.Ordinal);
            using var onnx = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "bench", "results", "onnx-latest.json"), TestContext.Current.CancellationToken));
            var model = onnx.RootElement.GetProperty("OnnxModel");
            Assert.True(model.GetProperty("Pipeline")[0].GetProperty("ChunksPerSecond").GetDouble() > 0);
            Assert.Equal(3, model.GetProperty("Raw").GetArrayLength());
            Assert.All(model.GetProperty("Hnsw").EnumerateArray(), row => Assert.InRange(row.GetProperty("WordRecallAt10").GetDouble(), 0.01, 1.0));
            Assert.Contains("## 7.3 HNSW recall", await File.ReadAllTextAsync(Path.Combine(output, "docs", "benchmarks-onnx.md"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
            var svg = await File.ReadAllTextAsync(Path.Combine(output, "docs", "benchmarks-throughput.svg"), TestContext.Current.CancellationToken);
            Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
