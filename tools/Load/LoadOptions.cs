using System.Globalization;

namespace VectorPipeline.Tools.Load;

/// <summary>The command line of the load tool.</summary>
/// <param name="Parts">Which parts run: <c>search</c>, <c>ingest</c>, <c>memory</c> (needs both), <c>flood</c>.</param>
/// <param name="Steps">Connections of the rising steps, ascending.</param>
/// <param name="StepSeconds">Length of each step, of the overload run and of the recovery run, seconds.</param>
/// <param name="HoldMinutes">Length of the hold at the highest step that held.</param>
/// <param name="Overload">Connections of the overload run (and of the flood).</param>
/// <param name="MemoryMinutes">Length of the memory run.</param>
/// <param name="WarmUpMinutes">Minutes of the memory run left out of the slope.</param>
/// <param name="FloodSeconds">Length of the flood run and of its baseline.</param>
/// <param name="Out">Where the JSON of every run is written.</param>
public sealed record LoadOptions(HashSet<string> Parts, int[] Steps, int StepSeconds, int HoldMinutes, int Overload, int MemoryMinutes, int WarmUpMinutes, int FloodSeconds, string Out)
{
    /// <summary>Reads <c>--name value</c> pairs; null when one is unknown or not a positive number.</summary>
    public static LoadOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        var known = new[] { "parts", "steps", "step-seconds", "hold-minutes", "overload", "memory-minutes", "warm-up-minutes", "flood-seconds", "out" };
        if (values.Keys.Except(known).Any())
        {
            return null;
        }

        int? Number(string name, int fallback) =>
            values.TryGetValue(name, out var text) ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null : fallback;
        var parts = values.GetValueOrDefault("parts", "search,ingest,memory,flood").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var steps = values.GetValueOrDefault("steps", "1,2,4,8,16,32").Split(',').Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0).ToArray();
        int?[] numbers = [Number("step-seconds", 20), Number("hold-minutes", 5), Number("overload", 256), Number("memory-minutes", 15), Number("warm-up-minutes", 5), Number("flood-seconds", 60)];
        if (parts.Except(["search", "ingest", "memory", "flood"]).Any() || steps.Length == 0 || steps.Contains(0) || numbers.Any(n => n is null))
        {
            return null;
        }

        return new LoadOptions(parts, [.. steps.Order()], numbers[0]!.Value, numbers[1]!.Value, numbers[2]!.Value, numbers[3]!.Value, numbers[4]!.Value, numbers[5]!.Value,
            values.GetValueOrDefault("out", Path.Combine(RepositoryRoot(), "bench", "results", "load-latest.json")));
    }

    private static string RepositoryRoot() => VectorPipeline.TestServers.RepositoryPaths.Root;
}
