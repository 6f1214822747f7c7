namespace VectorPipeline.Tools.SearchEval;

/// <summary>Quality of one search mode over a question set.</summary>
/// <param name="Questions">Questions asked.</param>
/// <param name="RecallAt1">Share of questions whose first chunk belongs to a labelled document.</param>
/// <param name="RecallAt5">Share of questions with a chunk of a labelled document among the first 5.</param>
/// <param name="RecallAt10">Share of questions with a chunk of a labelled document among the first 10.</param>
/// <param name="MrrAt10">Mean over questions of 1 / rank of the first chunk of a labelled document (0 when not in the first 10).</param>
internal sealed record ModeMetrics(int Questions, double RecallAt1, double RecallAt5, double RecallAt10, double MrrAt10);

/// <summary>Recall@k and MRR@10 over chunk rankings. Ranks are 1-based, counted over chunks (a document with two chunks in the list takes two places).</summary>
internal static class RetrievalMetrics
{
    /// <summary>How many results every question asks for, and the depth of MRR.</summary>
    internal const int Depth = 10;

    /// <summary>
    /// The 1-based rank of the first chunk whose document is labelled for the question, looking at the
    /// first <paramref name="depth"/> chunks only; null when none of them is.
    /// </summary>
    internal static int? FirstRelevantRank(IReadOnlyList<string?> rankedDocumentIds, IReadOnlyCollection<string> labelledDocumentIds, int depth = Depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        var count = Math.Min(depth, rankedDocumentIds.Count);
        for (var i = 0; i < count; i++)
        {
            if (rankedDocumentIds[i] is { } id && labelledDocumentIds.Contains(id))
            {
                return i + 1;
            }
        }

        return null;
    }

    /// <summary>Metrics from the rank (1-based, null = not found in the first <see cref="Depth"/>) of every question.</summary>
    internal static ModeMetrics Compute(IReadOnlyCollection<int?> ranks)
    {
        if (ranks.Count == 0)
        {
            throw new ArgumentException("No questions to compute metrics over.", nameof(ranks));
        }

        double n = ranks.Count;
        int At(int k) => ranks.Count(r => r is { } rank && rank <= k);
        var reciprocal = ranks.Sum(r => r is { } rank && rank <= Depth ? 1.0 / rank : 0.0);
        return new ModeMetrics(ranks.Count, At(1) / n, At(5) / n, At(10) / n, reciprocal / n);
    }
}
