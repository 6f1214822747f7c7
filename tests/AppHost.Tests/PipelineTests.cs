using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace VectorPipeline.AppHost.Tests;

/// <summary>
/// The real AppHost on the local kind under Aspire.Hosting.Testing: every resource healthy, the pgai documents
/// ingested, embedded by both worker replicas (each replica's own log says how many embeddings it wrote), found by
/// search; one replica killed while a second round (the SQuAD paragraphs) is embedded and the other finishes it; after the AppHost stops,
/// no PostgreSQL, RabbitMQ or service process of the run is left.
/// </summary>
public sealed class PipelineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan EmbedTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Pgai_docs_are_embedded_by_both_replicas_found_and_finished_after_one_replica_dies()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.True(Directory.Exists(LocalAppHost.PgaiDocs), $"sample data missing: {LocalAppHost.PgaiDocs}");
        using var run = new LocalAppHost(workerReplicas: 2);
        var started = Stopwatch.StartNew();
        var pids = new HashSet<int>();

        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(run.Arguments, cancellationToken);
        var app = await appHost.BuildAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
        try
        {
            await app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
            foreach (var resource in new[] { ResourceNames.Postgres, ResourceNames.VectorDb, ResourceNames.Messaging,
                         ResourceNames.IngestApi, ResourceNames.EmbedWorker, ResourceNames.SearchApi })
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken).WaitAsync(StartTimeout, cancellationToken);
            }

            var replicas = await WorkerReplicasAsync(app, 2, cancellationToken);
            output.WriteLine($"all healthy after {started.Elapsed.TotalSeconds:0.0} s; replicas {string.Join(", ", replicas.Keys)}");
            foreach (var pid in replicas.Values.Concat(await ProcessIdsAsync(app, cancellationToken)))
            {
                pids.Add(pid);
                pids.UnionWith(Descendants(pid));
            }

            var written = new WrittenEmbeddings(app.Services.GetRequiredService<ResourceLoggerService>(), replicas.Keys, cancellationToken);
            using var ingest = app.CreateHttpClient(ResourceNames.IngestApi);
            using var search = app.CreateHttpClient(ResourceNames.SearchApi);

            // Round 1: every pgai document, embedded by both replicas, then found by search.
            var documents = Directory.GetFiles(LocalAppHost.PgaiDocs, "*.md").Order(StringComparer.Ordinal)
                .Select(file => (Id: "pgai-" + Path.GetFileNameWithoutExtension(file), Text: File.ReadAllText(file))).ToList();
            Assert.True(documents.Count >= 20, $"only {documents.Count} pgai documents");
            var embedStarted = Stopwatch.StartNew();
            await PostAllAsync(ingest, documents, cancellationToken);
            await WaitAllReadyAsync(ingest, documents.Select(d => d.Id), cancellationToken);
            output.WriteLine($"round 1: {documents.Count} documents ready in {embedStarted.Elapsed.TotalSeconds:0.0} s; " +
                             $"embeddings written per replica: {written.Describe()}");
            await written.WaitUntilAsync(counts => counts.Values.All(c => c > 0), TimeSpan.FromSeconds(20));
            Assert.All(replicas.Keys, replica => Assert.True(written.Counts[replica] > 0, $"replica {replica} wrote no embeddings: {written.Describe()}"));

            foreach (var (id, text) in documents)
            {
                // The document's longest line of prose (headings repeat across the pgai docs; a sentence does not).
                var lines = text.Split('\n').Select(l => l.Trim()).ToList();
                var line = lines.Where(l => !l.StartsWith('#') && !l.StartsWith('|') && !l.StartsWith("```", StringComparison.Ordinal)).MaxBy(l => l.Length) is { Length: > 20 } prose
                    ? prose
                    : lines.MaxBy(l => l.Length)!.Trim('#', '|', ' ');
                var query = line.Length > 200 ? line[..200] : line;
                using var answer = await search.PostAsJsonAsync("/search", new { query, topK = 10, mode = "hybrid" }, cancellationToken);
                var json = await answer.Content.ReadAsStringAsync(cancellationToken);
                Assert.True(answer.StatusCode == HttpStatusCode.OK, $"search for '{query}': {(int)answer.StatusCode} {json}");
                using var body = JsonDocument.Parse(json);
                var found = body.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("documentId").GetString()).ToList();
                Assert.True(found.Contains(id), $"search for '{query}' did not find {id}: {string.Join(", ", found)}");
            }

            // Round 2: the SQuAD paragraphs (new texts: nothing to reuse); one replica is killed once round 2 has begun.
            var second = LocalAppHost.SquadParagraphs();
            var (victim, victimPid) = replicas.First();
            var survivor = replicas.Keys.Single(k => k != victim);
            var before = written.Counts[survivor];
            var totalBefore = written.Counts.Values.Sum();
            await PostAllAsync(ingest, second, cancellationToken);
            await written.WaitUntilAsync(counts => counts.Values.Sum() > totalBefore, TimeSpan.FromSeconds(60));
            var killed = KillTree(victimPid);
            output.WriteLine($"killed replica {victim} (processes {string.Join(", ", killed)})");
            await WaitAllReadyAsync(ingest, second.Select(d => d.Id), cancellationToken);
            Assert.True(written.Counts[survivor] > before, $"the surviving replica {survivor} wrote nothing in round 2: {written.Describe()}");
            output.WriteLine($"round 2 finished with one replica; per replica: {written.Describe()}");
        }
        finally
        {
            var stopping = Stopwatch.StartNew();
            await app.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2), CancellationToken.None);
            await app.DisposeAsync();
            output.WriteLine($"stopped in {stopping.Elapsed.TotalSeconds:0.0} s; whole test {started.Elapsed.TotalSeconds:0.0} s");
        }

        // The process table: nothing of this run is left (servers by their data folder and ports, services by pid).
        IReadOnlyList<string> left = [];
        for (var i = 0; i < 40 && (left = run.Leftovers(pids)).Count > 0; i++)
        {
            await Task.Delay(250, CancellationToken.None);
        }

        Assert.True(left.Count == 0, "left running:\n" + string.Join("\n", left));
        Assert.Contains(pids, pid => pid > 0);
    }

    private static async Task PostAllAsync(HttpClient ingest, IEnumerable<(string Id, string Text)> documents, CancellationToken cancellationToken)
    {
        foreach (var (id, text) in documents)
        {
            using var posted = await ingest.PostAsJsonAsync("/documents", new { id, title = id, text }, cancellationToken);
            Assert.True(posted.StatusCode == HttpStatusCode.Accepted, $"POST {id}: {(int)posted.StatusCode} {await posted.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private static async Task WaitAllReadyAsync(HttpClient ingest, IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        var waiting = ids.ToHashSet(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + EmbedTimeout;
        var last = new Dictionary<string, string>();
        while (waiting.Count > 0 && DateTime.UtcNow < deadline)
        {
            foreach (var id in waiting.ToList())
            {
                using var status = JsonDocument.Parse(await ingest.GetStringAsync($"/documents/{id}", cancellationToken));
                var state = status.RootElement.GetProperty("status").GetString()!;
                last[id] = state;
                Assert.NotEqual("failed", state);
                if (state == "ready")
                {
                    waiting.Remove(id);
                }
            }

            if (waiting.Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }

        Assert.True(waiting.Count == 0, $"not ready after {EmbedTimeout}: {string.Join(", ", waiting.Select(id => $"{id}={last.GetValueOrDefault(id)}"))}");
    }

    /// <summary>The running embed-worker replicas: DCP resource name to process id, once <paramref name="count"/> run.</summary>
    private static async Task<Dictionary<string, int>> WorkerReplicasAsync(DistributedApplication app, int count, CancellationToken cancellationToken)
    {
        var replicas = new Dictionary<string, int>(StringComparer.Ordinal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        await foreach (var update in app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if (update.Resource.Name == ResourceNames.EmbedWorker && update.Snapshot.State?.Text == KnownResourceStates.Running
                && Pid(update.Snapshot) is { } pid)
            {
                replicas[update.ResourceId] = pid;
                if (replicas.Count == count)
                {
                    return replicas;
                }
            }
        }

        throw new TimeoutException($"only {replicas.Count} of {count} embed-worker replicas ran");
    }

    /// <summary>Process ids of every resource with one (servers, scripts, services).</summary>
    private static async Task<List<int>> ProcessIdsAsync(DistributedApplication app, CancellationToken cancellationToken)
    {
        var pids = new List<int>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(timeout.Token))
            {
                if (Pid(update.Snapshot) is { } pid)
                {
                    pids.Add(pid);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // WatchAsync replays the current state of every resource, then waits; two seconds are plenty.
        }

        return pids;
    }

    private static int? Pid(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(p => p.Name is "executable.pid" or "project.pid")?.Value is { } value
        && int.TryParse(value.ToString(), out var pid) ? pid : null;

    private static List<int> Descendants(int pid)
    {
        var all = new List<int>();
        var children = File.Exists($"/proc/{pid}/task/{pid}/children")
            ? File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)
            : [];
        foreach (var child in children)
        {
            all.Add(child);
            all.AddRange(Descendants(child));
        }

        return all;
    }

    /// <summary>SIGKILLs a process and its descendants (a replica is `dotnet run` and the service under it).</summary>
    private static List<int> KillTree(int pid)
    {
        var tree = Descendants(pid).Prepend(pid).ToList();
        foreach (var id in tree)
        {
            try
            {
                Process.GetProcessById(id).Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        return tree;
    }
}
