using System.Collections.Concurrent;
using System.Diagnostics;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>Entry point: parse, read the set, ingest, search every mode, report.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        EvalOptions options;
        try
        {
            options = EvalOptions.Parse(args);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}{Environment.NewLine}{Environment.NewLine}{EvalOptions.Usage}");
            return 2;
        }

        if (options.Help)
        {
            await Console.Out.WriteLineAsync(EvalOptions.Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            return await RunAsync(options, Console.Out, Console.Error, cancel.Token);
        }
        catch (Exception ex) when (ex is EvalException or DataFileException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("cancelled");
            return 130;
        }
    }

    private static async Task<int> RunAsync(EvalOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        var set = LabelledSetReader.Load(options.DataPath);
        await progress.WriteLineAsync($"{options.DataPath}: {set.Documents.Count} documents, {set.Questions.Count} questions");
        if (set.Documents.Count == 0 && !options.SkipIngest)
        {
            throw new EvalException($"{options.DataPath} holds no documents to post; add document lines, or pass --skip-ingest when they are already ingested");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var client = new PipelineClient(http, options, progress);
        if (!options.SkipIngest)
        {
            await client.CheckReachableAsync("Ingest.Api", "--ingest", options.Ingest, cancellationToken);
        }

        await client.CheckReachableAsync("Search.Api", "--search", options.Search, cancellationToken);

        if (!options.SkipIngest)
        {
            await client.PostDocumentsAsync(set.Documents, cancellationToken);
            await client.WaitUntilReadyAsync(set.Documents, cancellationToken);
        }

        var models = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        if (options.HnswRecall)
        {
            IReadOnlyList<HnswRecallResult> recall;
            try
            {
                recall = await HnswRecall.MeasureAsync(client, set.Questions, options.Parallel, models, progress, cancellationToken);
            }
            catch (SearchRefusedException ex)
            {
                throw new EvalException($"HNSW recall not measured (does the running Search.Api support \"exact\": true?): {ex.Message}");
            }

            await WriteReportAsync(HnswRecall.Markdown(recall, models.Keys.ToList(), options.DataPath, set.Documents.Count, set.Questions.Count, DateTimeOffset.UtcNow),
                options, output, progress, cancellationToken);
            return 0;
        }

        var results = new List<ModeResult>();
        foreach (var mode in options.Modes)
        {
            var result = await EvaluateModeAsync(client, mode, set.Questions, options.Parallel, models, progress, cancellationToken);
            results.Add(result);
        }

        var report = Report.Markdown(results, models.Keys.ToList(), options.DataPath, set.Documents.Count, set.Questions.Count, options.EfSearch, DateTimeOffset.UtcNow);
        await WriteReportAsync(report, options, output, progress, cancellationToken);
        return results.All(r => r.Metrics is not null) ? 0 : 1;
    }

    private static async Task WriteReportAsync(string report, EvalOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync();
        await output.WriteAsync(report);
        if (options.Output is { } file)
        {
            if (Path.GetDirectoryName(Path.GetFullPath(file)) is { } folder)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(file, report, cancellationToken);
            await progress.WriteLineAsync($"report written to {file}");
        }
    }

    // The first question is asked alone: a mode the running build refuses gives one 400 and one message, not one per question.
    private static async Task<ModeResult> EvaluateModeAsync(PipelineClient client, string mode, IReadOnlyList<EvalQuestion> questions, int parallel,
        ConcurrentDictionary<string, bool> models, TextWriter progress, CancellationToken cancellationToken)
    {
        await progress.WriteLineAsync($"{mode}: asking {questions.Count} questions");
        var clock = Stopwatch.StartNew();
        var ranks = new int?[questions.Count];
        async ValueTask AskAsync(int index, CancellationToken ct)
        {
            var question = questions[index];
            var answer = await client.SearchAsync(question.Question, mode, ct);
            if (answer.Model is { } model)
            {
                models.TryAdd(model, true);
            }

            ranks[index] = RetrievalMetrics.FirstRelevantRank(answer.DocumentIds, question.DocumentIds.ToHashSet(StringComparer.Ordinal));
        }

        try
        {
            await AskAsync(0, cancellationToken);
            await Parallel.ForEachAsync(Enumerable.Range(1, questions.Count - 1),
                new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, AskAsync);
        }
        catch (Exception ex) when (ex is SearchRefusedException or EvalException)
        {
            await progress.WriteLineAsync($"{mode}: not measured: {ex.Message}");
            return new ModeResult(mode, null, ex.Message);
        }

        var metrics = RetrievalMetrics.Compute(ranks);
        await progress.WriteLineAsync($"{mode}: {questions.Count} questions in {clock.Elapsed.TotalSeconds:F1} s ({questions.Count / clock.Elapsed.TotalSeconds:F0}/s)");
        return new ModeResult(mode, metrics, null);
    }
}
