using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using VectorPipeline.TestServers;

// Soak: starts PostgreSQL, RabbitMQ, a model server, Ingest.Api, workers and Search.Api as processes; ingests for
// --minutes while SIGKILLing a random worker every few seconds and starting a new one; then waits until every
// chunk is embedded or failed and checks the database. Exit code 0: nothing lost, nothing doubled; 1: a check
// failed; 2: bad arguments or the stack did not start. Needs root (the servers run as their own users).
var options = SoakOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Soak [--minutes N (10)] [--workers N (2)] [--kill-every-seconds N (20)] [--drain-minutes N (10)] [--seed N]");
    return 2;
}

var random = new Random(options.Seed);
Console.WriteLine($"soak: {options.Minutes} min, {options.Workers} workers, a worker killed about every {options.KillEverySeconds} s, seed {options.Seed}");
await using var postgres = await PostgresServer.StartAsync();
await using var rabbit = await RabbitMqServer.StartAsync();
await using var model = await FakeEmbeddingServer.StartAsync(384);
model.AlwaysFault = FakeFault.Slow(TimeSpan.FromMilliseconds(30)); // keeps batches in flight when a worker is killed
var environment = new Dictionary<string, string>
{
    ["ConnectionStrings__vectordb"] = postgres.ConnectionString(),
    ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
    ["Embedding__Provider"] = "http",
    ["Embedding__Endpoint"] = model.BaseAddress.ToString(),
    ["Embedding__Model"] = "soak-model",
    ["Embedding__Dimensions"] = "384",
    ["Embedding__BatchMessageLimit"] = "32",
    ["Delivery__RedeliverAfterSeconds"] = "60",
    ["Delivery__SweepIntervalMs"] = "5000",
    ["Logging__LogLevel__Default"] = "Warning",
};

var services = new List<ServiceProcess>();
var workers = new List<ServiceProcess>();
try
{
    var started = await Task.WhenAll(
        [ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment), ServiceProcess.StartAsync("search-api", "Search.Api", environment),
         .. Enumerable.Range(1, options.Workers).Select(w => ServiceProcess.StartAsync($"embed-worker-{w}", "Embed.Worker", environment))]);
    services.AddRange(started);
    workers.AddRange(started[2..]);
}
catch (Exception ex)
{
    Console.Error.WriteLine($"soak: the stack did not start: {ex.Message}");
    foreach (var service in services)
    {
        await service.DisposeAsync();
    }

    return 2;
}

using var ingest = new HttpClient { BaseAddress = services[0].Url, Timeout = TimeSpan.FromSeconds(60) };
var live = new Dictionary<string, int>(StringComparer.Ordinal); // document id -> paragraphs in its last accepted version
var deleted = new HashSet<string>(StringComparer.Ordinal);
var busy = new HashSet<string>(StringComparer.Ordinal); // ids with a request in flight: one request per document at a time, so the expected state is known
long accepted = 0, reposted = 0, deletes = 0, refused = 0, kills = 0, nextDocument = 0;
var clock = Stopwatch.StartNew();
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(options.Minutes));

var posters = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
{
    var local = new Random(options.Seed + p + 1);
    while (!stop.IsCancellationRequested)
    {
        string id;
        string? text = null;
        lock (live)
        {
            var roll = local.NextDouble();
            var existing = live.Count > 20 ? live.Keys.ElementAt(local.Next(live.Count)) : null;
            if (existing is not null && !busy.Contains(existing) && roll < 0.05)
            {
                id = existing;
                live.Remove(id);
                deleted.Add(id);
            }
            else if (existing is not null && !busy.Contains(existing) && roll < 0.25)
            {
                id = existing;
                text = Text(local, id, local.Next(2, 10), version: local.Next());
            }
            else
            {
                id = $"soak/doc-{Interlocked.Increment(ref nextDocument)}";
                text = Text(local, id, local.Next(2, 10), version: 0);
            }

            busy.Add(id);
        }

        try
        {
            if (text is null)
            {
                using var response = await ingest.DeleteAsync("/documents/" + id, CancellationToken.None);
                Interlocked.Increment(ref deletes);
            }
            else
            {
                using var response = await ingest.PostAsJsonAsync("/documents", new { id, text }, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    lock (live)
                    {
                        if (!live.TryAdd(id, 1))
                        {
                            reposted++;
                        }

                        deleted.Remove(id);
                    }

                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref refused);
        }
        finally
        {
            lock (live)
            {
                busy.Remove(id);
            }
        }

        await Task.Delay(local.Next(10, 60));
    }
})).ToList();

var chaos = Task.Run(async () =>
{
    var generation = options.Workers;
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(options.KillEverySeconds * (0.5 + random.NextDouble())), stop.Token);
        }
        catch (OperationCanceledException)
        {
            break;
        }

        if (workers.Count == options.Workers)
        {
            var victim = workers[random.Next(workers.Count)];
            await victim.KillAsync();
            workers.Remove(victim);
            Interlocked.Increment(ref kills);
            Console.WriteLine($"soak: {clock.Elapsed.TotalMinutes:F1} min: killed {victim.Name} (SIGKILL)");
            await Task.Delay(TimeSpan.FromSeconds(random.Next(1, 4)));
        }

        try
        {
            // A replacement that is slow to report healthy (loaded machine) is retried at the next round.
            var replacement = await ServiceProcess.StartAsync($"embed-worker-{++generation}", "Embed.Worker", environment);
            services.Add(replacement);
            workers.Add(replacement);
        }
        catch (InvalidOperationException ex)
        {
            Console.WriteLine($"soak: a replacement worker did not start, trying again later: {ex.Message.Split('\n')[0]}");
        }
    }
});

