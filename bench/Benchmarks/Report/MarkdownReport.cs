using System.Globalization;
using System.Text;
using VectorPipeline.TestServers;

namespace VectorPipeline.Benchmarks.Report;

/// <summary>Renders <c>docs/benchmarks.md</c> (and the console summary) from <see cref="BenchmarkResults"/>.</summary>
public static class MarkdownReport
{
    /// <summary>Target of part 1: pipeline rate / COPY-into-indexed-table rate.</summary>
    public const double IngestTarget = 0.70;

    /// <summary>Target of part 1: pipeline CPU seconds per chunk (every process) / the one-connection COPY's, at most.</summary>
    public const double IngestCpuTarget = 1.5;

    /// <summary>Target of part 2: pipeline rate / model server capacity, for large enough batches and workers.</summary>
    public const double ModelTarget = 0.90;

    /// <summary>Target of part 3: API p50 / (SQL p50 + query embedding p50) at one client, at most.</summary>
    public const double SearchTarget = 1.5;

    /// <summary>Target of part 4: worker peak RSS, MiB, below.</summary>
    public const double WorkerMemoryTarget = 250;

    /// <summary>The targets next to the measured ratios, as a Markdown table.</summary>
    public static string Summary(BenchmarkResults r)
    {
        var s = new StringBuilder();
        s.AppendLine("| # | Target | Measured | Met |");
        s.AppendLine("|---|---|---|---|");
        if (r.Ingest is { Runs.Count: > 0 } ingest)
        {
            foreach (var run in ingest.Runs)
            {
                var ratio = run.ChunksPerSecond / ingest.CopyRowsPerSecond;
                s.AppendLine(I($"| 1 | pipeline ≥ 70% of COPY into the indexed table ({run.Workers} worker{(run.Workers == 1 ? "" : "s")}) | {ratio:P0} ({run.ChunksPerSecond:F0} / {ingest.CopyRowsPerSecond:F0} chunks/s) | {Met(ratio >= IngestTarget)} |"));
            }
        }

        if (r.Ingest is { Runs.Count: > 0, CopyCpuSeconds.Count: > 0 } measured && CopyCpuPerThousand(measured) is > 0 and var copyCpu)
        {
            foreach (var run in measured.Runs.Where(x => x.CpuSeconds is { Count: > 0 }))
            {
                var cpu = CpuPerThousand(run);
                s.AppendLine(I($"| 1 | pipeline CPU per 1,000 chunks (all processes) ≤ 1.5 × COPY's ({run.Workers} worker{(run.Workers == 1 ? "" : "s")}) | {cpu / copyCpu:F2}× ({cpu:F2} vs {copyCpu:F2} CPU s) | {Met(cpu / copyCpu <= IngestCpuTarget)} |"));
            }
        }

        if (r.ModelBound is { Runs.Count: > 0 } model)
        {
            var large = model.Runs.Where(x => x.BatchSize >= 32 && x.Workers >= 2).ToList();
            var pick = large.Count > 0 ? large : model.Runs;
            var worst = pick.MinBy(x => x.Efficiency)!;
            var best = model.Runs.MaxBy(x => x.Efficiency)!;
            s.AppendLine(I($"| 2 | ≥ 90% of the model server's capacity once batches (≥ 32) and workers (≥ 2) are large enough | worst {worst.Efficiency:P0} (batch {worst.BatchSize}, {worst.Workers} workers), best {best.Efficiency:P0} (batch {best.BatchSize}, {best.Workers} workers) | {Met(worst.Efficiency >= ModelTarget)} |"));
        }

        if (r.Search is { Levels.Count: > 0 } search && search.QueryEmbedding is { } embed)
        {
            var one = search.Levels.First();
            var ratio = one.Api.P50 / (one.Sql.P50 + embed.P50);
            s.AppendLine(I($"| 3 | `POST /search` p50 ≤ 1.5 × (raw SQL p50 + query embedding p50) at 1 client, {search.Chunks:N0} chunks | {ratio:F2}× ({one.Api.P50:F2} ms vs {one.Sql.P50:F2} + {embed.P50:F3} ms) | {Met(ratio <= SearchTarget)} |"));
        }

        var workers = (r.Ingest?.PeakRssMiB ?? []).Concat(r.Search?.PeakRssMiB ?? []).Where(p => p.Key.Contains("worker", StringComparison.Ordinal)).ToList();
        if (workers.Count > 0)
        {
            var peak = workers.Max(p => p.Value);
            s.AppendLine(I($"| 4 | worker peak RSS < 250 MB during (1) and (3) | {peak:F0} MiB ({peak / WorkerMemoryTarget:P0} of the limit) | {Met(peak < WorkerMemoryTarget)} |"));
        }

        if (r.Growth.Count > 0)
        {
            var first = r.Growth[0];
            var last = r.Growth[^1];
            s.AppendLine(I($"| 5 | cost growth, {first.Chunks:N0} → {last.Chunks:N0} chunks (no target) | ingest {last.IngestChunksPerSecond / first.IngestChunksPerSecond:F2}×, search p50 {last.SearchP50Ms / first.SearchP50Ms:F2}× | — |"));
        }

        foreach (var error in r.Errors)
        {
            s.AppendLine(I($"| ! | part failed | {error.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal)} | no |"));
        }

        return s.ToString();
    }

