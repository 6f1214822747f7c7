using VectorPipeline.Tools.SearchEval;

namespace VectorPipeline.UnitTests;

public class HnswRecallTests
{
    [Fact]
    public void Recall_against_exact_of_hand_made_lists()
    {
        long[] exact = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        // 8 of the 10 exact chunks found, two others instead; order does not matter.
        Assert.Equal(0.8, HnswRecall.RecallAgainstExact([8, 7, 6, 5, 4, 3, 2, 1, 11, 12], exact), 12);
        Assert.Equal(1.0, HnswRecall.RecallAgainstExact([.. exact.Reverse()], exact), 12);
        // A chunk listed twice counts once.
        Assert.Equal(0.1, HnswRecall.RecallAgainstExact([1, 1], exact), 12);
        // Fewer exact hits than 10 (a small or filtered index): the denominator is what exact found.
        Assert.Equal(0.5, HnswRecall.RecallAgainstExact([6, 7], [5, 6]), 12);
        Assert.Equal(1.0, HnswRecall.RecallAgainstExact([], []), 12);
    }

    [Fact]
    public void Mean_recall_averages_over_questions_and_the_report_is_a_markdown_table()
    {
        // (0.8 + 0.5 + 1.0) / 3 = 0.7666…
        var mean = HnswRecall.MeanRecall(
        [
            ([8, 7, 6, 5, 4, 3, 2, 1, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            ([6, 7], [5, 6]),
            ([3], [3]),
        ]);
        Assert.Equal(2.3 / 3, mean, 12);
        Assert.Throws<ArgumentException>(() => HnswRecall.MeanRecall([]));

        var report = HnswRecall.Markdown([new HnswRecallResult(40, mean), new HnswRecallResult(100, 1.0)], ["m@384"], "set.jsonl", 3, 3,
            new DateTimeOffset(2025, 1, 2, 3, 4, 0, TimeSpan.Zero));
        Assert.StartsWith("| ef_search | recall@10 vs exact |\n|---:|---:|\n| 40 | 0.767 |\n| 100 | 1.000 |\n", report.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("Model: m@384; data: set.jsonl (3 documents, 3 questions)", report, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--ef-search", "40")]
    [InlineData("--modes", "vector")]
    public void Hnsw_recall_refuses_options_it_would_ignore(string option, string value)
    {
        Assert.True(EvalOptions.Parse(["--data", "set.jsonl", "--hnsw-recall"]).HnswRecall);
        var error = Assert.Throws<UsageException>(() => EvalOptions.Parse(["--data", "set.jsonl", "--hnsw-recall", option, value]));
        Assert.Contains("--hnsw-recall", error.Message, StringComparison.Ordinal);
    }
}
