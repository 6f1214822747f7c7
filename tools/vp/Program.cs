using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VectorPipeline.Cli;

// vp: the command-line client of Ingest.Api and Search.Api.
// Exit codes: 0 done; 1 some file, line or document failed (or was not ready in time); 2 a service was unreachable.
if (Console.IsOutputRedirected)
{
    // Into a file or a pipe (CI, scripts): plain text, and lines not wrapped at 80 columns.
    AnsiConsole.Profile.Capabilities.Ansi = false;
    AnsiConsole.Profile.Width = 1000;
}

var ingestUrl = new Option<string>("--ingest-url")
{
    Description = "Ingest.Api base URL (env VP_INGEST_URL)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("VP_INGEST_URL") ?? "http://127.0.0.1:5110",
    Recursive = true,
};
var searchUrl = new Option<string>("--search-url")
{
    Description = "Search.Api base URL (env VP_SEARCH_URL)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("VP_SEARCH_URL") ?? "http://127.0.0.1:5120",
    Recursive = true,
};
var apiKey = new Option<string?>("--api-key")
{
    Description = "API key sent as a bearer token (env VP_API_KEY)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("VP_API_KEY"),
    Recursive = true,
};

var paths = new Argument<string[]>("paths") { Description = "Folders, files (.md .txt .html .docx) or NDJSON files (.ndjson .jsonl)", Arity = ArgumentArity.OneOrMore };
var concurrency = new Option<int>("--concurrency") { Description = "Files sent at once, 1..64", DefaultValueFactory = _ => 4 };
var source = new Option<string?>("--source") { Description = "The documents' source (a filter in searches)" };
var timeout = new Option<int>("--timeout-minutes") { Description = "Longest wait for every document to be ready", DefaultValueFactory = _ => 30 };
var ingest = new Command("ingest", "Send folders, files or NDJSON, and follow every document until it is ready or failed") { paths, concurrency, source, timeout };
ingest.SetAction((result, ct) => Run(result, async client =>
{
    var skipped = new List<string>();
    var files = FolderIngestion.Collect(result.GetValue(paths)!, skipped);
    if (skipped.Count > 0)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]Skipping {skipped.Count} file(s) of other types, e.g. {skipped[0]}[/]");
    }

    var run = new FolderIngestion(client, Math.Clamp(result.GetValue(concurrency), 1, 64), result.GetValue(source), TimeSpan.FromMinutes(result.GetValue(timeout)));
    var summary = await ProgressView.RunAsync(files.Count, report => run.RunAsync(files, report, ct));
    ProgressView.PrintSummary(summary);
    return summary.ExitCode;
}));

var query = new Argument<string>("query") { Description = "The text to search for" };
var mode = new Option<string?>("--mode") { Description = "vector (default), keyword or hybrid" };
var topK = new Option<int>("--top-k", "-k") { Description = "Results to show", DefaultValueFactory = _ => 10 };
var model = new Option<string?>("--model") { Description = "Model key {name}@{dimensions}; the active model by default" };
var search = new Command("search", "Search and print the results as a table") { query, mode, topK, model };
search.SetAction((result, ct) => Run(result, async client =>
{
    var answer = await client.SearchAsync(result.GetValue(query)!, result.GetValue(mode), result.GetValue(topK), result.GetValue(model), ct);
    // Keyword answers search no embedding model and carry no "model".
    var searched = answer.TryGetProperty("model", out var searchedModel) && searchedModel.GetString() is { } key
        ? $"{key}, {answer.GetProperty("mode").GetString()}"
        : answer.GetProperty("mode").GetString()!;
    var table = new Table().AddColumns("#", "Score", "Document", "Text").Caption(Markup.Escape(searched));
    var rank = 0;
    foreach (var hit in answer.GetProperty("results").EnumerateArray())
    {
        var text = hit.GetProperty("text").GetString()!.ReplaceLineEndings(" ");
        table.AddRow((++rank).ToString(CultureInfo.InvariantCulture), hit.GetProperty("score").GetDouble().ToString("F3", CultureInfo.InvariantCulture),
            Markup.Escape(hit.GetProperty("documentId").GetString()!), Markup.Escape(text.Length > 100 ? text[..100] + "…" : text));
    }

    AnsiConsole.Write(table);
    return rank == 0 ? 1 : 0;
}));

