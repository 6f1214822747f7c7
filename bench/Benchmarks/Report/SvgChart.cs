using System.Globalization;
using System.Text;

namespace VectorPipeline.Benchmarks.Report;

/// <summary>
/// Draws <c>docs/benchmarks-throughput.svg</c> by hand (lines, bars, axes, legend; no packages): left, pipeline
/// throughput against batch size for each worker count with the simulated model server's capacity; right, ingest
/// throughput with the hashing embedder per worker count next to the same-run COPY and RabbitMQ baselines.
/// </summary>
public static class SvgChart
{
    private static readonly string[] Colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

    /// <summary>The SVG document.</summary>
    public static string Throughput(BenchmarkResults results)
    {
        const int width = 960, height = 400;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""").AppendLine();
        svg.AppendLine("""<rect width="100%" height="100%" fill="white"/>""");
        ModelPanel(svg, results.ModelBound, 60, 40, 400, 290);
        IngestPanel(svg, results.Ingest, 560, 40, 360, 290);
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void ModelPanel(StringBuilder svg, ModelBoundResult? model, double x0, double y0, double w, double h)
    {
        Title(svg, x0, y0, "Model-bound: chunks/s vs batch size (simulated model server)");
        if (model is null || model.Runs.Count == 0)
        {
            Text(svg, x0 + (w / 2), y0 + (h / 2), "not run", "middle");
            return;
        }

        var batches = model.Runs.Select(r => r.BatchSize).Distinct().Order().ToList();
        var yMax = NiceMax(model.Runs.Max(r => Math.Max(r.ChunksPerSecond, r.CapacityPerSecond)));
        double X(int batch) => batches.Count == 1 ? x0 + (w / 2) : x0 + (w * batches.IndexOf(batch) / (batches.Count - 1));
        double Y(double value) => y0 + h - (h * value / yMax);
        Axes(svg, x0, y0, w, h, yMax, "chunks/s");
        foreach (var batch in batches)
        {
            Text(svg, X(batch), y0 + h + 16, batch.ToString(CultureInfo.InvariantCulture), "middle");
        }

        Text(svg, x0 + (w / 2), y0 + h + 34, "batch size (messages per batch = texts per request)", "middle");
        var capacity = batches.Select(b => (X(b), Y(model.Runs.First(r => r.BatchSize == b).CapacityPerSecond))).ToList();
        Polyline(svg, capacity, "#444", dashed: true);
        var legend = new List<(string Label, string Color, bool Dashed)> { ("server capacity", "#444", true) };
        var workers = model.Runs.Select(r => r.Workers).Distinct().Order().ToList();
        for (var i = 0; i < workers.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            var points = model.Runs.Where(r => r.Workers == workers[i]).OrderBy(r => r.BatchSize).Select(r => (X(r.BatchSize), Y(r.ChunksPerSecond))).ToList();
            Polyline(svg, points, color, dashed: false);
            legend.Add(($"{workers[i]} worker{(workers[i] == 1 ? "" : "s")}", color, false));
        }

        Legend(svg, x0 + 10, y0 + 10, legend);
    }

    private static void IngestPanel(StringBuilder svg, IngestResult? ingest, double x0, double y0, double w, double h)
    {
        Title(svg, x0, y0, "Ingest, hashing embedder: chunks/s vs workers");
        if (ingest is null || ingest.Runs.Count == 0)
        {
            Text(svg, x0 + (w / 2), y0 + (h / 2), "not run", "middle");
            return;
        }

        var bars = ingest.Runs.Select(r => ($"{r.Workers} worker{(r.Workers == 1 ? "" : "s")}", r.ChunksPerSecond, Colors[0])).ToList();
        bars.Add(("COPY", ingest.CopyRowsPerSecond, "#7f7f7f"));
        bars.Add(("COPY ×2", ingest.Copy2RowsPerSecond, "#7f7f7f"));
        bars.Add(("COPY+index", ingest.CopyThenIndexRowsPerSecond, "#bcbd22"));
        var yMax = NiceMax(bars.Max(b => b.Item2));
        Axes(svg, x0, y0, w, h, yMax, "chunks (rows)/s");
        var slot = w / bars.Count;
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value, color) = bars[i];
            var barHeight = h * value / yMax;
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x0 + (i * slot) + (slot * 0.15):F1}" y="{y0 + h - barHeight:F1}" width="{slot * 0.7:F1}" height="{barHeight:F1}" fill="{color}"/>""").AppendLine();
            Text(svg, x0 + (i * slot) + (slot / 2), y0 + h - barHeight - 4, value.ToString("F0", CultureInfo.InvariantCulture), "middle");
            Text(svg, x0 + (i * slot) + (slot / 2), y0 + h + 16, label, "middle");
        }

        Text(svg, x0 + (w / 2), y0 + h + 34,
            $"RabbitMQ alone: {ingest.RabbitMqMessagesPerSecond.ToString("F0", CultureInfo.InvariantCulture)} messages/s (off scale when larger)", "middle");
    }

    private static void Axes(StringBuilder svg, double x0, double y0, double w, double h, double yMax, string unit)
    {
        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="black"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="black"/>""").AppendLine();
        for (var i = 0; i <= 5; i++)
        {
            var value = yMax * i / 5;
            var y = y0 + h - (h * i / 5);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0 - 4}" y1="{y:F1}" x2="{x0 + w}" y2="{y:F1}" stroke="#ddd"/>""").AppendLine();
            Text(svg, x0 - 6, y + 4, value.ToString("F0", CultureInfo.InvariantCulture), "end");
        }

        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x0 - 45}" y="{y0 + (h / 2):F1}" transform="rotate(-90 {x0 - 45} {y0 + (h / 2):F1})" text-anchor="middle">{unit}</text>""").AppendLine();
    }

    private static void Polyline(StringBuilder svg, List<(double X, double Y)> points, string color, bool dashed)
    {
        var path = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:F1},{p.Y:F1}")));
        svg.Append(CultureInfo.InvariantCulture, $"""<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""").AppendLine();
        foreach (var (x, y) in points)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<circle cx="{x:F1}" cy="{y:F1}" r="3" fill="{color}"/>""").AppendLine();
        }
    }

    private static void Legend(StringBuilder svg, double x, double y, List<(string Label, string Color, bool Dashed)> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            var (label, color, dashed) = entries[i];
            var yy = y + (i * 16);
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x}" y1="{yy}" x2="{x + 24}" y2="{yy}" stroke="{color}" stroke-width="2"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""").AppendLine();
            Text(svg, x + 30, yy + 4, label, "start");
        }
    }

    private static void Title(StringBuilder svg, double x, double y, string title) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x}" y="{y - 16}" font-size="14" font-weight="bold">{Escape(title)}</text>""").AppendLine();

    private static void Text(StringBuilder svg, double x, double y, string text, string anchor) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x:F1}" y="{y:F1}" text-anchor="{anchor}">{Escape(text)}</text>""").AppendLine();

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static double NiceMax(double value)
    {
        if (value <= 0 || double.IsNaN(value))
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= value * 1.05)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }
}
