using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>
/// Distributed tracing and pipeline metrics as exported: Ingest.Api, two Embed.Worker processes and Search.Api run
/// as processes against real PostgreSQL and RabbitMQ and export over OTLP/HTTP (protobuf) to an endpoint this test
/// listens on (<see cref="OtlpReceiver"/>). The test decodes the spans and checks that each document's trace holds
/// its ingest request and chunk publishes, that every batch consume links to the publish of each of its messages
/// and holds the embedding call and the vector write, that no parent is missing, that both workers report under
/// their own <c>service.instance.id</c>, and that a search is one trace from request through query embedding to SQL.
/// </summary>
public sealed class TracingTests
{
    private const int Documents = 12;
    private const int SentencesPerDocument = 6;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_trace_per_document_from_request_to_stored_vectors_and_per_search_from_request_to_SQL()
    {
        var clock = Stopwatch.StartNew();
        await using var otlp = await OtlpReceiver.StartAsync();
        var starting = (Postgres: PostgresServer.StartAsync(), Rabbit: RabbitMqServer.StartAsync());
        await using var postgres = await starting.Postgres;
        await using var rabbit = await starting.Rabbit;
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = postgres.ConnectionString(),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            // Small chunks, at most 3 per document, and batches of up to 8 messages that wait up to 1 s to fill:
            // a full batch necessarily holds chunks of several documents.
            ["Chunking__MaxChunkChars"] = "200",
            ["Chunking__OverlapChars"] = "0",
            ["Embedding__BatchMessageLimit"] = "8",
            ["Embedding__BatchTimeLimitMs"] = "1000",
            ["Embedding__ConcurrencyLimit"] = "1",
        };
        // One worker is given its instance id as Aspire does; the other one makes its own (host name and process id).
        var services = await Task.WhenAll(
            ServiceProcess.StartAsync("ingest-api", "Ingest.Api", With(environment, ("OTEL_SERVICE_NAME", "ingest-api"))),
            ServiceProcess.StartAsync("embed-worker-1", "Embed.Worker", With(environment, ("OTEL_SERVICE_NAME", "embed-worker"), ("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=embed-worker-a,deployment.environment.name=test"))),
            ServiceProcess.StartAsync("embed-worker-2", "Embed.Worker", With(environment, ("OTEL_SERVICE_NAME", "embed-worker"))),
            ServiceProcess.StartAsync("search-api", "Search.Api", With(environment, ("OTEL_SERVICE_NAME", "search-api"))));
        var (ingest, search, secondWorkerProcess) = (services[0], services[3], services[2].ProcessId);
        var started = clock.Elapsed;

        Dictionary<string, int> queued;
        string searchQuery;
        try
        {
            using var ingestClient = new HttpClient { BaseAddress = ingest.Url };
            using var searchClient = new HttpClient { BaseAddress = search.Url };
            var ids = Enumerable.Range(1, Documents).Select(d => $"trace-doc-{d}").ToList();
            var answers = await Task.WhenAll(ids.Select(async id =>
            {
                var response = await ingestClient.PostAsJsonAsync("/documents", new { id, title = id, text = DocumentText(id) }, Token);
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                return (id, (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("queued").GetInt32());
            }));
            queued = answers.ToDictionary(a => a.id, a => a.Item2);
            Assert.All(queued, q => Assert.InRange(q.Value, 2, 3));
            await WaitUntilReadyAsync(ingestClient, ids);

            searchQuery = "sentence 3 of trace-doc-5";
            var found = await searchClient.PostAsJsonAsync("/search", new { query = searchQuery, topK = 3 }, Token);
            Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        }
        finally
        {
            // SIGTERM: each host stops and flushes its spans and metrics before it exits.
            var stopped = await Task.WhenAll(services.Select(s => s.StopAsync(TimeSpan.FromSeconds(20))));
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }

            Assert.All(stopped, Assert.True);
        }

        var spans = otlp.Spans;
        var log = TestContext.Current.TestOutputHelper;
        Assert.Empty(otlp.Errors);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tracing: services up after {started.TotalSeconds:F1} s, done after {clock.Elapsed.TotalSeconds:F1} s; {spans.Count} spans in {otlp.TraceExports} trace exports, {otlp.LogExports} log exports, {otlp.MetricPoints.Count} metric points"));
        foreach (var group in spans.GroupBy(s => (s.ServiceName, s.Scope, s.Kind, Name: Normalise(s.Name))).OrderBy(g => g.Key.ServiceName).ThenBy(g => g.Key.Scope))
        {
            log?.WriteLine($"tracing:   {group.Count(),5} x {group.Key.ServiceName} [{group.Key.Scope}] {group.Key.Kind} '{group.Key.Name}'");
        }

