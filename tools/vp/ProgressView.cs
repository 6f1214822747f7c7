using System.Globalization;
using Spectre.Console;

namespace VectorPipeline.Cli;

/// <summary>
/// Shows an ingest run's progress: a live Spectre.Console progress display (files sent, chunks embedded, rate,
/// ETA) on an interactive terminal; otherwise (redirected output, CI) a plain line every two seconds.
/// </summary>
public static class ProgressView
{
    /// <summary>Runs <paramref name="run"/>, rendering each progress report it makes.</summary>
    public static async Task<IngestSummary> RunAsync(int files, Func<Action<IngestProgress>, Task<IngestSummary>> run)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            var last = DateTime.MinValue;
            return await run(p =>
            {
                if (DateTime.UtcNow - last >= TimeSpan.FromSeconds(2))
                {
                    last = DateTime.UtcNow;
                    Console.WriteLine(Line(p));
                }
            });
        }

        IngestSummary? summary = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var sending = context.AddTask("Files sent", maxValue: Math.Max(files, 1));
                var embedding = context.AddTask("Chunks embedded", maxValue: 1);
                summary = await run(p =>
                {
                    sending.Value = p.FilesSent + p.FilesRejected;
                    embedding.MaxValue = Math.Max(p.ChunksQueued, 1);
                    embedding.Value = p.ChunksEmbedded + p.ChunksFailed;
                    embedding.Description = string.Create(CultureInfo.InvariantCulture,
                        $"Chunks embedded {p.ChunksEmbedded}/{p.ChunksQueued}, {p.Rate:F0}/s, ETA {(p.Eta is { } eta ? $"{eta.TotalSeconds:F0} s" : "-")}");
                });
            });
        return summary!;
    }

    /// <summary>One plain progress line.</summary>
    public static string Line(IngestProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"files {p.FilesSent + p.FilesRejected}/{p.Files} sent ({p.FilesRejected} rejected); documents {p.DocumentsReady}/{p.Documents} ready, {p.DocumentsFailed} failed; " +
        $"chunks {p.ChunksEmbedded}/{p.ChunksQueued} embedded, {p.ChunksFailed} failed; {p.Rate:F1} chunks/s; ETA {(p.Eta is { } eta ? $"{eta.TotalSeconds:F0} s" : "-")}");

    /// <summary>
    /// What happened to the chunks: embedded in this run, and unchanged ones (sent again with the same text: they keep
    /// their embeddings, nothing is embedded), e.g. <c>0 chunks embedded, 406 chunks unchanged (already embedded, not embedded again), 12 documents unchanged</c>.
    /// </summary>
    public static string Chunks(IngestProgress p) => p.ChunksUnchanged == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{p.ChunksEmbedded} chunks embedded")
        : string.Create(CultureInfo.InvariantCulture,
            $"{p.ChunksEmbedded} chunks embedded, {p.ChunksUnchanged} chunks unchanged (already embedded, not embedded again){(p.DocumentsUnchanged > 0 ? $", {p.DocumentsUnchanged} documents unchanged" : "")}");

    /// <summary>Prints the final counts and every problem with its reason.</summary>
    public static void PrintSummary(IngestSummary summary)
    {
        var p = summary.Progress;
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]{p.DocumentsReady} of {p.Documents} documents ready[/], {p.DocumentsFailed} failed, {summary.Unfinished} not finished; {Chunks(p)}; {p.FilesRejected} files rejected; {p.Elapsed.TotalSeconds:F1} s");
        if (summary.Problems.Count > 0)
        {
            var table = new Table().AddColumns("File, line or document", "Reason").Title("Problems");
            foreach (var (item, reason) in summary.Problems)
            {
                table.AddRow(Markup.Escape(item), Markup.Escape(reason));
            }

            AnsiConsole.Write(table);
        }
    }
}
