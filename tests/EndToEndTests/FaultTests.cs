using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>
/// "Nothing lost, nothing doubled" with real processes: PostgreSQL, RabbitMQ, Ingest.Api, Embed.Worker and
/// Search.Api run as processes, the model is served over HTTP by <see cref="FakeEmbeddingServer"/> (so it can be
/// slowed down or taken away), and faults are injected while the pgai documents are being ingested. After each
/// fault the database must hold, for the active model, exactly one embedding or a recorded failure per chunk,
/// no duplicate, and search must find every document.
/// </summary>
public sealed class FaultTests
{
    private const string Model = "fault-model";
    private const int Dimensions = 384;
    private const string ModelKey = "fault-model@384";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_chunk_is_lost_or_doubled_through_worker_kills_broker_and_database_restarts_and_a_model_server_outage()
    {
        Assert.SkipUnless(SampleData.Available, $"sample data not found under {RepositoryPaths.SampleData} (set VECTORPIPELINE_SAMPLE_DATA)");
        var pgai = SampleData.PgaiDocs();
        await using var stack = await Stack.StartAsync(workers: 2);
        // Every embedding request takes a while, so that batches are in flight when a fault strikes.
        stack.Model.AlwaysFault = FakeFault.Slow(TimeSpan.FromMilliseconds(100));
        var log = new List<string>();

        // 1. A worker is killed (SIGKILL) in the middle of a batch; a new one starts.
        var phase = Phase(pgai, "worker-kill");
        var posting = stack.PostAllAsync(phase);
        await stack.WaitForEmbeddingsAsync(minimum: 20);
        await stack.Workers[0].KillAsync();
        stack.Workers.Add(await stack.StartWorkerAsync("embed-worker-3"));
        await posting;
        log.Add(await stack.CheckAsync("worker SIGKILL", phase.Select(d => d.Id)));

        // 2. RabbitMQ stops for a while and comes back; documents are posted meanwhile.
        phase = Phase(pgai, "broker-restart");
        posting = stack.PostAllAsync(phase, tolerateFailures: true);
        await stack.WaitForEmbeddingsAsync(minimum: stack.EmbeddingsSoFar + 20);
        await stack.Rabbit.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(3), Token);
        await stack.Rabbit.StartAgainAsync();
        await stack.RepostFailedAsync(await posting);
        log.Add(await stack.CheckAsync("RabbitMQ restart", phase.Select(d => d.Id)));