    /// <summary>The whole page.</summary>
    public static string Render(BenchmarkResults r)
    {
        var s = new StringBuilder();
        s.AppendLine("# Benchmarks");
        s.AppendLine();
        s.AppendLine("How close the pipeline runs to what the hardware, the broker and the model allow. Every figure is a ratio to a");
        s.AppendLine("baseline measured **in the same run** on the same machine, because these machines are shared and noisy (other");
        s.AppendLine("test suites run beside the benchmark; the load average before and after is below). Absolute numbers are given too.");
        s.AppendLine("Written by `bench/run.sh` (the program `bench/Benchmarks`); do not edit by hand: the tuning notes come from");
        s.AppendLine("`bench/tuning.md`. Parts 1 to 6 measure the pipeline with the hashing embedder (its own overhead); part 7, the");
        s.AppendLine("built-in ONNX model against raw ONNX Runtime, is on its own page: [benchmarks-onnx.md](benchmarks-onnx.md).");
        s.AppendLine();
        s.AppendLine("## Reproduce");
        s.AppendLine();
        s.AppendLine("```bash");
        s.AppendLine("bench/run.sh                 # default sizes: parts 1-6 (about 20 min) and part 7 (15 min measured, 3.4 with cached vectors); writes this page and benchmarks-onnx.md");
        s.AppendLine("bench/run.sh --parts ingest,model,search   # this page only, under 20 minutes");
        s.AppendLine("bench/run.sh --size large    # adds the 1M-chunk corpus level: about 9 minutes more (20 in all on 2 cores)");
        s.AppendLine("bench/run.sh --size tiny --out /tmp/bench   # the CI smoke run, under a minute");
        s.AppendLine("```");
        s.AppendLine();
        RunAndMachine(s, r);
        s.AppendLine("## Targets");
        s.AppendLine();
        s.Append(Summary(r));
        s.AppendLine();
        s.AppendLine("![Throughput against batch size and worker count](benchmarks-throughput.svg)");
        s.AppendLine();
        Ingest(s, r.Ingest);
        Model(s, r.ModelBound);
        Search(s, r.Search);
        Memory(s, r);
        Growth(s, r.Growth);
        Sweep(s, r.HnswSweep, r.Search?.Chunks ?? r.Growth.LastOrDefault()?.Chunks ?? 0);
        var tuning = Path.Combine(RepositoryPaths.Root, "bench", "tuning.md");
        if (File.Exists(tuning))
        {
            s.AppendLine(File.ReadAllText(tuning).TrimEnd());
            s.AppendLine();
        }

        return s.ToString();
    }

