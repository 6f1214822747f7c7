using System.Globalization;
using System.Text;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>What one mode gave: metrics, or why it could not be measured.</summary>
internal sealed record ModeResult(string Mode, ModeMetrics? Metrics, string? Error);

/// <summary>The Markdown report.</summary>
internal static class Report
{
    /// <summary>
    /// The table <c>| mode | questions | recall@1 | recall@5 | recall@10 | MRR@10 |</c> (3 decimals), a line
    /// for each mode that could not be measured, and a line with the model, data file, set size, ef_search and date.
    /// </summary>
    internal static string Markdown(IReadOnlyList<ModeResult> results, IReadOnlyCollection<string> models, string dataPath,
        int documents, int questions, int? efSearch, DateTimeOffset date)
    {
        var text = new StringBuilder();
        text.AppendLine("| mode | questions | recall@1 | recall@5 | recall@10 | MRR@10 |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var result in results)
        {
            text.AppendLine(result.Metrics is { } m
                ? Invariant($"| {result.Mode} | {m.Questions} | {m.RecallAt1:F3} | {m.RecallAt5:F3} | {m.RecallAt10:F3} | {m.MrrAt10:F3} |")
                : $"| {result.Mode} | – | – | – | – | – |");
        }

        text.AppendLine();
        foreach (var failed in results.Where(r => r.Error is not null))
        {
            text.AppendLine($"- {failed.Mode}: not measured: {failed.Error}");
        }

        if (results.Any(r => r.Error is not null))
        {
            text.AppendLine();
        }

        var model = models.Count == 0 ? "none named by the answers (keyword search embeds nothing)" : string.Join(", ", models.Order(StringComparer.Ordinal));
        text.AppendLine(Invariant($"Model: {model}; data: {dataPath} ({documents} documents, {questions} questions); top 10 chunks per question; ef_search: {(efSearch is { } ef ? ef.ToString(CultureInfo.InvariantCulture) : "server default")}; date: {date.UtcDateTime:yyyy-MM-dd HH:mm} UTC."));
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