var status = new Command("status", "Show the queue, the models and the failures");
status.SetAction((result, ct) => Run(result, async client =>
{
    var state = await client.GetAsync("/status", ct);
    if (state.GetProperty("queue") is { ValueKind: JsonValueKind.Object } queue)
    {
        AnsiConsole.MarkupLineInterpolated($"Queue [bold]{queue.GetProperty("name").GetString()}[/]: {queue.GetProperty("messages").GetInt64()} messages waiting, {queue.GetProperty("consumers").GetInt32()} consumers; dead-letter queue: {queue.GetProperty("deadLetters").GetInt64()}");
    }
    else
    {
        AnsiConsole.MarkupLineInterpolated($"[yellow]Queue unknown: {state.GetProperty("queueError").GetString()}[/]");
    }

    var documents = state.GetProperty("documents");
    AnsiConsole.MarkupLineInterpolated($"Documents: {documents.GetProperty("total").GetInt64()} ({documents.GetProperty("ready").GetInt64()} ready, {documents.GetProperty("failed").GetInt64()} failed); chunks failed: {documents.GetProperty("failedChunks").GetInt64()}");
    var models = new Table().AddColumns("Model", "Status", "Embedded", "Index");
    foreach (var m in state.GetProperty("models").EnumerateArray())
    {
        var backfill = m.GetProperty("backfill");
        var index = m.GetProperty("index");
        models.AddRow(Markup.Escape(m.GetProperty("key").GetString()!), m.GetProperty("status").GetString()!,
            $"{backfill.GetProperty("embedded").GetInt64()}/{backfill.GetProperty("total").GetInt64()} ({backfill.GetProperty("percent").GetDouble().ToString("F1", CultureInfo.InvariantCulture)}%)",
            $"{index.GetProperty("method").GetString()} {index.GetProperty("distance").GetString()}");
    }

    AnsiConsole.Write(models);
    var failures = state.GetProperty("recentFailures");
    if (failures.GetArrayLength() > 0)
    {
        var table = new Table().AddColumns("Document", "Chunk", "Model", "Error").Title("Recent failures");
        foreach (var f in failures.EnumerateArray())
        {
            table.AddRow(Markup.Escape(f.GetProperty("documentId").GetString()!), f.GetProperty("chunkId").GetInt64().ToString(CultureInfo.InvariantCulture),
                Markup.Escape(f.GetProperty("model").GetString()!), Markup.Escape(f.GetProperty("error").GetString()!));
        }

        AnsiConsole.Write(table);
    }

    return 0;
}));

var root = new RootCommand("vp: the VectorPipeline command-line client") { ingest, search, status };
root.Options.Add(ingestUrl);
root.Options.Add(searchUrl);
root.Options.Add(apiKey);
return await root.Parse(args).InvokeAsync();

async Task<int> Run(ParseResult result, Func<PipelineClient, Task<int>> action)
{
    if (!Uri.TryCreate(result.GetValue(ingestUrl), UriKind.Absolute, out var ingestUri) || !Uri.TryCreate(result.GetValue(searchUrl), UriKind.Absolute, out var searchUri))
    {
        AnsiConsole.MarkupLineInterpolated($"[red]--ingest-url and --search-url must be absolute URLs such as http://127.0.0.1:5110[/]");
        return 2;
    }

    using var client = new PipelineClient(ingestUri, searchUri, result.GetValue(apiKey));
    try
    {
        return await action(client);
    }
    catch (PipelineApiException ex)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]{(int)ex.Status}: {ex.Message}[/]");
        return 1;
    }
    catch (HttpRequestException ex)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]Cannot reach the service: {ex.Message}[/] (check --ingest-url / --search-url)");
        return 2;
    }
    catch (FileNotFoundException ex)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]{ex.Message}[/]");
        return 1;
    }
}
