namespace VectorPipeline.Benchmarks;

/// <summary>Latency summary computed from raw samples (milliseconds), nearest-rank percentiles.</summary>
public sealed record LatencySummary(int Count, double P50, double P95, double P99, double Mean, double Max)
{
    /// <summary>Summarises raw samples in milliseconds.</summary>
    public static LatencySummary From(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = samples.Order().ToArray();
        return new LatencySummary(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 95), Percentile(sorted, 99), sorted.Average(), sorted[^1]);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    public static double Percentile(double[] sorted, double percent)
    {
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