var progress = Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), stop.Token);
        }
        catch (OperationCanceledException)
        {
            break;
        }

        var embeddings = await ScalarAsync("SELECT count(*) FROM embeddings");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak: {clock.Elapsed.TotalMinutes:F1} min: {Interlocked.Read(ref accepted)} posts accepted, {Interlocked.Read(ref deletes)} deletes, {Interlocked.Read(ref kills)} workers killed, {embeddings} embeddings"));
    }
});

await Task.WhenAll(posters);
try
{
    await chaos;
}
catch (Exception ex)
{
    Console.WriteLine($"soak: the kill loop stopped: {ex.Message}");
}

await progress;
Console.WriteLine($"soak: ingestion stopped after {clock.Elapsed.TotalMinutes:F1} min; waiting for the queue to drain");

const string Waiting = """
    SELECT count(*) FROM chunks c, embedding_models m
     WHERE m.active AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = m.id)
       AND NOT EXISTS (SELECT 1 FROM embedding_errors x WHERE x.chunk_id = c.id AND x.model_id = m.id)
    """;
var drain = Stopwatch.StartNew();
long lost;
while ((lost = await ScalarAsync(Waiting)) > 0 && drain.Elapsed < TimeSpan.FromMinutes(options.DrainMinutes))
{
    await Task.Delay(1000);
}

var chunks = await ScalarAsync("SELECT count(*) FROM chunks");
var embedded = await ScalarAsync("SELECT count(*) FROM embeddings e JOIN embedding_models m ON m.id = e.model_id AND m.active");
var duplicates = await ScalarAsync("SELECT count(*) - count(DISTINCT chunk_id) FROM embeddings e JOIN embedding_models m ON m.id = e.model_id AND m.active");
var duplicateChunks = await ScalarAsync("SELECT count(*) FROM documents d WHERE d.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)");
var failed = await ScalarAsync("SELECT count(DISTINCT chunk_id) FROM embedding_errors");
var documents = await ScalarAsync("SELECT count(*) FROM documents");
var stored = new HashSet<string>(StringComparer.Ordinal);
await using (var connection = new NpgsqlConnection(postgres.ConnectionString()))
{
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT id FROM documents", connection);
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
    {
        stored.Add(reader.GetString(0));
    }
}

var missing = live.Keys.Count(id => !stored.Contains(id));
var resurrected = deleted.Count(stored.Contains);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    soak: ran {options.Minutes} min with {options.Workers} workers; {kills} workers killed (SIGKILL) and replaced
    soak: documents accepted: {accepted} posts ({reposted} re-posts of changed documents), {deletes} deletes, {refused} refused or failed requests; {documents} documents stored, {live.Count} expected
    soak: chunks: {chunks}; chunks embedded: {embedded}; chunks failed: {failed}; texts sent to the model server: {model.TextsEmbedded}
    soak: duplicates found: {duplicates} embeddings, {duplicateChunks} documents with extra or missing chunk rows
    soak: chunks lost: {lost}; documents lost: {missing}; deleted documents still stored: {resurrected}
    soak: drained {drain.Elapsed.TotalSeconds:F0} s after ingestion stopped
    """));

foreach (var service in services)
{
    await service.DisposeAsync();
}

var ok = duplicates == 0 && duplicateChunks == 0 && lost == 0 && missing == 0 && resurrected == 0 && failed == 0;
Console.WriteLine(ok ? "soak: PASS (nothing lost, nothing doubled)" : "soak: FAIL");
return ok ? 0 : 1;

async Task<long> ScalarAsync(string sql)
{
    await using var connection = new NpgsqlConnection(postgres.ConnectionString());
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
}

static string Text(Random random, string id, int paragraphs, int version) =>
    string.Join("\n\n", Enumerable.Range(0, paragraphs).Select(p =>
    {
        // Most paragraphs stay the same across versions of a document (kept by content hash); one in three changes.
        var variant = p % 3 == 0 ? version : 0;
        var words = Enumerable.Range(0, 60 + (p * 7) % 40).Select(w => Words[(p * 31 + w * 17 + id.Length + variant) % Words.Length]);
        return $"{id} paragraph {p} version {variant}: {string.Join(' ', words)}.";
    }));

/// <summary>Command-line options of the soak.</summary>
internal sealed record SoakOptions(int Minutes, int Workers, int KillEverySeconds, int DrainMinutes, int Seed)
{
    public static SoakOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, int> { ["--minutes"] = 10, ["--workers"] = 2, ["--kill-every-seconds"] = 20, ["--drain-minutes"] = 10, ["--seed"] = 42 };
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!values.ContainsKey(args[i]) || i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                return null;
            }

            values[args[i]] = value;
        }

        return new SoakOptions(values["--minutes"], values["--workers"], values["--kill-every-seconds"], values["--drain-minutes"], values["--seed"]);
    }
}

/// <summary>Vocabulary of the generated documents.</summary>
internal partial class Program
{
    private static readonly string[] Words =
        ("pipeline vector chunk embedding worker broker queue database index search document model retry failure " +
         "delivery message batch commit publish crash restart stream status ready failed queued latency throughput " +
         "replica leader lock sweep timeout backoff dead letter outbox idempotent duplicate content hash cosine").Split(' ');
}
