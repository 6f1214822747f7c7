using System.Globalization;
using System.Text;

namespace VectorPipeline.Benchmarks.Report;

/// <summary>Renders <c>docs/benchmarks-onnx.md</c>, part 7 (the built-in ONNX model), from <see cref="BenchmarkResults.OnnxModel"/>.</summary>
public static class OnnxReport
{
    /// <summary>Pipeline chunks/s over the best raw ONNX Runtime rate on the same texts, at least.</summary>
    public const double ThroughputTarget = 0.90;

    /// <summary>Worker peak RSS above the raw process's (same session, same concurrency), MiB, at most.</summary>
    public const double MemoryAboveSessionTarget = 150;

    /// <summary><c>POST /search</c> p50 over (SQL p50 + query-embedding p50), at most.</summary>
    public const double SearchTarget = 1.2;

    /// <summary>Recall@10 of the default search (index and ef_search in place) against the exact top 10, at least.</summary>
    public const double RecallTarget = 0.95;

    /// <summary>The targets next to the measured figures, as a Markdown table; empty when part 7 did not run.</summary>
    public static string Summary(BenchmarkResults r)
    {
        if (r.OnnxModel is not { } o)
        {
            return "";
        }

        var s = new StringBuilder();
        s.AppendLine("| # | Target | Measured | Met |");
        s.AppendLine("|---|---|---|---|");
        var best = o.Raw.MaxBy(x => x.TextsPerSecond);
        foreach (var run in o.Pipeline.Where(_ => best is not null))
        {
            var ratio = run.ChunksPerSecond / best!.TextsPerSecond;
            s.AppendLine(I($"| 7.1 | pipeline ≥ 90% of raw ONNX Runtime on the same texts ({run.Workers} worker{(run.Workers == 1 ? "" : "s")}) | {ratio:P0} ({run.ChunksPerSecond:F1} / {best.TextsPerSecond:F1} chunks/s, raw at {best.Callers} callers) | {Met(ratio >= ThroughputTarget)} |"));
        }

        var session = o.Raw.FirstOrDefault(x => x.Callers == o.ConcurrencyLimit) ?? o.Raw.LastOrDefault();
        if (session is not null && o.WorkerPeakRssMiB.Count > 0)
        {
            var worker = o.WorkerPeakRssMiB.Values.Max();
            s.AppendLine(I($"| 7.2 | worker peak RSS ≤ 150 MB above the raw process's ({session.Callers} callers, one session) | {worker - session.PeakRssMiB:F0} MiB above ({worker:F0} vs {session.PeakRssMiB:F0} MiB) | {Met(worker - session.PeakRssMiB <= MemoryAboveSessionTarget)} |"));
        }

        if (o is { Api: { } api, Sql: { } sql, QueryEmbedding: { } embed })
        {
            var ratio = api.P50 / (sql.P50 + embed.P50);
            s.AppendLine(I($"| 7.3 | `POST /search` p50 ≤ 1.2 × (SQL p50 + query embedding p50), {o.SearchChunks:N0} chunks | {ratio:F2}× ({api.P50:F2} ms vs {sql.P50:F2} + {embed.P50:F2} ms) | {Met(ratio <= SearchTarget)} |"));
        }

        if (o.QueryEmbedding10Words is { Count: > 0 } ten)
        {
            s.AppendLine(I($"| 7.4 | query embedding p50 of a 10-word question (no target) | {ten.P50:F2} ms (p95 {ten.P95:F2} ms, {ten.Count} questions) | — |"));
        }

        if (o.Hnsw.FirstOrDefault(h => h.EfSearch == SearchBenchmark.EfSearch) is { } current)
        {
            s.AppendLine(I($"| 7.5 | default search (m {current.M}, ef_construction {current.EfConstruction}, ef_search {current.EfSearch}) returns ≥ 0.95 of the exact top 10 | {current.WordRecallAt10:F3} (questions), {current.PassageRecallAt10:F3} (passages) | {Met(Math.Min(current.WordRecallAt10, current.PassageRecallAt10) >= RecallTarget)} |"));
        }

        return s.ToString();
    }

