using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Aspire.Hosting.ApplicationModel;

namespace VectorPipeline.AppHost.Tests;

/// <summary>
/// Chunks embedded per embed-worker replica, summed from each replica's own log line
/// "Model {model}: wrote {n} embeddings from {t} embedded texts, reused {r}, ..." (EmbedChunkBatchConsumer): n + r,
/// read through Aspire's resource logs.
/// </summary>
public sealed partial class WrittenEmbeddings
{
    private readonly ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);

    public WrittenEmbeddings(ResourceLoggerService logs, IEnumerable<string> replicas, CancellationToken cancellationToken)
    {
        foreach (var replica in replicas)
        {
            counts[replica] = 0;
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in logs.WatchAsync(replica).WithCancellation(cancellationToken))
                    {
                        foreach (var line in batch)
                        {
                            if (Wrote().Match(line.Content) is { Success: true } match)
                            {
                                var chunks = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) + long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                                counts.AddOrUpdate(replica, chunks, (_, n) => n + chunks);
                            }
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // The test ended.
                }
            }, cancellationToken);
        }
    }

    public IReadOnlyDictionary<string, long> Counts => counts;

    public string Describe() => string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));

    /// <summary>Waits until <paramref name="condition"/> holds for the counts (the logs arrive a little after the database says ready).</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyDictionary<string, long>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(counts) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }

    [GeneratedRegex(@": wrote (\d+) embeddings from \d+ embedded texts, reused (\d+),")]
    private static partial Regex Wrote();
}
