using System.Globalization;
using System.Text;

namespace VectorPipeline.Tools.Load;

/// <summary>An endpoint under load.</summary>
/// <param name="Name">As the tables name it (<c>POST /search</c>).</param>
/// <param name="Script">The wrk script (<c>search</c>, <c>documents</c>).</param>
/// <param name="Bodies">The file of request bodies the script sends.</param>
/// <param name="Success">The status of a success (200, 202).</param>
/// <param name="P99LimitMs">The p99 a held load stays under, ms.</param>
public sealed record Endpoint(string Name, string Script, string Bodies, int Success, double P99LimitMs);

/// <summary>One wrk run.</summary>
/// <param name="Endpoint">The endpoint's name.</param>
/// <param name="Phase"><c>step</c>, <c>hold</c>, <c>overload</c>, <c>recovery</c>, <c>memory</c>, <c>flood-baseline</c>, <c>flood-steady</c>, <c>flood</c>.</param>
/// <param name="Connections">wrk's connections: requests in flight at once.</param>
/// <param name="Seconds">Planned length.</param>
/// <param name="DocumentPrefix">Ids of the documents it posted start with this (ingest runs only).</param>
/// <param name="Result">What wrk measured.</param>
public sealed record LoadRun(string Endpoint, string Phase, int Connections, double Seconds, string? DocumentPrefix, WrkResult Result);

/// <summary>Memory of one process tree over the memory run, sampled each minute.</summary>
/// <param name="Process">The name (a service, <c>postgres</c>, <c>rabbitmq</c>).</param>
/// <param name="SamplesMiB">PSS at minute 0, 1, 2, ..., MiB.</param>
/// <param name="SlopeMiBPerMinute">Least-squares slope of the samples after the warm-up, MiB per minute.</param>
public sealed record MemorySeries(string Process, List<double> SamplesMiB, double SlopeMiBPerMinute)
{
    /// <summary>The first sample.</summary>
    public double StartMiB => SamplesMiB.FirstOrDefault();

    /// <summary>The last sample.</summary>
    public double EndMiB => SamplesMiB.LastOrDefault();

    /// <summary>The series with its slope over the samples from minute <paramref name="warmUpMinutes"/> on (all of them when fewer than 3 are left).</summary>
    public static MemorySeries From(string process, List<double> samples, int warmUpMinutes)
    {
        var points = samples.Select((value, minute) => (X: (double)minute, Y: value)).ToList();
        var steady = points.Skip(warmUpMinutes).ToList();
        if (steady.Count < 3)
        {
            steady = points;
        }

        double slope = 0;
        if (steady.Count >= 2)
        {
            var meanX = steady.Average(p => p.X);
            var meanY = steady.Average(p => p.Y);
            var spread = steady.Sum(p => (p.X - meanX) * (p.X - meanX));
            slope = spread == 0 ? 0 : steady.Sum(p => (p.X - meanX) * (p.Y - meanY)) / spread;
        }

        return new MemorySeries(process, [.. samples.Select(s => Math.Round(s, 1))], Math.Round(slope, 3));
    }
}

/// <summary>The documents the ingest runs posted, checked in the database after the load.</summary>
/// <param name="Accepted">Answered 202.</param>
/// <param name="Answered503">Answered 503 (refused under load, or stored and not queued).</param>
/// <param name="Stored">In the database.</param>
/// <param name="Waiting">Stored with a chunk still without a vector when the check ended.</param>
/// <param name="Failed">Stored with an embedding error.</param>
public sealed record DocumentCheck(long Accepted, long Answered503, long Stored, long Waiting, long Failed);

/// <summary>The rate limiter under a flood.</summary>
/// <param name="SteadyAlone">The steady key alone.</param>
/// <param name="SteadyBeside">The steady key during the flood.</param>
/// <param name="Flood">The flooding key.</param>
/// <param name="FloodConnections">Connections of the flooding key.</param>
public sealed record FloodResult(WrkResult SteadyAlone, WrkResult SteadyBeside, WrkResult Flood, int FloodConnections);

/// <summary>Everything one run of the load tool measured, and its Markdown tables.</summary>
public sealed class LoadReport
{
    /// <summary>When the run started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>The command line.</summary>
    public string Command { get; init; } = "";

    /// <summary>CPU and load average before and after.</summary>
    public Dictionary<string, string> Machine { get; init; } = [];

    /// <summary>Length of the run, minutes.</summary>
    public double DurationMinutes { get; set; }

    /// <summary>Every wrk run, in order.</summary>
    public List<LoadRun> Runs { get; init; } = [];

    /// <summary>The memory run's series, when it ran.</summary>
    public List<MemorySeries>? Memory { get; set; }

    /// <summary>The document check, when the ingest part ran.</summary>
    public DocumentCheck? Documents { get; set; }

    /// <summary>The flood, when it ran.</summary>
    public FloodResult? Flood { get; set; }

    /// <summary>Checks that failed (empty: all held).</summary>
    public List<string> Failures { get; set; } = [];

    /// <summary>The load table, the memory table and the flood result in Markdown.</summary>
    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Run {StartedAt:yyyy-MM-dd HH:mm} UTC, {DurationMinutes:F0} min, {Machine.GetValueOrDefault("CPU")}; load average before {Machine.GetValueOrDefault("Load average before")}, after {Machine.GetValueOrDefault("Load average after")}.");
        text.AppendLine();
        text.AppendLine("| Endpoint | Phase | Connections | Seconds | Requests/s | p50 ms | p95 ms | p99 ms | Answers | Socket errors, timeouts |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var run in Runs)
        {
            var r = run.Result;
            var answers = string.Join(", ", r.Statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}"));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {run.Endpoint} | {run.Phase} | {run.Connections} | {r.Seconds:F0} | {r.Throughput:F1} | {r.P50Ms:F1} | {r.P95Ms:F1} | {r.P99Ms:F1} | {answers} | {r.SocketErrors + r.Timeouts} |");
        }

        if (Memory is { Count: > 0 })
        {
            text.AppendLine();
            text.AppendLine("| Process (PSS of its tree) | Start MiB | Peak MiB | End MiB | Slope after warm-up, MiB/min |");
            text.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var series in Memory)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {series.Process} | {series.StartMiB:F0} | {series.SamplesMiB.Max():F0} | {series.EndMiB:F0} | {series.SlopeMiBPerMinute:+0.00;-0.00;0.00} |");
            }
        }

        if (Documents is { } d)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Documents: {d.Accepted} answered 202 and {d.Answered503} answered 503; {d.Stored} stored; {d.Waiting} still without a vector at the end, {d.Failed} with an embedding error.");
        }

        if (Flood is { } f)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Flood: the steady key's p99 {f.SteadyAlone.P99Ms:F1} ms alone and {f.SteadyBeside.P99Ms:F1} ms beside {f.FloodConnections} connections of another key ({f.SteadyBeside.P99Ms / Math.Max(0.001, f.SteadyAlone.P99Ms):F2}x); the flooding key got {f.Flood.Count(429)} of {f.Flood.Requests} answers 429.");
        }

        text.AppendLine();
        text.AppendLine(Failures.Count == 0 ? "Every check held." : "Failed: " + string.Join("; ", Failures));
        return text.ToString();
    }
}
