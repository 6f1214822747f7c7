using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using VectorPipeline.TestServers;

namespace VectorPipeline.Tools.Load;

/// <summary>
/// The whole stack as a user runs it on one machine, each part a process of its own: PostgreSQL with pgvector,
/// RabbitMQ, Ingest.Api, Search.Api and two Embed.Worker replicas (the AppHost's default), embedding with the
/// built-in model (<c>onnx</c>, arctic-embed-xs) and API keys required. The sample documents are ingested first, so
/// that searches have a corpus.
/// </summary>
public sealed partial class LoadStack : IAsyncDisposable
{
    /// <summary>Key of the administrator (posts documents, searches in the capacity runs).</summary>
    public const string AdminKey = "load-admin-key-0123456789";

    /// <summary>Search-only keys of the flood run: one floods, the other searches as usual.</summary>
    public const string FloodKey = "load-flood-key-0123456789", SteadyKey = "load-steady-key-0123456789";

    private readonly PostgresServer _postgres;
    private readonly RabbitMqServer _rabbit;
    private readonly Dictionary<string, string> _environment;
    private readonly List<ServiceProcess> _workers = [];

    private LoadStack(PostgresServer postgres, RabbitMqServer rabbit, Dictionary<string, string> environment)
    {
        _postgres = postgres;
        _rabbit = rabbit;
        _environment = environment;
        DataSource = NpgsqlDataSource.Create(environment["ConnectionStrings__vectordb"]);
    }

    /// <summary>Ingest.Api.</summary>
    public ServiceProcess Ingest { get; private set; } = null!;

    /// <summary>Search.Api (replaced by <see cref="RestartSearchAsync"/>).</summary>
    public ServiceProcess Search { get; private set; } = null!;

    /// <summary>The database.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Every process of the stack with its name: the services, PostgreSQL's postmaster, RabbitMQ's Erlang VM.</summary>
    public IEnumerable<(string Name, int? ProcessId)> Processes =>
        new[] { ("ingest-api", (int?)Ingest.ProcessId), ("search-api", Search.ProcessId) }
            .Concat(_workers.Select(w => (w.Name, (int?)w.ProcessId)))
            .Append(("postgres", _postgres.ProcessId)).Append(("rabbitmq", _rabbit.ProcessId));

    /// <summary>Services that have exited (crashed) since they started.</summary>
    public IEnumerable<string> Exited => new[] { Ingest, Search }.Concat(_workers).Where(s => s.HasExited).Select(s => s.Name);

    /// <summary>Starts the servers and services, then ingests the sample documents and waits until they are searchable.</summary>
    /// <param name="rateLimit">RateLimit:PermitLimit of the services (0: off).</param>
    /// <param name="log">Progress lines.</param>
    public static async Task<LoadStack> StartAsync(int rateLimit, Action<string> log)
    {
        var postgres = await PostgresServer.StartAsync();
        var rabbit = await RabbitMqServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await postgres.CreateDatabaseAsync("load"),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
            ["Embedding__Provider"] = "onnx",
            ["Auth__Mode"] = "apikey",
            ["Auth__ApiKeys__0__Name"] = "admin",
            ["Auth__ApiKeys__0__Key"] = AdminKey,
            ["Auth__ApiKeys__0__Role"] = "admin",
            ["Auth__ApiKeys__1__Name"] = "flood",
            ["Auth__ApiKeys__1__Key"] = FloodKey,
            ["Auth__ApiKeys__1__Role"] = "search",
            ["Auth__ApiKeys__2__Name"] = "steady",
            ["Auth__ApiKeys__2__Key"] = SteadyKey,
            ["Auth__ApiKeys__2__Role"] = "search",
            ["RateLimit__PermitLimit"] = rateLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var stack = new LoadStack(postgres, rabbit, environment);
        log($"servers up: PostgreSQL on {postgres.Port}, RabbitMQ on {rabbit.Port}");
        stack.Ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment);
        stack.Search = await ServiceProcess.StartAsync("search-api", "Search.Api", environment);
        // As the AppHost runs them: two replicas, each with its share of the cores for ONNX runs.
        var worker = new Dictionary<string, string>(environment) { ["Embedding__Onnx__MaxConcurrentRuns"] = Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        stack._workers.AddRange(await Task.WhenAll(Enumerable.Range(1, 2).Select(w => ServiceProcess.StartAsync($"embed-worker-{w}", "Embed.Worker", worker))));
        log("services up: ingest-api, search-api, embed-worker-1, embed-worker-2");
        await stack.IngestSampleDocumentsAsync(log);
        return stack;
    }