    // Where each run's CPU went: per process, against the cores × seconds the run had and the raw process's CPU for the same texts.
    private static void AppendCpu(StringBuilder s, OnnxModelResult o)
    {
        var runs = o.Pipeline.Where(p => p.CpuSeconds is { Count: > 0 }).ToList();
        var raw = o.Raw.Where(x => !double.IsNaN(x.CpuSeconds)).ToList();
        if (runs.Count == 0 || raw.Count == 0)
        {
            return;
        }

        var cores = Environment.ProcessorCount;
        var rawCpu = raw.Min(x => x.CpuSeconds);
        s.AppendLine();
        s.AppendLine(I($"CPU seconds of each measured run, per process (`/proc/{{pid}}/stat`, user + system), next to what the run had ({cores} cores × its"));
        s.AppendLine(I($"seconds) and to the raw process's CPU for the same texts (the least of its runs: {rawCpu:F1} s). The workers' column holds the"));
        s.AppendLine("model's runs; what the other columns and the idle share add is what the pipeline costs beyond the model on these cores.");
        s.AppendLine();
        var names = runs.SelectMany(r => r.CpuSeconds!.Keys).Distinct().ToList();
        s.AppendLine("| Run | " + string.Join(" | ", names) + " | all | cores × seconds | idle | workers / raw |");
        s.AppendLine("|---|" + string.Concat(names.Select(_ => "---|")) + "---|---|---|---|");
        foreach (var run in runs)
        {
            var cpu = run.CpuSeconds!;
            var all = cpu.Values.Sum();
            var capacity = cores * run.Seconds;
            var workers = cpu.GetValueOrDefault("embed-worker");
            s.AppendLine(I($"| {run.Workers} worker{(run.Workers == 1 ? "" : "s")} | ") + string.Join(" | ", names.Select(n => I($"{cpu.GetValueOrDefault(n):F1}")))
                + I($" | {all:F1} | {capacity:F1} | {Math.Max(0, capacity - all) / capacity:P0} | {workers / rawCpu:P0} |"));
        }
    }