    private static void Ingest(StringBuilder s, IngestResult? ingest)
    {
        s.AppendLine("## 1. Ingest throughput, hashing embedder");
        s.AppendLine();
        if (ingest is null)
        {
            s.AppendLine("Not run.").AppendLine();
            return;
        }

        s.AppendLine("Chunks per second from the first `POST /documents` to the last vector stored (documents of 10 paragraphs of about");
        s.AppendLine("850 characters, posted 4 at a time; default chunking and batch settings; the in-process hashing embedder, so the");
        s.AppendLine("figure is the pipeline's own overhead). Baselines on the very vectors the last run stored, into the same table with");
        s.AppendLine("its indexes (the model's partial HNSW index, m 16, ef_construction 64), emptied before each.");
        s.AppendLine();
        s.AppendLine("| Run | Chunks | Seconds | Chunks/s | Ratio to COPY |");
        s.AppendLine("|---|---|---|---|---|");
        foreach (var run in ingest.Runs)
        {
            s.AppendLine(I($"| pipeline, {run.Workers} worker{(run.Workers == 1 ? "" : "s")} | {run.Chunks} | {run.Seconds:F1} | {run.ChunksPerSecond:F0} | {run.ChunksPerSecond / ingest.CopyRowsPerSecond:P0} |"));
        }

        s.AppendLine(I($"| baseline: binary COPY into the indexed table, 1 connection | {ingest.BaselineRows} | | {ingest.CopyRowsPerSecond:F0} | 100% |"));
        s.AppendLine(I($"| baseline: binary COPY into the indexed table, 2 connections | {ingest.BaselineRows} | | {ingest.Copy2RowsPerSecond:F0} | {ingest.Copy2RowsPerSecond / ingest.CopyRowsPerSecond:P0} |"));
        s.AppendLine(I($"| baseline: INSERT, 64 statements per round trip | {ingest.BaselineRows} | | {ingest.InsertRowsPerSecond:F0} | {ingest.InsertRowsPerSecond / ingest.CopyRowsPerSecond:P0} |"));
        s.AppendLine(I($"| baseline: COPY without the vector index ({ingest.CopyThenIndexCopySeconds:F1} s), then build it ({ingest.CopyThenIndexBuildSeconds:F1} s) | {ingest.BaselineRows} | {ingest.CopyThenIndexCopySeconds + ingest.CopyThenIndexBuildSeconds:F1} | {ingest.CopyThenIndexRowsPerSecond:F0} | {ingest.CopyThenIndexRowsPerSecond / ingest.CopyRowsPerSecond:P0} |"));
        s.AppendLine(I($"| baseline: RabbitMQ publish (confirms, persistent) + consume (acks), 800-byte messages | {ingest.BaselineRows} | | {ingest.RabbitMqMessagesPerSecond:F0} msg/s | {ingest.RabbitMqMessagesPerSecond / ingest.CopyRowsPerSecond:P0} |"));
        s.AppendLine();
        if (ingest.CopyCpuSeconds.Count > 0)
        {
            var groups = ingest.Runs.SelectMany(x => x.CpuSeconds?.Keys ?? Enumerable.Empty<string>()).Concat(ingest.CopyCpuSeconds.Keys).Distinct().ToList();
            s.AppendLine("CPU seconds per 1,000 chunks, summed over every process of the pipeline (read from `/proc/{pid}/stat` before and after each");
            s.AppendLine("run: user + system time of each process tree, PostgreSQL backends and the Erlang VM included), against the one-connection");
            s.AppendLine("COPY (its client, the benchmark program, and PostgreSQL). A CPU figure moves less than a wall-clock ratio with how much of");
            s.AppendLine("the second core a machine lends.");
            s.AppendLine();
            s.AppendLine("| Run | " + string.Join(" | ", groups) + " | Total | Ratio to COPY |");
            s.AppendLine("|---|" + string.Concat(groups.Select(_ => "---|")) + "---|---|");
            var copyCpu = CopyCpuPerThousand(ingest);
            foreach (var run in ingest.Runs.Where(x => x.CpuSeconds is { Count: > 0 }))
            {
                var cells = groups.Select(g => run.CpuSeconds!.TryGetValue(g, out var v) ? I($"{v * 1000 / run.Chunks:F2}") : "");
                s.AppendLine(I($"| pipeline, {run.Workers} worker{(run.Workers == 1 ? "" : "s")} | {string.Join(" | ", cells)} | {CpuPerThousand(run):F2} | {CpuPerThousand(run) / copyCpu:F2}× |"));
            }

            var copyCells = groups.Select(g => ingest.CopyCpuSeconds.TryGetValue(g, out var v) ? I($"{v * 1000 / ingest.BaselineRows:F2}") : "");
            s.AppendLine(I($"| baseline: binary COPY, 1 connection | {string.Join(" | ", copyCells)} | {copyCpu:F2} | 1.00× |"));
            s.AppendLine();
        }

        if (ingest.Statements.Count > 0)
        {
            var last = ingest.Runs[^1];
            s.AppendLine(I($"Where PostgreSQL's time goes in the last pipeline run ({last.Chunks} chunks; pg_stat_statements, execution time, the benchmark's own polling included):"));
            s.AppendLine();
            s.AppendLine("| Statement | Calls | Rows | Total ms | ms per 1,000 chunks |");
            s.AppendLine("|---|---|---|---|---|");
            foreach (var statement in ingest.Statements)
            {
                s.AppendLine(I($"| `{statement.Query.Replace("|", "\\|", StringComparison.Ordinal)}` | {statement.Calls} | {statement.Rows} | {statement.TotalMs:F0} | {statement.TotalMs * 1000 / last.Chunks:F0} |"));
            }

            s.AppendLine();
        }

        var best = ingest.Runs.MaxBy(x => x.ChunksPerSecond)!;
        s.AppendLine(I($"The pipeline with {best.Workers} worker(s) runs at {best.ChunksPerSecond / ingest.CopyRowsPerSecond:P0} of one COPY stream into the indexed table and at {best.ChunksPerSecond / ingest.RabbitMqMessagesPerSecond:P0} of what RabbitMQ alone moves."));
        s.AppendLine();
    }