    /// <summary>Stops Search.Api and starts it again with <paramref name="settings"/> on top of the stack's.</summary>
    public async Task RestartSearchAsync(IReadOnlyDictionary<string, string> settings)
    {
        await Search.DisposeAsync();
        var environment = new Dictionary<string, string>(_environment);
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        Search = await ServiceProcess.StartAsync("search-api", "Search.Api", environment);
    }

    /// <summary>The SQuAD questions as <c>POST /search</c> bodies, one JSON object a line.</summary>
    public static IEnumerable<string> SearchBodies() =>
        SampleData.Squad().Questions.Select(q => JsonSerializer.Serialize(new { query = q.Question }));

    /// <summary>
    /// Small document texts (2 sentences of a SQuAD paragraph, about 50 words, one chunk each) as JSON strings, one a
    /// line. There are 102: after the first of each, the workers copy the stored vector by content hash
    /// instead of calling the model, so the posts measure the pipeline's own path (the model's rate is part 7 of the
    /// benchmarks).
    /// </summary>
    public static IEnumerable<string> DocumentTexts()
    {
        foreach (var paragraph in SampleData.Squad().Documents)
        {
            var sentences = Sentence().Split(paragraph.Text).Where(s => s.Length > 0).ToArray();
            for (var i = 0; i + 1 < sentences.Length; i += 2)
            {
                yield return JsonSerializer.Serialize(sentences[i] + " " + sentences[i + 1]);
            }
        }
    }

    /// <summary>Documents whose id starts with <paramref name="prefix"/>: stored, and those with a chunk still without its vector.</summary>
    public async Task<(long Stored, long Waiting, long Failed)> CountDocumentsAsync(string prefix)
    {
        await using var command = DataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM documents WHERE id LIKE $1),
                   (SELECT count(DISTINCT c.document_id) FROM chunks c WHERE c.document_id LIKE $1
                       AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id)),
                   (SELECT count(DISTINCT c.document_id) FROM chunks c JOIN embedding_errors x ON x.chunk_id = c.id WHERE c.document_id LIKE $1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = prefix + "%" });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private async Task IngestSampleDocumentsAsync(Action<string> log)
    {
        var documents = SampleData.PgaiDocs().Concat(SampleData.Squad().Documents).ToList();
        using var http = new HttpClient { BaseAddress = Ingest.Url, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        foreach (var document in documents)
        {
            using var response = await http.PostAsJsonAsync("/documents", new { id = document.Id, title = document.Title, text = document.Text, source = document.Source });
            response.EnsureSuccessStatusCode();
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            var (pgai, pgaiWaiting, _) = await CountDocumentsAsync("pgai/");
            var (squad, squadWaiting, _) = await CountDocumentsAsync("squad-");
            if (pgai + squad == documents.Count && pgaiWaiting + squadWaiting == 0)
            {
                log($"sample documents searchable: {documents.Count}");
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the sample documents were not embedded within 5 min ({pgaiWaiting + squadWaiting} of {documents.Count} waiting)");
            }

            await Task.Delay(1000);
        }
    }

    [GeneratedRegex(@"(?<=[.!?])\s+")]
    private static partial Regex Sentence();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var service in new[] { Search, Ingest }.Concat(_workers).OfType<ServiceProcess>())
        {
            await service.DisposeAsync();
        }

        await DataSource.DisposeAsync();
        await _rabbit.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}
