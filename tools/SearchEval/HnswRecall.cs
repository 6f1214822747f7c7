using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>Mean recall@10 of vector search at one <c>ef_search</c>, against the exact top-10.</summary>
/// <param name="EfSearch">The HNSW <c>ef_search</c> sent with every search.</param>
/// <param name="Recall">Mean over questions of |approximate top-10 ∩ exact top-10| / |exact top-10|, 0..1.</param>
internal sealed record HnswRecallResult(int EfSearch, double Recall);

/// <summary>
/// How much of the exact nearest-neighbour answer the HNSW index returns: for every question, the top-10
/// chunk ids of vector search at each <c>ef_search</c> are compared with the top-10 of an exact scan
/// (<c>"exact": true</c>). Only chunk ids count, not documents or order.
/// </summary>
internal static class HnswRecall
{
    /// <summary>The <c>ef_search</c> values measured: pgvector's default (40) and this project's (100).</summary>
    internal static readonly IReadOnlyList<int> EfSearchValues = [40, 100];

    /// <summary>
    /// |<paramref name="approximate"/> ∩ <paramref name="exact"/>| / |<paramref name="exact"/>| over distinct chunk
    /// ids, 0..1; 1 when the exact list is empty (nothing to find, nothing missed).
    /// </summary>
    internal static double RecallAgainstExact(IReadOnlyCollection<long> approximate, IReadOnlyCollection<long> exact)
    {
        var truth = exact.ToHashSet();
        return truth.Count == 0 ? 1.0 : (double)approximate.Distinct().Count(truth.Contains) / truth.Count;
    }

    /// <summary>Mean of <see cref="RecallAgainstExact"/> over questions (pairs of approximate and exact lists).</summary>
    /// <exception cref="ArgumentException">No questions.</exception>
    internal static double MeanRecall(IReadOnlyCollection<(IReadOnlyList<long> Approximate, IReadOnlyList<long> Exact)> questions) =>
        questions.Count == 0
            ? throw new ArgumentException("No questions to compute recall over.", nameof(questions))
            : questions.Average(q => RecallAgainstExact(q.Approximate, q.Exact));

    /// <summary>The table <c>| ef_search | recall@10 vs exact |</c> (3 decimals) and a line with the model, data, set size and date.</summary>
    internal static string Markdown(IReadOnlyList<HnswRecallResult> results, IReadOnlyCollection<string> models, string dataPath, int documents, int questions, DateTimeOffset date)
    {
        var text = new StringBuilder();
        text.AppendLine("| ef_search | recall@10 vs exact |");
        text.AppendLine("|---:|---:|");
        foreach (var result in results)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {result.EfSearch} | {result.Recall:F3} |"));
        }

        text.AppendLine();
        var model = models.Count == 0 ? "unknown" : string.Join(", ", models.Order(StringComparer.Ordinal));
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Model: {model}; data: {dataPath} ({documents} documents, {questions} questions); top 10 chunks per question, vector mode; exact = \"exact\": true (no index); date: {date.UtcDateTime:yyyy-MM-dd HH:mm} UTC."));
        return text.ToString();
    }

    /// <summary>Asks every question exactly and at each of <see cref="EfSearchValues"/>, and averages the recall per ef_search.</summary>
    internal static async Task<IReadOnlyList<HnswRecallResult>> MeasureAsync(PipelineClient client, IReadOnlyList<EvalQuestion> questions, int parallel,
        ConcurrentDictionary<string, bool> models, TextWriter progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var exact = new IReadOnlyList<long>[questions.Count];
        var approximate = EfSearchValues.Select(_ => new IReadOnlyList<long>[questions.Count]).ToList();
        async ValueTask AskAsync(int index, CancellationToken ct)
        {
            var answer = await client.VectorSearchAsync(questions[index].Question, null, ct);
            if (answer.Model is { } model)
            {
                models.TryAdd(model, true);
            }

            exact[index] = answer.ChunkIds;
            for (var e = 0; e < EfSearchValues.Count; e++)
            {
                approximate[e][index] = (await client.VectorSearchAsync(questions[index].Question, EfSearchValues[e], ct)).ChunkIds;
            }
        }

        await progress.WriteLineAsync($"hnsw recall: asking {questions.Count} questions exactly and at ef_search {string.Join(", ", EfSearchValues)}");
        await AskAsync(0, cancellationToken);
        await Parallel.ForEachAsync(Enumerable.Range(1, questions.Count - 1),
            new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, AskAsync);
        await progress.WriteLineAsync($"hnsw recall: {questions.Count} questions in {clock.Elapsed.TotalSeconds:F1} s");
        return EfSearchValues
            .Select((ef, e) => new HnswRecallResult(ef, MeanRecall(approximate[e].Zip(exact).ToList())))
            .ToList();
    }
}