        // 3. PostgreSQL restarts (every pooled connection breaks).
        phase = Phase(pgai, "database-restart");
        posting = stack.PostAllAsync(phase, tolerateFailures: true);
        await stack.WaitForEmbeddingsAsync(minimum: stack.EmbeddingsSoFar + 20);
        await stack.Postgres.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), Token);
        await stack.Postgres.StartAgainAsync();
        await stack.RepostFailedAsync(await posting);
        log.Add(await stack.CheckAsync("PostgreSQL restart", phase.Select(d => d.Id)));

        // 4. The model server answers 503 for a while (the worker retries with backoff, then succeeds).
        phase = Phase(pgai, "model-outage");
        posting = stack.PostAllAsync(phase);
        await stack.WaitForEmbeddingsAsync(minimum: stack.EmbeddingsSoFar + 20);
        stack.Model.AlwaysFault = FakeFault.Status(503);
        await Task.Delay(TimeSpan.FromSeconds(6), Token);
        stack.Model.AlwaysFault = FakeFault.Slow(TimeSpan.FromMilliseconds(20));
        await posting;
        log.Add(await stack.CheckAsync("model server outage", phase.Select(d => d.Id)));

        Assert.Equal(0L, await stack.ScalarAsync("SELECT count(*) FROM embedding_errors"));
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, log));
    }

    [Fact]
    public async Task A_crash_between_commit_and_publish_is_made_good_permanent_failures_retry_and_status_streams_to_ready()
    {
        await using var stack = await Stack.StartAsync(workers: 1);
        var log = new List<string>();

        // Ingest.Api killed right after the commit, before publishing: the redelivery sweep of the other replica publishes.
        await using var crashing = await ServiceProcess.StartAsync("ingest-api-crashing", "Ingest.Api", With(stack.Environment,
            ("VP_TEST_CRASH_AFTER_COMMIT", "1"), ("Delivery__RedeliveryEnabled", "false")));
        using (var client = new HttpClient { BaseAddress = crashing.Url })
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsJsonAsync("/documents",
                new { id = "crash/after-commit", text = Paragraphs("crash", 6) }, Token));
        }

        for (var i = 0; i < 50 && !crashing.HasExited; i++)
        {
            await Task.Delay(100, Token);
        }

        Assert.True(crashing.HasExited, "Ingest.Api with VP_TEST_CRASH_AFTER_COMMIT=1 is still running");
        var clock = Stopwatch.StartNew();
        Assert.True(await stack.ScalarAsync("SELECT count(*) FROM chunks WHERE document_id = 'crash/after-commit' AND queued_at IS NOT NULL") > 0);
        Assert.Equal(0L, await stack.ScalarAsync("SELECT count(*) FROM embeddings e JOIN chunks c ON c.id = e.chunk_id WHERE c.document_id = 'crash/after-commit'"));

        // The status streams as server-sent events until the document is ready.
        var events = await stack.ReadEventsAsync("crash/after-commit", TimeSpan.FromSeconds(60));
        Assert.Equal("queued", events[0].GetProperty("status").GetString());
        Assert.Equal("ready", events[^1].GetProperty("status").GetString());
        Assert.Equal(events.Count, events.Select(e => e.GetRawText()).Distinct().Count());
        log.Add($"crash after commit: ready after {clock.Elapsed.TotalSeconds:F1} s through the redelivery sweep; {events.Count} status events");
        log.Add(await stack.CheckAsync("Ingest.Api killed between commit and publish", ["crash/after-commit"]));

        // A permanent error (401) marks chunks failed at once, without the retry loop; retry puts them back.
        stack.Model.AlwaysFault = FakeFault.Status(401);
        stack.Model.Reset();
        await stack.PostAsync("refused/one", Paragraphs("refused one", 3));
        await stack.PostAsync("refused/two", Paragraphs("refused two", 2));
        var failed = await stack.WaitForStatusAsync("refused/one", "failed");
        await stack.WaitForStatusAsync("refused/two", "failed");
        Assert.Equal(3, failed.GetProperty("chunks").GetProperty("failed").GetInt32());
        Assert.Contains("401", failed.GetProperty("errors")[0].GetProperty("error").GetString());
        Assert.True(stack.Model.Attempts <= 4, $"{stack.Model.Attempts} embedding requests for two refused documents: the worker retried a permanent error");
        log.Add(await stack.CheckAsync("permanent provider error", ["refused/one", "refused/two"], allowFailed: true));

        stack.Model.ClearFaults();
        var retry = await stack.Ingest.PostAsync("/documents/refused/one/retry", null, Token);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var retried = await retry.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal(3, retried.GetProperty("queued").GetInt32());
        Assert.Contains(retried.GetProperty("status").GetString(), new[] { "queued", "embedding", "ready" });
        await stack.WaitForStatusAsync("refused/one", "ready");
        Assert.Equal("failed", (await stack.StatusAsync("refused/two")).GetProperty("status").GetString());
        var all = await stack.Ingest.PostAsync("/documents/retry-failed", null, Token);
        Assert.Equal(HttpStatusCode.Accepted, all.StatusCode);
        Assert.Equal(2, (await all.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("queued").GetInt32());
        await stack.WaitForStatusAsync("refused/two", "ready");
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Ingest.PostAsync("/documents/no-such-document/retry", null, Token)).StatusCode);
        log.Add(await stack.CheckAsync("retry", ["refused/one", "refused/two"]));

        // A deleted document is not searchable at once, and messages still in flight for it embed nothing.
        var unique = "Zanzibar quokkas juggle marmalade beside the lighthouse.";
        await stack.PostAsync("deleted/soon", unique);
        await stack.WaitForStatusAsync("deleted/soon", "ready");
        Assert.Equal("deleted/soon", await stack.TopDocumentAsync(unique));
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Ingest.DeleteAsync("/documents/deleted/soon", Token)).StatusCode);
        Assert.NotEqual("deleted/soon", await stack.TopDocumentAsync(unique));

        stack.Model.AlwaysFault = FakeFault.Status(503);
        var inFlight = Paragraphs("in flight then deleted", 4);
        await stack.PostAsync("deleted/in-flight", inFlight);
        await Task.Delay(500, Token);
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Ingest.DeleteAsync("/documents/deleted/in-flight", Token)).StatusCode);
        // An attempt that read the chunks just before the delete may still be in its HTTP retry against the 503s (one
        // retry after 100 ms, Embedding:MaxRetries 1): it is already at the model. Every attempt that starts after the
        // delete reads the chunks again and must send nothing, which is what the model's record shows from here on.
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token);
        stack.Model.Reset();
        stack.Model.ClearFaults();
        await stack.PostAsync("after-delete", "A document posted after the delete, to know when the queue has moved on.");
        await stack.WaitForStatusAsync("after-delete", "ready");
        await Task.Delay(TimeSpan.FromSeconds(3), Token);
        Assert.DoesNotContain(stack.Model.ReceivedTexts, t => t.Contains("in flight then deleted", StringComparison.Ordinal));
        Assert.Equal(0L, await stack.ScalarAsync("SELECT count(*) FROM chunks WHERE document_id LIKE 'deleted/%'"));
        log.Add(await stack.CheckAsync("deleted documents", ["after-delete"]));

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, log));
    }

    [Fact]
    public async Task With_RabbitMQ_down_for_a_minute_every_post_answers_202_or_503_in_time_and_every_document_ends_ready()
    {
        const int publishTimeoutSeconds = 3;
        await using var stack = await Stack.StartAsync(workers: 1, ("Delivery__PublishTimeoutSeconds", publishTimeoutSeconds.ToString(CultureInfo.InvariantCulture)));
        using var probe = new HttpClient { BaseAddress = stack.Ingest.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health", Token)).StatusCode);
        await stack.PostAsync("outage/before", Paragraphs("before the outage", 2));

        await stack.Rabbit.StopAsync();
        var outage = Stopwatch.StartNew();
        var answers = new List<(string Id, HttpStatusCode Status, TimeSpan Took)>();
        var healthDuringOutage = new List<HttpStatusCode>();
        var n = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(60))
        {
            // Two posts at a time, so that some wait on the broker together.
            var batch = Enumerable.Range(0, 2).Select(async _ =>
            {
                var id = $"outage/{Interlocked.Increment(ref n)}";
                var clock = Stopwatch.StartNew();
                var response = await stack.Ingest.PostAsJsonAsync("/documents", new { id, text = Paragraphs($"outage document {id}", 3) }, Token);
                lock (answers)
                {
                    answers.Add((id, response.StatusCode, clock.Elapsed));
                }

                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    Assert.Equal(id, problem.GetProperty("id").GetString());
                    Assert.DoesNotContain("guest", problem.GetRawText(), StringComparison.Ordinal);
                }
            }).ToList();
            await Task.WhenAll(batch);
            healthDuringOutage.Add((await probe.GetAsync("/health", Token)).StatusCode);
        }

        await stack.Rabbit.StartAgainAsync();
        var summary = string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{(int)g.Key}: {g.Count()}"));
        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, $"{a.Id}: {(int)a.Status}"));
        // In time: the publish gives up after Delivery:PublishTimeoutSeconds; the rest is the database commit on a busy machine.
        var slowest = answers.Max(a => a.Took);
        Assert.True(slowest < TimeSpan.FromSeconds(publishTimeoutSeconds + 10), $"slowest post took {slowest.TotalSeconds:F1} s ({summary})");
        Assert.Contains(answers, a => a.Status == HttpStatusCode.ServiceUnavailable);
        Assert.True(answers.Count >= 10, $"only {answers.Count} posts in a minute ({summary})");
        // The broker is reported unreachable within a few probes of the outage; every later probe says so too.
        Assert.All(healthDuringOutage.Skip(2), status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));

        // Once the broker is back, the redelivery sweep publishes the chunks of every 503 document.
        var ids = answers.Select(a => a.Id).Append("outage/before").ToList();
        var check = await stack.CheckAsync("RabbitMQ down for a minute", ids);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await probe.GetAsync("/health", Token)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "Ingest.Api /health still unhealthy 30 s after the broker came back");
            await Task.Delay(500, Token);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{answers.Count} posts during a {outage.Elapsed.TotalSeconds:F0} s outage ({summary}); slowest {slowest.TotalSeconds:F1} s; {check}");
    }

    private static List<SampleDocument> Phase(List<SampleDocument> documents, string phase) =>
        documents.Select(d => d with
        {
            Id = $"{phase}/{d.Id}",
            // Every paragraph changes, so each phase needs new embeddings (no copy by content hash).
            Text = d.Text.Replace("\n\n", $" [{phase}]\n\n", StringComparison.Ordinal),
        }).ToList();

    private static string Paragraphs(string topic, int count) =>
        string.Join("\n\n", Enumerable.Range(1, count).Select(i => $"Paragraph {i} about {topic}: " + string.Concat(Enumerable.Repeat($"{topic} sentence number {i} carries enough words to fill a chunk. ", 14))));

    private static Dictionary<string, string> With(Dictionary<string, string> environment, params (string Key, string Value)[] extra)
    {
        var result = new Dictionary<string, string>(environment);
        foreach (var (key, value) in extra)
        {
            result[key] = value;
        }

        return result;
    }

    /// <summary>PostgreSQL, RabbitMQ, the model server, Ingest.Api, the workers and Search.Api, and the checks.</summary>
    private sealed class Stack : IAsyncDisposable
    {
        private readonly List<ServiceProcess> _services = [];

        private Stack(PostgresServer postgres, RabbitMqServer rabbit, FakeEmbeddingServer model, Dictionary<string, string> environment)
        {
            (Postgres, Rabbit, Model, Environment) = (postgres, rabbit, model, environment);
        }

        public PostgresServer Postgres { get; }

        public RabbitMqServer Rabbit { get; }

        public FakeEmbeddingServer Model { get; }

        public Dictionary<string, string> Environment { get; }

        public List<ServiceProcess> Workers { get; } = [];

        public HttpClient Ingest { get; private set; } = null!;

        public HttpClient Search { get; private set; } = null!;

        public long EmbeddingsSoFar { get; private set; }

        public static async Task<Stack> StartAsync(int workers, params (string Key, string Value)[] settings)
        {
            var starting = (Postgres: PostgresServer.StartAsync(), Rabbit: RabbitMqServer.StartAsync(), Model: FakeEmbeddingServer.StartAsync(Dimensions));
            var stack = new Stack(await starting.Postgres, await starting.Rabbit, await starting.Model, []);
            stack.Environment["ConnectionStrings__vectordb"] = stack.Postgres.ConnectionString();
            stack.Environment["ConnectionStrings__messaging"] = stack.Rabbit.ConnectionString;
            stack.Environment["Embedding__Provider"] = "http";
            stack.Environment["Embedding__Endpoint"] = stack.Model.BaseAddress.ToString();
            stack.Environment["Embedding__Model"] = FaultTests.Model;
            stack.Environment["Embedding__Dimensions"] = Dimensions.ToString(CultureInfo.InvariantCulture);
            // Provider: few, quick retries and a short circuit break; worker: many retries, so an outage of a few
            // seconds ends in embeddings, not failures.
            stack.Environment["Embedding__MaxRetries"] = "1";
            stack.Environment["Embedding__RetryBaseDelayMs"] = "100";
            stack.Environment["Embedding__BreakDurationSeconds"] = "1";
            stack.Environment["Embedding__RetryLimit"] = "12";
            stack.Environment["Embedding__BatchMessageLimit"] = "16";
            stack.Environment["Delivery__RedeliverAfterSeconds"] = "4";
            stack.Environment["Delivery__SweepIntervalMs"] = "1000";
            stack.Environment["DocumentEvents__PollIntervalMs"] = "100";
            // MassTransit's connection and receive-transport messages (reconnects, retries, a transport that gives up) in the
            // output that a failed repost prints.
            stack.Environment["Logging__LogLevel__MassTransit"] = "Information";
            foreach (var (key, value) in settings)
            {
                stack.Environment[key] = value;
            }

            try
            {
                var services = await Task.WhenAll(
                    [ServiceProcess.StartAsync("ingest-api", "Ingest.Api", stack.Environment),
                     ServiceProcess.StartAsync("search-api", "Search.Api", stack.Environment),
                     .. Enumerable.Range(1, workers).Select(w => ServiceProcess.StartAsync($"embed-worker-{w}", "Embed.Worker", stack.Environment))]);
                stack._services.AddRange(services);
                stack.Workers.AddRange(services[2..]);
                stack.Ingest = new HttpClient { BaseAddress = services[0].Url, Timeout = TimeSpan.FromSeconds(30) };
                stack.Search = new HttpClient { BaseAddress = services[1].Url, Timeout = TimeSpan.FromSeconds(30) };
                return stack;
            }
            catch
            {
                await stack.DisposeAsync();
                throw;
            }
        }

        public async Task<ServiceProcess> StartWorkerAsync(string name)
        {
            var worker = await ServiceProcess.StartAsync(name, "Embed.Worker", Environment);
            _services.Add(worker);
            return worker;
        }

        public async Task PostAsync(string id, string text)
        {
            var response = await Ingest.PostAsJsonAsync("/documents", new { id, text }, Token);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        /// <summary>The last failed post tolerated by <see cref="PostAllAsync"/>, for messages.</summary>
        public string? LastPostFailure { get; private set; }

        /// <summary>Posts the documents, 4 at a time; returns those whose post failed (only tolerated when asked: a fault may be on).</summary>
        public async Task<List<SampleDocument>> PostAllAsync(List<SampleDocument> documents, bool tolerateFailures = false)
        {
            var failed = new List<SampleDocument>();
            await Parallel.ForEachAsync(documents, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (document, ct) =>
            {
                try
                {
                    var response = await Ingest.PostAsJsonAsync("/documents", new { id = document.Id, title = document.Title, text = document.Text, source = document.Source }, ct);
                    if (response.StatusCode != HttpStatusCode.Accepted)
                    {
                        var reason = $"POST {document.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
                        Assert.True(tolerateFailures, reason);
                        lock (failed) { failed.Add(document); LastPostFailure = reason; }
                    }
                }
                catch (Exception ex) when (tolerateFailures && ex is HttpRequestException or TaskCanceledException)
                {
                    lock (failed) { failed.Add(document); LastPostFailure = $"POST {document.Id}: {ex.GetType().Name} {ex.Message}"; }
                }
            });
            return failed;
        }

        /// <summary>
        /// What a client does after an error answer: post again. A 503 "stored, not queued" needs no repost (the
        /// redelivery sweep queues the chunks), but reposting is what the API says and is harmless.
        /// </summary>
        public async Task RepostFailedAsync(List<SampleDocument> failed)
        {
            // Generous: a loaded CI machine takes a while to bring RabbitMQ or PostgreSQL back and reconnect, and a
            // publisher stuck after the broker restart is restarted only after a stall window (30 s), a check (5 s) and
            // a bus stop of up to 45 s (PublisherRecoveryService).
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (failed.Count > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{failed.Count} documents could not be posted again within 180 s; last failure: {LastPostFailure}\n" +
                    $"Ingest.Api's last output:\n{string.Join('\n', _services[0].Output.TakeLast(40))}\n{Rabbit.Diagnostics()}");
                await Task.Delay(500, Token);
                failed = await PostAllAsync(failed, tolerateFailures: true);
            }
        }

        public async Task WaitForEmbeddingsAsync(long minimum)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await ScalarAsync("SELECT count(*) FROM embeddings") < minimum)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fewer than {minimum} embeddings after 60 s");
                await Task.Delay(50, Token);
            }
        }

        public async Task<JsonElement> StatusAsync(string id) =>
            await Ingest.GetFromJsonAsync<JsonElement>(DocumentUrl(id), Token);

        public async Task<JsonElement> WaitForStatusAsync(string id, string status, int seconds = 60)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (true)
            {
                var state = await StatusAsync(id);
                if (state.GetProperty("status").GetString() == status)
                {
                    return state;
                }

                Assert.True(DateTime.UtcNow < deadline, $"{id} is not {status} after {seconds} s: {state}");
                await Task.Delay(100, Token);
            }
        }

        /// <summary>Reads <c>GET /documents/{id}/events</c> until the server ends the stream; returns the status events' data.</summary>
        public async Task<List<JsonElement>> ReadEventsAsync(string id, TimeSpan timeout)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
            cancel.CancelAfter(timeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, DocumentUrl(id) + "/events");
            using var response = await Ingest.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            var events = new List<JsonElement>();
            string? type = null;
            while (await reader.ReadLineAsync(cancel.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    type = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "status")
                {
                    events.Add(JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone());
                }
            }

            return events;
        }

        /// <summary>The document of the best vector search hit for <paramref name="query"/> (null when nothing is found).</summary>
        public async Task<string?> TopDocumentAsync(string query)
        {
            var response = await Search.PostAsJsonAsync("/search", new { query, topK = 1 }, Token);
            response.EnsureSuccessStatusCode();
            var results = (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("results");
            return results.GetArrayLength() == 0 ? null : results[0].GetProperty("documentId").GetString();
        }

        /// <summary>
        /// Waits until no chunk of the active model is waiting (every chunk embedded or failed), then checks the
        /// invariants: no chunk lost, no duplicate embedding, each document's chunk rows match its chunk count, every
        /// document of <paramref name="ids"/> found by a vector search restricted to it (unless failed and allowed).
        /// </summary>
        public async Task<string> CheckAsync(string fault, IEnumerable<string> ids, bool allowFailed = false)
        {
            var clock = Stopwatch.StartNew();
            const string waiting = """
                SELECT count(*) FROM chunks c, embedding_models m
                 WHERE m.active AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = m.id)
                   AND NOT EXISTS (SELECT 1 FROM embedding_errors x WHERE x.chunk_id = c.id AND x.model_id = m.id)
                """;
            long lost;
            while ((lost = await ScalarAsync(waiting)) > 0)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"{fault}: {lost} chunks still have neither an embedding nor a recorded failure after 90 s");
                await Task.Delay(200, Token);
            }

            var duplicates = await ScalarAsync("SELECT count(*) - count(DISTINCT chunk_id) FROM embeddings e JOIN embedding_models m ON m.id = e.model_id AND m.active");
            Assert.True(duplicates == 0, $"{fault}: {duplicates} duplicate embeddings");
            var mismatched = await ScalarAsync("SELECT count(*) FROM documents d WHERE d.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)");
            Assert.True(mismatched == 0, $"{fault}: {mismatched} documents whose chunk rows differ from their chunk count");
            var failed = await ScalarAsync("SELECT count(DISTINCT chunk_id) FROM embedding_errors x WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = x.chunk_id AND e.model_id = x.model_id)");
            Assert.True(allowFailed || failed == 0, $"{fault}: {failed} chunks failed");

            var list = ids.ToList();
            var searchErrors = 0;
            foreach (var id in list)
            {
                var state = await StatusAsync(id);
                var status = state.GetProperty("status").GetString();
                Assert.True(status == "ready" || (allowFailed && status == "failed"), $"{fault}: {id} is {status}: {state}");
                if (status == "ready")
                {
                    var query = new { query = state.TryGetProperty("title", out var title) ? title.GetString() : id, topK = 1, filter = new { documentIds = new[] { id } } };
                    var response = await Search.PostAsJsonAsync("/search", query, Token);
                    if (response.StatusCode == HttpStatusCode.InternalServerError)
                    {
                        // The first use of a pooled connection broken by a database restart fails once; Npgsql then drops the pool.
                        searchErrors++;
                        response = await Search.PostAsJsonAsync("/search", query, Token);
                    }

                    response.EnsureSuccessStatusCode();
                    var results = (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("results");
                    Assert.True(results.GetArrayLength() == 1, $"{fault}: search does not find {id}");
                }
            }

            EmbeddingsSoFar = await ScalarAsync("SELECT count(*) FROM embeddings");
            var chunks = await ScalarAsync("SELECT count(*) FROM chunks");
            return string.Create(CultureInfo.InvariantCulture,
                $"{fault}: {list.Count} documents checked, {chunks} chunks, {EmbeddingsSoFar} embeddings, {failed} failed, 0 lost, 0 duplicates, {searchErrors} searches answered 500 once; settled {clock.Elapsed.TotalSeconds:F1} s after the fault phase");
        }

        public async Task<long> ScalarAsync(string sql)
        {
            // A fresh connection each time, without pooling: the database may have just restarted.
            await using var connection = new NpgsqlConnection(Postgres.ConnectionString() + ";Pooling=false");
            await connection.OpenAsync(Token);
            await using var command = new NpgsqlCommand(sql, connection);
            return Convert.ToInt64(await command.ExecuteScalarAsync(Token), CultureInfo.InvariantCulture);
        }

        private static string DocumentUrl(string id) => "/documents/" + string.Join('/', id.Split('/').Select(Uri.EscapeDataString));

        public async ValueTask DisposeAsync()
        {
            Ingest?.Dispose();
            Search?.Dispose();
            foreach (var service in _services)
            {
                await service.DisposeAsync();
            }

            await Model.DisposeAsync();
            await Rabbit.DisposeAsync();
            await Postgres.DisposeAsync();
        }
    }
}
