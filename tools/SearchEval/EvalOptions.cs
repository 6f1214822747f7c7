using System.Globalization;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>A command line that cannot be run; the message says what to change.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The command line of SearchEval.</summary>
internal sealed record EvalOptions
{
    /// <summary>Search modes Search.Api knows (or will know).</summary>
    internal static readonly IReadOnlyList<string> AllModes = ["vector", "keyword", "hybrid"];

    internal const string Usage = """
        SearchEval: ingests a labelled set into a running VectorPipeline and measures recall@1/5/10 and MRR@10 per search mode,
        or (--hnsw-recall) how many of the exact top-10 chunks the HNSW index finds.

        Usage: dotnet run --project tools/SearchEval -c Release -- --data PATH [options]

          --data PATH          labelled set: SQuAD v1.1 .json, or .jsonl / .ndjson (docs/search-quality.md)   (required)
          --ingest URL         Ingest.Api base URL                                   (default http://127.0.0.1:5110)
          --search URL         Search.Api base URL                                   (default http://127.0.0.1:5120)
          --modes LIST         comma-separated search modes: vector, keyword, hybrid (default vector,keyword,hybrid)
          --ef-search N        send "efSearch": N with every search (HNSW ef_search; default: the server's setting)
          --hnsw-recall        instead of the modes: recall@10 of vector search at ef_search 40 and 100 against an exact scan
          --skip-ingest        do not post documents; the set is already ingested and ready
          --parallel N         concurrent requests when posting, polling and searching (default 4)
          --timeout SECONDS    longest wait for every document to be ready             (default 600)
          --output FILE        also write the Markdown report to FILE
          -h, --help           this text

        Start the services first (dotnet run --project AppHost in another terminal). Progress goes to stderr, the report to stdout.
        Exit codes: 0 every mode (or the HNSW recall) measured, 1 a failure (some modes may still be reported), 2 a bad command line.
        """;

    internal Uri Ingest { get; init; } = new("http://127.0.0.1:5110");

    internal Uri Search { get; init; } = new("http://127.0.0.1:5120");

    internal string DataPath { get; init; } = "";

    internal IReadOnlyList<string> Modes { get; init; } = AllModes;

    internal int? EfSearch { get; init; }

    internal bool SkipIngest { get; init; }

    /// <summary>Measure HNSW recall@10 against exact search (<see cref="HnswRecall"/>) instead of the modes.</summary>
    internal bool HnswRecall { get; init; }

    internal int Parallel { get; init; } = 4;

    internal TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(600);

    internal string? Output { get; init; }

    internal bool Help { get; init; }

    /// <summary>Parses <c>--name value</c> and <c>--name=value</c> options.</summary>
    internal static EvalOptions Parse(IReadOnlyList<string> args)
    {
        var options = new EvalOptions();
        string? data = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                (arg, inline) = (arg[..eq], arg[(eq + 1)..]);
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{arg} needs a value");
                }

                return args[++i];
            }

            options = arg switch
            {
                "-h" or "--help" => options with { Help = true },
                "--data" => options with { DataPath = data = Value() },
                "--ingest" => options with { Ingest = ParseUrl(arg, Value()) },
                "--search" => options with { Search = ParseUrl(arg, Value()) },
                "--modes" => options with { Modes = ParseModes(Value()) },
                "--ef-search" => options with { EfSearch = ParsePositive(arg, Value()) },
                "--skip-ingest" => inline is null ? options with { SkipIngest = true } : throw new UsageException("--skip-ingest takes no value"),
                "--hnsw-recall" => inline is null ? options with { HnswRecall = true } : throw new UsageException("--hnsw-recall takes no value"),
                "--parallel" => options with { Parallel = ParsePositive(arg, Value()) },
                "--timeout" => options with { ReadyTimeout = TimeSpan.FromSeconds(ParsePositive(arg, Value())) },
                "--output" => options with { Output = Value() },
                _ => throw new UsageException($"unknown option '{arg}'"),
            };
        }

        if (!options.Help && string.IsNullOrWhiteSpace(data))
        {
            throw new UsageException("--data PATH is required (a SQuAD v1.1 .json file or a .jsonl file)");
        }

        if (options.HnswRecall && (args.Any(a => a == "--modes" || a.StartsWith("--modes=", StringComparison.Ordinal)) || options.EfSearch is not null))
        {
            throw new UsageException("--hnsw-recall measures vector search at ef_search 40 and 100 against an exact scan; it takes neither --modes nor --ef-search");
        }

        return options;
    }

    private static Uri ParseUrl(string option, string value) =>
        Uri.TryCreate(value.TrimEnd('/') + "/", UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new UsageException($"{option} must be an http(s) URL, got '{value}'");

    private static int ParsePositive(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new UsageException($"{option} must be a positive whole number, got '{value}'");

    private static List<string> ParseModes(string value)
    {
        var modes = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(m => m.ToLowerInvariant()).Distinct().ToList();
        if (modes.Count == 0)
        {
            throw new UsageException("--modes needs at least one of vector, keyword, hybrid");
        }

        var unknown = modes.FirstOrDefault(m => !AllModes.Contains(m));
        return unknown is null ? modes : throw new UsageException($"--modes: unknown mode '{unknown}'; choose from {string.Join(", ", AllModes)}");
    }
}