        var byId = spans.GroupBy(s => (s.TraceId, s.SpanId)).ToDictionary(g => g.Key, g => g.First());
        var children = spans.Where(s => s.ParentSpanId.Length > 0).ToLookup(s => (s.TraceId, s.ParentSpanId));

        // Every parent is there: no chain is broken, across processes included.
        var orphans = spans.Where(s => s.ParentSpanId.Length > 0 && !byId.ContainsKey((s.TraceId, s.ParentSpanId))).ToList();
        Assert.True(orphans.Count == 0, $"{orphans.Count} spans name a parent that was not exported, e.g.\n{string.Join('\n', orphans.Take(5))}");

        // ASP.NET Core's OpenTelemetry tags are on (the .NET 10 switch), completed at the end of the request (route, status, name).
        var ingestRequests = spans.Where(s => s.ServiceName == "ingest-api" && s.Kind == OtlpSpanKind.Server && s.Attribute("vectorpipeline.document.id") is not null).ToList();
        Assert.All(ingestRequests, r => Assert.Equal(("POST", "/documents", "202", "POST /documents/"),
            (r.Attribute("http.request.method"), r.Attribute("url.path"), r.Attribute("http.response.status_code"), r.Name)));

        var batches = spans.Where(s => s.Name == "embed-chunk batch").ToList();
        Assert.NotEmpty(batches);
        foreach (var id in queued.Keys)
        {
            var request = Assert.Single(ingestRequests, r => r.Attribute("vectorpipeline.document.id") == id);
            Assert.Equal("", request.ParentSpanId);
            var sends = Descendants(request, children).Where(s => s.Kind == OtlpSpanKind.Producer && s.Scope == "MassTransit").ToList();
            Assert.True(sends.Count == queued[id], $"{id}: {sends.Count} publish spans in its trace for {queued[id]} chunks queued");
            foreach (var send in sends)
            {
                // RabbitMQ delivered the message to a worker, whose receive span continues the document's trace ...
                Assert.Contains(children[(send.TraceId, send.SpanId)], r => r.Kind == OtlpSpanKind.Consumer && r.ServiceName == "embed-worker");
                // ... and the batch that embedded it links to the publish, whichever trace the batch itself is in.
                var batch = Assert.Single(batches, b => b.Links.Contains(new OtlpLink(send.TraceId, send.SpanId)));
                var below = Descendants(batch, children).ToList();
                Assert.True(below.Any(s => s.Scope == "VectorPipeline.Embeddings" && s.Attribute("vectorpipeline.embedding.input") == "document"),
                    $"{id}: batch {batch} has no embedding call below it");
                var store = below.Where(s => s.Name.StartsWith("store embeddings ", StringComparison.Ordinal)).ToList();
                Assert.True(store.Count > 0, $"{id}: batch {batch} has no vector write below it");
                // The vectors' one statement (EmbeddingStore.WriteAsync: INSERT ... SELECT FROM unnest), as an Npgsql span below the write.
                Assert.Contains(store.SelectMany(s => Descendants(s, children)), s => s.Scope == "Npgsql"
                    && (s.Attribute("db.query.text") ?? s.Attribute("db.statement") ?? "").Contains("INSERT INTO embeddings", StringComparison.Ordinal));
            }
        }

        // Every batch links to exactly its messages' publishes, and at least one batch mixed documents.
        Assert.Equal(queued.Values.Sum(), batches.Sum(b => b.Links.Count));
        Assert.Contains(batches, b => b.Links.Select(l => l.TraceId).Distinct().Count() >= 2);

        // Both workers consumed, each under its own service.instance.id.
        var instances = batches.Select(b => b.ServiceInstanceId).Distinct().Order().ToList();
        Assert.Equal(2, instances.Count);
        Assert.Contains("embed-worker-a", instances);
        Assert.Contains(instances, i => i.EndsWith($"-{secondWorkerProcess}", StringComparison.Ordinal));
        Assert.All(spans.Where(s => s.ServiceInstanceId == "embed-worker-a"), s => Assert.Equal("test", s.Resource.GetValueOrDefault("deployment.environment.name")));

        // A search: request -> query embedding -> SQL, one trace.
        var searchRequest = Assert.Single(spans, s => s.ServiceName == "search-api" && s.Kind == OtlpSpanKind.Server && s.Attribute("url.path") == "/search");
        Assert.Equal(("POST /search", "200", ""), (searchRequest.Name, searchRequest.Attribute("http.response.status_code"), searchRequest.ParentSpanId));
        var searchSpans = Descendants(searchRequest, children).ToList();
        var queryEmbedding = Assert.Single(searchSpans, s => s.Scope == "VectorPipeline.Embeddings");
        Assert.Equal("query", queryEmbedding.Attribute("vectorpipeline.embedding.input"));
        Assert.Contains(searchSpans, s => s.Scope == "Npgsql" && s.Kind == OtlpSpanKind.Client && s.StartUnixNano >= queryEmbedding.EndUnixNano);