    private static void Model(StringBuilder s, ModelBoundResult? model)
    {
        s.AppendLine("## 2. Model-bound efficiency");
        s.AppendLine();
        if (model is null)
        {
            s.AppendLine("Not run.").AppendLine();
            return;
        }

        s.AppendLine(I($"A simulated model server on loopback (`http` provider) whose service time is a + b × n = {model.FixedMs:F0} ms + {model.PerTextMs:F0} ms × n for a request of n texts, at most {model.Parallel} requests at once (the rest queue). Its capacity at batch size n is therefore exactly {model.Parallel} × n / (a + b·n) texts/s. Each configuration sets `Embedding__BatchMessageLimit` = `Embedding__MaxBatchItems` = n (one batch, one request; `Embedding__ConcurrencyLimit` {(model.ConcurrencyLimit?.ToString(CultureInfo.InvariantCulture) ?? "at its default")}, prefetch = n × that) and ingests about {BenchmarkSize.Default.ModelSecondsPerConfig} seconds' worth of chunks at capacity (at least {ModelBoundBenchmark.MinRequestsPerSlot} full requests per server slot), timed from the first `POST /documents` to the last vector stored, so filling the first batch and storing the last count against the pipeline."));
        s.AppendLine();
        var workers = model.Runs.Select(x => x.Workers).Distinct().Order().ToList();
        s.AppendLine("| Batch size | Capacity (chunks/s) | " + string.Join(" | ", workers.Select(w => $"{w} worker{(w == 1 ? "" : "s")}: chunks/s (efficiency)")) + " |");
        s.AppendLine("|---|---|" + string.Concat(workers.Select(_ => "---|")));
        foreach (var batch in model.Runs.Select(x => x.BatchSize).Distinct().Order())
        {
            var runs = model.Runs.Where(x => x.BatchSize == batch).ToList();
            s.Append(I($"| {batch} | {runs[0].CapacityPerSecond:F0} |"));
            foreach (var w in workers)
            {
                var run = runs.FirstOrDefault(x => x.Workers == w);
                s.Append(run is null ? " |" : I($" {run.ChunksPerSecond:F0} ({run.Efficiency:P0}) |"));
            }

            s.AppendLine();
        }

        s.AppendLine();
    }

