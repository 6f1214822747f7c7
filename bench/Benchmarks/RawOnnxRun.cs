using System.Diagnostics;
using System.Text.Json;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Onnx;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// The raw ONNX Runtime baseline of part 7, run as a process of its own (the benchmark program with
/// <c>--raw-onnx</c>) so that its resident memory is the session's footprint and nothing else: the built-in model's
/// session and tokenizer through <see cref="OnnxEmbeddingGenerator"/> (WordPiece, runs of texts of similar length,
/// pooling, L2 normalisation: what a worker's model call does), with no broker, no database and no HTTP. Texts are
/// taken in batches of the workers' size, in the order given, by several callers at once on one session.
/// </summary>
public static class RawOnnxRun
{
    /// <summary>What one raw run measured.</summary>
    /// <param name="Callers">Batches embedded at once (threads calling the one session).</param>
    /// <param name="Texts">Texts embedded (the warm-up batch not counted).</param>
    /// <param name="Seconds">Wall time of the measured run.</param>
    /// <param name="TextsPerSecond">Texts / seconds.</param>
    /// <param name="RssBeforeLoadMiB">Resident memory before the model was loaded (the .NET runtime and the program), MiB.</param>
    /// <param name="PeakRssMiB">Peak resident memory (VmHWM) at the end, MiB.</param>
    /// <param name="Tokens">Word pieces the model read, [CLS] and [SEP] included.</param>
    /// <param name="CpuSeconds">CPU time (user + system) of the process during the measured run, s.</param>
    public sealed record Result(int Callers, int Texts, double Seconds, double TextsPerSecond, double RssBeforeLoadMiB, double PeakRssMiB, long Tokens, double CpuSeconds = double.NaN);

    /// <summary>The built-in default model, with the services' default run settings (1 intra-op thread, runs of 16).</summary>
    /// <param name="maxConcurrentRuns">Runs at once in the process; null = the services' default (cores / intra-op threads).</param>
    public static OnnxModelDefinition Definition(int? maxConcurrentRuns = null) =>
        OnnxModelDefinition.Resolve(new EmbeddingModelOptions
        {
            Provider = OnnxModelDefinition.ProviderName,
            Onnx = new OnnxModelOptions { MaxConcurrentRuns = maxConcurrentRuns },
        }, "Embedding");

    /// <summary>The child's side: embeds the texts of <paramref name="textsFile"/> (a JSON array) and writes a <see cref="Result"/> as JSON to <paramref name="resultFile"/>.</summary>
    /// <param name="textsFile">JSON array of the texts.</param>
    /// <param name="callers">Batches embedded at once.</param>
    /// <param name="batch">Texts per batch.</param>
    /// <param name="resultFile">Where the <see cref="Result"/> goes.</param>
    /// <param name="maxConcurrentRuns">Runs at once in the process (<c>--runs</c>); null = the services' default.</param>
    /// <returns>The process exit code, 0.</returns>
    public static async Task<int> RunChildAsync(string textsFile, int callers, int batch, string resultFile, int? maxConcurrentRuns = null)
    {
        var before = MemorySampler.RssMiB(Environment.ProcessId) ?? double.NaN;
        var texts = JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(textsFile))!;
        using var generator = new OnnxEmbeddingGenerator(Definition(maxConcurrentRuns));
        generator.WarmUp();
        await generator.GenerateAsync(texts.Take(batch).ToArray());
        var next = -1;
        long tokens = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var start = Interlocked.Increment(ref next) * batch; start < texts.Length; start = Interlocked.Increment(ref next) * batch)
            {
                var embedded = await generator.GenerateAsync(texts[start..Math.Min(texts.Length, start + batch)]);
                Interlocked.Add(ref tokens, embedded.Usage?.InputTokenCount ?? 0);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var result = new Result(callers, texts.Length, Math.Round(seconds, 2), Math.Round(texts.Length / seconds, 2), Math.Round(before, 1),
            Math.Round(MemorySampler.PeakRssMiB(Environment.ProcessId) ?? double.NaN, 1), tokens,
            Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, 2));
        await File.WriteAllTextAsync(resultFile, JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Runs the child (<c>dotnet Benchmarks.dll --raw-onnx …</c>) on <paramref name="texts"/> and returns what it measured.</summary>
    /// <exception cref="InvalidOperationException">The child failed; the message holds its output.</exception>
    public static async Task<Result> MeasureAsync(IReadOnlyList<string> texts, int callers, int batch)
    {
        var directory = Directory.CreateTempSubdirectory("vp-raw-onnx");
        try
        {
            var textsFile = Path.Combine(directory.FullName, "texts.json");
            var resultFile = Path.Combine(directory.FullName, "result.json");
            await File.WriteAllTextAsync(textsFile, JsonSerializer.Serialize(texts));
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { typeof(RawOnnxRun).Assembly.Location, "--raw-onnx", textsFile, "--callers", callers.ToString(), "--batch", batch.ToString(), "--result", resultFile })
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0 || !File.Exists(resultFile))
            {
                throw new InvalidOperationException($"The raw ONNX run ({callers} callers) exited with {process.ExitCode}:\n{await output}\n{await error}");
            }

            return JsonSerializer.Deserialize<Result>(await File.ReadAllTextAsync(resultFile))!;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