        CheckMetrics(otlp, queued.Values.Sum(), log);
        Assert.True(otlp.LogExports > 0, "no logs were exported");
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tracing: {queued.Count} documents, {queued.Values.Sum()} chunks in {batches.Count} batches (sizes {string.Join(" ", batches.Select(b => b.Links.Count))}, documents per batch {string.Join(" ", batches.Select(b => b.Links.Select(l => l.TraceId).Distinct().Count()))}) on {string.Join(", ", instances)}; search '{searchQuery}': {searchSpans.Count + 1} spans"));
    }

    // The pipeline metrics arrive over OTLP with their units; counts add up across the two workers (cumulative sums: the last export of each series).
    private static void CheckMetrics(OtlpReceiver otlp, int chunks, ITestOutputHelper? log)
    {
        var latest = otlp.MetricPoints
            .GroupBy(p => (p.Point.ServiceInstanceId, p.Point.Name, Attributes: string.Join(',', p.Point.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))))
            .Select(g => g.MaxBy(p => p.Export).Point)
            .ToList();
        foreach (var metric in latest.Where(p => p.Name.StartsWith("vectorpipeline.", StringComparison.Ordinal)).GroupBy(p => (p.Name, p.Unit, p.Kind)))
        {
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"metrics: {metric.Key.Name} [{metric.Key.Unit}] {metric.Key.Kind}: value {metric.Sum(p => p.Value):G4}, count {metric.Sum(p => (double)p.Count)}"));
        }

        IReadOnlyList<OtlpMetricPoint> Metric(string name, string unit, OtlpMetricKind kind)
        {
            var points = latest.Where(p => p.Name == name).ToList();
            Assert.True(points.Count > 0, $"metric {name} was not exported");
            Assert.All(points, p => Assert.Equal((unit, kind), (p.Unit, p.Kind)));
            return points;
        }

        Assert.Equal(chunks, Metric("vectorpipeline.chunks.published", "{chunk}", OtlpMetricKind.Sum).Where(p => p.Attributes.GetValueOrDefault("origin") == "document").Sum(p => p.Value));
        Assert.Equal(chunks, Metric("vectorpipeline.chunks.embedded", "{chunk}", OtlpMetricKind.Sum).Sum(p => p.Value));
        Assert.Equal(chunks, Metric("vectorpipeline.messages.handled", "{message}", OtlpMetricKind.Sum).Sum(p => p.Value));
        var batchSizes = Metric("vectorpipeline.batch.size", "{message}", OtlpMetricKind.Histogram);
        Assert.Equal(chunks, batchSizes.Sum(p => p.Value));
        Assert.True(Metric("vectorpipeline.embedding.duration", "s", OtlpMetricKind.Histogram).Sum(p => (double)p.Count) >= batchSizes.Sum(p => (double)p.Count));
        var lag = Metric("vectorpipeline.chunk.lag", "s", OtlpMetricKind.Histogram);
        Assert.Equal((ulong)chunks, lag.Aggregate(0UL, (sum, p) => sum + p.Count));
        Assert.InRange(lag.Sum(p => p.Value) / chunks, 0, 60);
    }

    private static IEnumerable<OtlpSpan> Descendants(OtlpSpan span, ILookup<(string TraceId, string ParentSpanId), OtlpSpan> children)
    {
        foreach (var child in children[(span.TraceId, span.SpanId)])
        {
            yield return child;
            foreach (var below in Descendants(child, children))
            {
                yield return below;
            }
        }
    }

    // Unique sentences (no two chunks share a text, so none is reused by content hash), about 3 chunks of 200 characters.
    private static string DocumentText(string id)
    {
        var text = new StringBuilder();
        for (var i = 1; i <= SentencesPerDocument; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"This is sentence {i} of {id}, written for the tracing test number {i * 7}. ");
        }

        return text.ToString();
    }

    private static async Task WaitUntilReadyAsync(HttpClient ingest, List<string> ids)
    {
        var deadline = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            while (true)
            {
                var state = await ingest.GetFromJsonAsync<JsonElement>($"/documents/{id}", Token);
                if (state.GetProperty("status").GetString() == "ready")
                {
                    break;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"{id} not ready after 60 s: {state}");
                await Task.Delay(100, Token);
            }
        }
    }

    private static Dictionary<string, string> With(Dictionary<string, string> environment, params (string Key, string Value)[] more)
    {
        var copy = new Dictionary<string, string>(environment);
        foreach (var (key, value) in more)
        {
            copy[key] = value;
        }

        return copy;
    }

    // Span names with ids in them (none expected, but keep the summary short) are grouped as they are.
    private static string Normalise(string name) => name.Length > 60 ? name[..60] + "…" : name;
}
