using System.Text.RegularExpressions;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// A corpus of real text larger than the sample documents themselves, for the HNSW recall measurement on real-model
/// vectors: every run of 1 to <c>maxSentences</c> (10) consecutive sentences of each document (fenced code removed, white
/// space collapsed, sentences of fewer than 4 words left out), as chunks of several sizes would cut it. Windows
/// overlap, as chunks with overlap do; no two are equal.
/// </summary>
public static partial class SentenceWindows
{
    /// <summary>
    /// Up to <paramref name="count"/> distinct windows, in a fixed order shuffled by <paramref name="seed"/> (so that a
    /// smaller count still has every window length and every document).
    /// </summary>
    /// <param name="documents">Document texts (Markdown or plain).</param>
    /// <param name="count">Most windows returned.</param>
    /// <param name="maxSentences">Longest window, in sentences.</param>
    /// <param name="maxWords">Windows longer than this many words are left out.</param>
    /// <param name="seed">Shuffle seed.</param>
    /// <returns>The windows; fewer than <paramref name="count"/> when the documents have fewer.</returns>
    public static IReadOnlyList<string> Build(IEnumerable<string> documents, int count, int maxSentences = 10, int maxWords = 200, int seed = 11)
    {
        var windows = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            var text = WhiteSpace().Replace(FencedCode().Replace(document, " "), " ");
            var sentences = SentenceEnd().Split(text).Select(s => s.Trim()).Where(s => s.Split(' ').Length >= 4).ToArray();
            for (var length = 1; length <= maxSentences; length++)
            {
                for (var start = 0; start + length <= sentences.Length; start++)
                {
                    var window = string.Join(' ', sentences, start, length);
                    if (window.Split(' ').Length <= maxWords && seen.Add(window))
                    {
                        windows.Add(window);
                    }
                }
            }
        }

        var random = new Random(seed);
        return [.. windows.OrderBy(_ => random.Next()).Take(count)];
    }

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    [GeneratedRegex(@"(?<=[.!?])\s+")]
    private static partial Regex SentenceEnd();
}