    /// <summary>The whole page.</summary>
    public static string Render(BenchmarkResults r)
    {
        var o = r.OnnxModel ?? throw new ArgumentException("Part 7 did not run.", nameof(r));
        var s = new StringBuilder();
        s.AppendLine("# Benchmarks: the built-in model");
        s.AppendLine();
        s.AppendLine(I($"Part 7 of `bench/run.sh` (the other parts: [benchmarks.md](benchmarks.md)). The default embedder, {o.Model} run in-process by ONNX"));
        s.AppendLine("Runtime, against the limit the hardware sets: raw ONNX Runtime on the very texts the pipeline embedded, with the same");
        s.AppendLine(I($"session settings ({o.IntraOpThreads} intra-op thread, runs of {o.RunBatchSize} texts of similar length, batches of {o.BatchMessageLimit}), measured in the same run."));
        s.AppendLine("Written by the benchmark program; do not edit by hand: the notes at the end come from `bench/onnx-notes.md`.");
        s.AppendLine();
        s.AppendLine("```bash");
        s.AppendLine("bench/run.sh --parts onnx          # this page alone: 15 min measured on 2 cores, 3.4 min when the corpus vectors are cached");
        s.AppendLine("```");
        s.AppendLine();
        MarkdownReport.RunAndMachine(s, r);
        s.AppendLine("## Targets");
        s.AppendLine();
        s.Append(Summary(r));
        s.AppendLine();
        s.AppendLine("## 7.1 Throughput against raw ONNX Runtime");
        s.AppendLine();
        s.AppendLine(I($"{o.Documents} sample documents (pgai Markdown files and SQuAD paragraphs, interleaved) make {o.Chunks} chunks of {o.MeanTokens:F0} word pieces on average."));
        s.AppendLine(I($"Pipeline: from the first `POST /documents` to the last vector stored, after a warm-up on the first {OnnxModelBenchmark.WarmupDocuments} of them (the store emptied before and after it). Raw: the same"));
        s.AppendLine("texts, in id order, embedded in a process of its own that loads the same session and does nothing else, by 1, 2 and 4");
        s.AppendLine("callers at once (one worker embeds up to `Embedding:ConcurrencyLimit` = " + o.ConcurrencyLimit.ToString(CultureInfo.InvariantCulture) + " batches at once). The ratio is");
        s.AppendLine("to the best raw rate: what the cores allow. As under the AppHost, the workers of a run are started for it and each runs");
        s.AppendLine("the model on its share of the cores (`Embedding:Onnx:MaxConcurrentRuns` = cores / workers).");
        s.AppendLine();
        s.AppendLine("| Run | Chunks | Seconds | Chunks/s | Ratio to the best raw rate | Peak RSS |");
        s.AppendLine("|---|---|---|---|---|---|");
        var best = o.Raw.Count == 0 ? double.NaN : o.Raw.Max(x => x.TextsPerSecond);
        foreach (var run in o.Pipeline)
        {
            var rss = o.WorkerPeakRssMiB.Where(p => p.Key.StartsWith(OnnxModelBenchmark.WorkerRssKey(run.Workers, ""), StringComparison.Ordinal)).Select(p => p.Value).DefaultIfEmpty(double.NaN).Max();
            s.AppendLine(I($"| pipeline, {run.Workers} worker{(run.Workers == 1 ? "" : "s")} | {run.Chunks} | {run.Seconds:F1} | {run.ChunksPerSecond:F1} | {run.ChunksPerSecond / best:P0} | {rss:F0} MiB (worker) |"));
        }

        foreach (var raw in o.Raw)
        {
            s.AppendLine(I($"| raw ONNX Runtime, {raw.Callers} caller{(raw.Callers == 1 ? "" : "s")} | {raw.Texts} | {raw.Seconds:F1} | {raw.TextsPerSecond:F1} | {raw.TextsPerSecond / best:P0} | {raw.PeakRssMiB:F0} MiB ({raw.RssBeforeLoadMiB:F0} before the model) |"));
        }

        AppendCpu(s, o);
        s.AppendLine();
        s.AppendLine("## 7.2 Search with the query embedded in Search.Api");
        s.AppendLine();
        s.AppendLine(I($"{o.SearchChunks:N0} chunks: runs of 1 to 10 consecutive sentences of the same documents (up to 200 words), embedded by the model{(o.CorpusEmbedSeconds > 0 ? I($" in {o.CorpusEmbedSeconds:F0} s") : " (vectors from the cache)")},"));
        s.AppendLine(I($"loaded by COPY, HNSW built after the load. One client, {o.Api?.Count ?? 0} SQuAD questions in turn, top 10, ef_search {SearchBenchmark.EfSearch};"));
        s.AppendLine("the paths below run interleaved, question by question in rotating order, so that each sees the same machine.");
        s.AppendLine();
        s.AppendLine("| Path | p50 ms | p95 ms | p99 ms |");
        s.AppendLine("|---|---|---|---|");
        foreach (var (name, latency) in new[] { ("`POST /search`, vector mode (query embedding in Search.Api, SQL, JSON)", o.Api), ("SQL alone (query vector precomputed)", o.Sql), ("SQL as Search.Api runs it (confined to the default tenant)", o.SqlTenant), ("query embedding alone, in-process (query prefix included)", o.QueryEmbedding), ("query embedding of a 10-word question", o.QueryEmbedding10Words) })
        {
            if (latency is { Count: > 0 })
            {
                s.AppendLine(I($"| {name} | {latency.P50:F2} | {latency.P95:F2} | {latency.P99:F2} |"));
            }
        }

        foreach (var (phase, latency) in o.ApiPhases ?? [])
        {
            s.AppendLine(I($"| inside `POST /search` (its `Server-Timing`): {phase} | {latency.P50:F2} | {latency.P95:F2} | {latency.P99:F2} |"));
        }

        if (o.ApiRoundTrip is { Count: > 0 } roundTrip)
        {
            s.AppendLine(I($"| `GET /alive` (the HTTP round trip alone) | {roundTrip.P50:F2} | {roundTrip.P95:F2} | {roundTrip.P99:F2} |"));
        }

        s.AppendLine();
        if (o.ApiPhases is { Count: > 0 })
        {
            s.AppendLine("Inside `POST /search`, `model` (reading the active model) runs while the query is embedded (`embed`), so the two overlap;");
            s.AppendLine("what the phases leave of the p50 is HTTP, JSON, authentication and the rate limiter.");
            s.AppendLine();
        }

        s.AppendLine(I($"Search.Api peak RSS: {o.SearchPeakRssMiB:F0} MiB."));
        s.AppendLine();
        s.AppendLine("## 7.3 HNSW recall on the model's vectors");
        s.AppendLine();
        s.AppendLine(I($"Recall@10 against an exact scan on the same {o.SearchChunks:N0} vectors, for {o.RecallQueries} SQuAD questions and as many passage queries"));
        s.AppendLine("(12 consecutive words of a stored chunk), both with the query prefix; ties within 1e-6 of the 10th exact score count");
        s.AppendLine("as hits. SQL p50 at one client. Compare part 6 of [benchmarks.md](benchmarks.md) (hashing vectors).");
        s.AppendLine();
        s.AppendLine("| m | ef_construction | Build s | Index MiB | ef_search | Recall@10, questions | Recall@10, passages | SQL p50 ms | COPY rows/s with this index |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var h in o.Hnsw)
        {
            s.AppendLine(I($"| {h.M} | {h.EfConstruction} | {(double.IsNaN(h.BuildSeconds) ? "in place" : h.BuildSeconds.ToString("F1", CultureInfo.InvariantCulture))} | {h.IndexMiB:F1} | {h.EfSearch} | {h.WordRecallAt10:F3} | {h.PassageRecallAt10:F3} | {h.SqlP50Ms:F2} | {h.InsertRowsPerSecond:F0} |"));
        }

        s.AppendLine();
        var notes = Path.Combine(VectorPipeline.TestServers.RepositoryPaths.Root, "bench", "onnx-notes.md");
        if (File.Exists(notes))
        {
            s.AppendLine(File.ReadAllText(notes).TrimEnd());
            s.AppendLine();
        }

        return s.ToString();
    }

    private static string Met(bool met) => MarkdownReport.Met(met);

    private static string I(FormattableString value) => MarkdownReport.I(value);
}