    private static void Search(StringBuilder s, SearchResult? search)
    {
        s.AppendLine("## 3. Search latency");
        s.AppendLine();
        if (search is null)
        {
            s.AppendLine("Not run.").AppendLine();
            return;
        }

        s.AppendLine(I($"{search.Chunks:N0} chunks ({BulkLoader.ChunkChars} characters, {SearchBenchmark.Topics:N0} topics, hashing embedder vectors, loaded by COPY, HNSW built after the load; see part 5 for load and build times). Closed-loop clients, each sending its next query when the last answered, after 100 warm-up queries; percentiles from raw samples. `POST /search` with `topK` 10 (Search.Api: active-model lookup, query embedding, the SQL, JSON) against the same SQL run directly through Npgsql (`ChunkSearch.SearchAsync`: `hnsw.ef_search = {SearchBenchmark.EfSearch}` set for the query and the top-k query, one batch, one round trip; runs before 2026-12-02 used `SET LOCAL` in a transaction, three round trips) with the query vector precomputed."));
        s.AppendLine();
        if (search.QueryEmbedding is { } embed)
        {
            s.AppendLine(I($"Query embedding alone (hashing embedder, in-process, {embed.Count} queries): p50 {embed.P50:F3} ms, p95 {embed.P95:F3} ms, p99 {embed.P99:F3} ms."));
            s.AppendLine();
        }

        s.AppendLine("| Clients | API p50 | API p95 | API p99 | API q/s | SQL p50 | SQL p95 | SQL p99 | SQL q/s | API / SQL p50 | API / SQL q/s |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var l in search.Levels)
        {
            s.AppendLine(I($"| {l.Clients} | {l.Api.P50:F2} ms | {l.Api.P95:F2} ms | {l.Api.P99:F2} ms | {l.ApiQps:F0} | {l.Sql.P50:F2} ms | {l.Sql.P95:F2} ms | {l.Sql.P99:F2} ms | {l.SqlQps:F0} | {l.Api.P50 / l.Sql.P50:F2}× | {l.ApiQps / l.SqlQps:P0} |"));
        }

        s.AppendLine();
    }

    private static void Memory(StringBuilder s, BenchmarkResults r)
    {
        s.AppendLine("## 4. Memory");
        s.AppendLine();
        s.AppendLine("Peak resident set size (`VmHWM` from `/proc/<pid>/status`) of each service process at the end of the part.");
        s.AppendLine();
        s.AppendLine("| Part | Process | Peak RSS (MiB) |");
        s.AppendLine("|---|---|---|");
        foreach (var (part, map) in new[] { ("1 ingest", r.Ingest?.PeakRssMiB), ("2 model-bound", r.ModelBound?.PeakRssMiB), ("3 search", r.Search?.PeakRssMiB) })
        {
            foreach (var (name, value) in (map ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                s.AppendLine(I($"| {part} | {name} | {value:F0} |"));
            }
        }

        s.AppendLine();
    }

    private static void Growth(StringBuilder s, List<GrowthLevel> growth)
    {
        s.AppendLine("## 5. Cost growth with the corpus");
        s.AppendLine();
        if (growth.Count == 0)
        {
            s.AppendLine("Not run.").AppendLine();
            return;
        }

        s.AppendLine("The corpus grows level by level: chunks and vectors are added by COPY with the vector and text indexes dropped,");
        s.AppendLine("then both are rebuilt over all rows (`maintenance_work_mem` 1 GB, 4 GB from 500k). At each level the services start");
        s.AppendLine("on it and measure search p50 at one client (API and SQL), HNSW recall@10 against an exact scan (ef_search 100;");
        s.AppendLine("see part 6 for the two query sets and how recall is counted), and the pipeline's ingest rate for new chunks");
        s.AppendLine("(2 workers, hashing embedder) into the indexed table.");
        s.AppendLine();
        s.AppendLine("| Chunks | Embed (client) | COPY | HNSW build | Text index | Ingest chunks/s (n) | Search p50 API | Search p50 SQL | Recall@10 word queries | Recall@10 passage queries |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var g in growth)
        {
            s.AppendLine(I($"| {g.Chunks:N0} | {g.EmbedSeconds:F1} s | {g.CopySeconds:F1} s | {g.HnswBuildSeconds:F1} s | {g.TextIndexSeconds:F1} s | {g.IngestChunksPerSecond:F0} ({g.IngestChunks}) | {g.SearchP50Ms:F2} ms | {g.SqlP50Ms:F2} ms | {g.RecallAt10:F3} | {g.PassageRecallAt10:F3} |"));
        }

        s.AppendLine();
    }

    private static void Sweep(StringBuilder s, List<HnswSweepRow> sweep, int chunks)
    {
        s.AppendLine("## 6. HNSW parameters: recall against latency and build cost");
        s.AppendLine();
        if (sweep.Count == 0)
        {
            s.AppendLine("Not run.").AppendLine();
            return;
        }

        s.AppendLine(I($"On the {chunks:N0}-chunk corpus of part 3, the model's index is rebuilt for each (m, ef_construction) and searched at"));
        s.AppendLine("each ef_search. Recall@10 is measured against an exact scan of the same rows, with two query sets: **word queries**");
        s.AppendLine("(2 to 6 words of one topic: short, far from every chunk, the hardest case for a graph index) and **passage queries**");
        s.AppendLine(I($"({SearchBenchmark.PassageWords} consecutive words from a stored chunk, as when a user quotes or paraphrases a passage). A returned chunk counts"));
        s.AppendLine("as a true neighbour when its score is at least the 10th exact score (ties within 1e-6 count, as in ann-benchmarks).");
        s.AppendLine(I($"The corpus has {SearchBenchmark.Topics:N0} topics; half of a chunk's words come from its topic's {SyntheticCorpus.TopicWords} words, half from the whole"));
        s.AppendLine("vocabulary. The hashing embedder hashes words and n-grams, so apart from shared words its vectors are spread nearly");
        s.AppendLine("uniformly over 384 dimensions, which is much harder for a graph index than the clustered vectors of a trained model:");
        s.AppendLine("read these recall figures as a floor and the table as the shape of the trade-off. SQL p50 at one client");
        s.AppendLine("with the word queries. Build time is blank for the index that was already in place. Insert rate: binary COPY of the");
        s.AppendLine("newest 1,000 rows back into the table with this index (in a transaction that is rolled back), what each new chunk");
        s.AppendLine("costs the pipeline's writes.");
        s.AppendLine();
        s.AppendLine("| m | ef_construction | Build | Index size | Insert rows/s | ef_search | Recall@10 word queries | Recall@10 passage queries | SQL p50 |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in sweep)
        {
            var build = double.IsNaN(row.BuildSeconds) ? "" : I($"{row.BuildSeconds:F1} s");
            var insert = double.IsNaN(row.InsertRowsPerSecond) ? "" : I($"{row.InsertRowsPerSecond:F0}");
            s.AppendLine(I($"| {row.M} | {row.EfConstruction} | {build} | {row.IndexMiB:F0} MiB | {insert} | {row.EfSearch} | {row.WordRecallAt10:F3} | {row.PassageRecallAt10:F3} | {row.SqlP50Ms:F2} ms |"));
        }

        s.AppendLine();
    }

    private static double CpuPerThousand(IngestRun run) => run.CpuSeconds!.Values.Sum() * 1000 / run.Chunks;

    private static double CopyCpuPerThousand(IngestResult ingest) => ingest.CopyCpuSeconds.Values.Sum() * 1000 / Math.Max(1, ingest.BaselineRows);

    /// <summary>The run's command, size, start and duration, and the machine table (shared by both pages).</summary>
    internal static void RunAndMachine(StringBuilder s, BenchmarkResults r)
    {
        s.AppendLine(I($"This run: `{r.Command}` (size `{r.Size}`), started {r.StartedAt:yyyy-MM-dd HH:mm} UTC, took {r.DurationSeconds / 60:F1} min."));
        s.AppendLine();
        s.AppendLine("| Machine | |");
        s.AppendLine("|---|---|");
        foreach (var (key, value) in r.Machine)
        {
            s.AppendLine($"| {key} | {value} |");
        }

        s.AppendLine();
    }

    /// <summary>A target's verdict cell.</summary>
    internal static string Met(bool met) => met ? "yes" : "**no**";

    /// <summary>Formats with the invariant culture.</summary>
    internal static string I(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
