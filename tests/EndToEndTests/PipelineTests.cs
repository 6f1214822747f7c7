using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>
/// The pipeline as users run it: real PostgreSQL and RabbitMQ, Ingest.Api, two Embed.Worker processes
/// and Search.Api as separate processes, real documents, labelled questions; then a live switch to a
/// second model of other dimensions served over HTTP, while searches keep answering.
/// </summary>
public sealed partial class PipelineTests
{
    // The primary model: the built-in semantic model the services use by default (this test is about meaning).
    private const string PrimaryModel = "arctic-embed-xs@384";

    // Floors set from a measured run with arctic-embed-xs (2026-12-01, 477 chunks): recall@1 0.654, recall@5 0.925
    // (HNSW is approximate and two workers insert in varying order, so leave some margin). The hashing embedder measured
    // 0.444 and 0.670 here, below both floors.
    private const double RecallAt1Floor = 0.60;
    private const double RecallAt5Floor = 0.88;

    // Hybrid (vector + keyword, reciprocal rank fusion, default weights 1 and 0.05) floor, set from the same run: recall@5 0.928 (see docs/search-quality.md).
    private const double HybridRecallAt5Floor = 0.88;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The second model: served by a local HTTP model server (custom provider), other dimensions.</summary>
    private const string NextModel = "ngram-server";
    private const int NextDimensions = 512;

    [Fact]
    public async Task Documents_become_searchable_then_the_live_system_switches_to_another_model_while_searches_answer()
    {
        Assert.SkipUnless(SampleData.Available, $"sample data not found under {RepositoryPaths.SampleData} (set VECTORPIPELINE_SAMPLE_DATA)");
        var (squad, questions) = SampleData.Squad();
        var pgai = SampleData.PgaiDocs();
        Assert.Equal(54, squad.Count);
        Assert.Equal(810, questions.Count);

        await using var postgres = await PostgresServer.StartAsync();
        await using var rabbit = await RabbitMqServer.StartAsync();
        await using var modelServer = await FakeEmbeddingServer.StartAsync(NextDimensions);
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = postgres.ConnectionString(),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
            // The primary model is the built-in onnx one (named, since test services default to the hashing embedder);
            // every service also knows the next model, as after the configuration roll-out that precedes a model change.
            ["Embedding__Provider"] = "onnx",
            ["Embedding__Models__next__Provider"] = "http",
            ["Embedding__Models__next__Endpoint"] = modelServer.BaseAddress.ToString(),
            ["Embedding__Models__next__Model"] = NextModel,
            ["Embedding__Models__next__Dimensions"] = NextDimensions.ToString(CultureInfo.InvariantCulture),
            // The second model also shows the other distance and index kind working through every service.
            ["Embedding__Models__next__Distance"] = "inner_product",
            ["Embedding__Models__next__Index"] = "ivfflat",
            ["Backfill__CheckIntervalMs"] = "250",
        };
        // All five start at once, as they would under an orchestrator: migrations must serialise themselves.
        var starting = new[]
        {
            ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment),
            ServiceProcess.StartAsync("embed-worker-1", "Embed.Worker", environment),
            ServiceProcess.StartAsync("embed-worker-2", "Embed.Worker", environment),
            ServiceProcess.StartAsync("search-api", "Search.Api", environment),
        };
        var services = await Task.WhenAll(starting);
        try
        {
            var (ingest, workers, search) = (services[0], services[1..3], services[3]);
            using var ingestClient = new HttpClient { BaseAddress = ingest.Url };
            using var searchClient = new HttpClient { BaseAddress = search.Url };

            var documents = squad.Concat(pgai).ToList();
            var clock = Stopwatch.StartNew();
            var totalChunks = await PostAllAsync(ingestClient, documents);
            var posted = clock.Elapsed;
            await WaitUntilReadyAsync(ingestClient, documents);
            var ready = clock.Elapsed;

            var embeddedPerWorker = workers.Select(w => EmbeddedChunks(w, PrimaryModel)).ToArray();
            Assert.All(embeddedPerWorker, count => Assert.True(count > 0, $"a worker embedded nothing: {string.Join(", ", embeddedPerWorker)}"));
            Assert.Equal(totalChunks, embeddedPerWorker.Sum());

            var (recallAt1, recallAt5, mrr, searchTime) = await EvaluateAsync(searchClient, questions);
            var (keywordAt1, keywordAt5, keywordMrr, _) = await EvaluateAsync(searchClient, questions, mode: "keyword");
            var (hybridAt1, hybridAt5, hybridMrr, _) = await EvaluateAsync(searchClient, questions, mode: "hybrid");
            var report = string.Create(CultureInfo.InvariantCulture, $"""
                end-to-end: {documents.Count} documents ({squad.Count} SQuAD paragraphs, {pgai.Count} pgai Markdown files), {totalChunks} chunks
                end-to-end: posted in {posted.TotalSeconds:F1} s, all ready after {ready.TotalSeconds:F1} s ({totalChunks / ready.TotalSeconds:F0} chunks/s); chunks per worker: {string.Join(" + ", embeddedPerWorker)}
                end-to-end: {questions.Count} questions in {searchTime.TotalSeconds:F1} s; recall@1 {recallAt1:F3}, recall@5 {recallAt5:F3}, MRR@5 {mrr:F3} (floors {RecallAt1Floor:F2} / {RecallAt5Floor:F2}; {PrimaryModel})
                end-to-end: keyword recall@1 {keywordAt1:F3}, recall@5 {keywordAt5:F3}, MRR@5 {keywordMrr:F3}; hybrid recall@1 {hybridAt1:F3}, recall@5 {hybridAt5:F3}, MRR@5 {hybridMrr:F3} (hybrid recall@5 floor {HybridRecallAt5Floor:F2})
                """);
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            WriteReport(report);

            Assert.True(recallAt1 >= RecallAt1Floor, $"recall@1 {recallAt1:F3} is below the floor {RecallAt1Floor}");
            Assert.True(recallAt5 >= RecallAt5Floor, $"recall@5 {recallAt5:F3} is below the floor {RecallAt5Floor}");
            Assert.True(hybridAt5 >= HybridRecallAt5Floor, $"hybrid recall@5 {hybridAt5:F3} is below the floor {HybridRecallAt5Floor}");
            Assert.Equal(0, modelServer.Requests);

            var switchReport = await SwitchModelAsync(ingestClient, searchClient, modelServer, documents, questions, totalChunks);
            TestContext.Current.TestOutputHelper?.WriteLine(switchReport);
            WriteReport(report + Environment.NewLine + switchReport);
        }
        finally
        {
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }
        }
    }

    // The model change as docs/embedding-models.md describes it: backfill, watch progress, check the new model, activate, drop the old one.
    private static async Task<string> SwitchModelAsync(HttpClient ingest, HttpClient search, FakeEmbeddingServer modelServer,
        List<SampleDocument> documents, List<LabelledQuestion> questions, int totalChunks)
    {
        var nextKey = $"{NextModel}@{NextDimensions}";
        var models = await ingest.GetFromJsonAsync<JsonElement>("/models", Token);
        Assert.Equal([$"{PrimaryModel}:active", $"{nextKey}:registered"],
            models.EnumerateArray().Select(m => $"{m.GetProperty("key").GetString()}:{m.GetProperty("status").GetString()}"));

        // An unchanged document posted again needs no embedding.
        var unchanged = await ingest.PostAsJsonAsync("/documents", new { id = documents[0].Id, title = documents[0].Title, text = documents[0].Text, source = documents[0].Source, metadata = new { corpus = documents[0].Source } }, Token);
        var unchangedBody = await unchanged.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal(("ready", 0), (unchangedBody.GetProperty("status").GetString(), unchangedBody.GetProperty("queued").GetInt32()));

        using var searching = new SearchLoad(search, questions);
        var clock = Stopwatch.StartNew();
        var backfill = await ingest.PostAsJsonAsync($"/models/{Uri.EscapeDataString(nextKey)}/backfill", new { activateWhenComplete = false }, Token);
        Assert.Equal(HttpStatusCode.Accepted, backfill.StatusCode);

        // While the backfill runs, a new document is embedded with both models.
        var late = await ingest.PostAsJsonAsync("/documents", new { id = "late-document", text = "A document posted while the backfill runs is embedded with both models." }, Token);
        Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);

        var progress = new List<double>();
        JsonElement state;
        do
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), $"backfill not complete after 5 minutes: {string.Join(", ", progress)}");
            await Task.Delay(100, Token);
            state = await ingest.GetFromJsonAsync<JsonElement>($"/models/{Uri.EscapeDataString(nextKey)}", Token);
            progress.Add(state.GetProperty("backfill").GetProperty("percent").GetDouble());
        }
        while (state.GetProperty("status").GetString() != "ready");
        var backfilled = clock.Elapsed;
        var (backfillTexts, backfillRequests) = (modelServer.TextsEmbedded, modelServer.Requests);
        Assert.True(backfillTexts <= totalChunks + 1, $"the model server embedded {backfillTexts} texts for {totalChunks + 1} chunks");
        Assert.Equal(100, progress[^1]);
        Assert.Equal(totalChunks + 1, state.GetProperty("backfill").GetProperty("total").GetInt64());

        // Its IVFFlat index was built when it had no vectors (one list); rebuilding it now takes the row count
        // into account, beside the old index, while searches go on.
        var registered = state.GetProperty("index");
        Assert.Equal(("ivfflat", "inner_product", 1), (registered.GetProperty("method").GetString(), registered.GetProperty("distance").GetString(), registered.GetProperty("lists").GetInt32()));
        var reindex = await ingest.PostAsync($"/models/{Uri.EscapeDataString(nextKey)}/reindex", null, Token);
        Assert.Equal(HttpStatusCode.OK, reindex.StatusCode);
        var reindexed = (await reindex.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("index");
        Assert.Equal("ivfflat", reindexed.GetProperty("method").GetString());
        Assert.NotEqual(registered.GetProperty("name").GetString(), reindexed.GetProperty("name").GetString());

        // Before the switch the default is still the old model, and the new one can be searched by name.
        Assert.Equal(PrimaryModel, await SearchModelAsync(search, null));
        var (nextAt1, nextAt5, nextMrr, _) = await EvaluateAsync(search, questions, nextKey);

        var activate = await ingest.PostAsync($"/models/{Uri.EscapeDataString(nextKey)}/activate", null, Token);
        Assert.Equal(HttpStatusCode.OK, activate.StatusCode);
        Assert.Equal(nextKey, await SearchModelAsync(search, null));
        var late2 = await ingest.GetFromJsonAsync<JsonElement>("/documents/late-document", Token);
        Assert.Equal(("ready", nextKey), (late2.GetProperty("status").GetString(), late2.GetProperty("model").GetString()));

        Assert.Equal(HttpStatusCode.Conflict, (await ingest.DeleteAsync($"/models/{Uri.EscapeDataString(nextKey)}", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await ingest.DeleteAsync($"/models/{Uri.EscapeDataString(PrimaryModel)}", Token)).StatusCode);
        await Task.Delay(500, Token);
        var (searches, failures, modelsSeen) = await searching.StopAsync();
        Assert.True(failures.Count == 0, $"{failures.Count} of {searches} searches failed during the switch, e.g. {failures.FirstOrDefault()}");
        Assert.Equal([PrimaryModel, nextKey], modelsSeen.Order());

        return string.Create(CultureInfo.InvariantCulture, $"""
            model switch: backfill of {nextKey} ({totalChunks + 1} chunks, {backfillTexts} texts sent to the model server in {backfillRequests} requests) reached 100% after {backfilled.TotalSeconds:F1} s; progress seen: {string.Join(" ", progress.Distinct().Select(p => p.ToString("F1", CultureInfo.InvariantCulture)))}
            model switch: {nextKey} recall@1 {nextAt1:F3}, recall@5 {nextAt5:F3}, MRR@5 {nextMrr:F3}; {searches} searches during backfill, switch and drop, {failures.Count} failed; models answering: {string.Join(", ", modelsSeen.Order())}
            """);
    }

    private static async Task<string?> SearchModelAsync(HttpClient search, string? model)
    {
        var response = await search.PostAsJsonAsync("/search", new { query = "Super Bowl", topK = 1, model }, Token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("model").GetString();
    }

    /// <summary>Searches without naming a model, one after another, until stopped; records failures and the models that answered.</summary>
    private sealed class SearchLoad : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<string> _failures = [];
        private readonly HashSet<string> _models = [];
        private int _searches;

        public SearchLoad(HttpClient search, List<LabelledQuestion> questions)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var question = questions[_searches % questions.Count].Question;
                    try
                    {
                        var response = await search.PostAsJsonAsync("/search", new { query = question, topK = 3 }, CancellationToken.None);
                        var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                        if (!response.IsSuccessStatusCode)
                        {
                            lock (_failures) { _failures.Add($"{(int)response.StatusCode}: {body}"); }
                        }
                        else
                        {
                            using var json = JsonDocument.Parse(body);
                            lock (_models) { _models.Add(json.RootElement.GetProperty("model").GetString()!); }
                            if (json.RootElement.GetProperty("results").GetArrayLength() == 0)
                            {
                                lock (_failures) { _failures.Add($"no results for '{question}'"); }
                            }
                        }
                    }
                    catch (HttpRequestException ex)
                    {
                        lock (_failures) { _failures.Add(ex.Message); }
                    }

                    Interlocked.Increment(ref _searches);
                }
            });
        }

        public async Task<(int Searches, List<string> Failures, List<string> Models)> StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            return (_searches, _failures, _models.ToList());
        }

        public void Dispose() => _stop.Dispose();
    }

    private static async Task<int> PostAllAsync(HttpClient ingest, List<SampleDocument> documents)
    {
        var chunks = 0;
        await Parallel.ForEachAsync(documents, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Token }, async (document, ct) =>
        {
            var response = await ingest.PostAsJsonAsync("/documents", new
            {
                id = document.Id,
                title = document.Title,
                text = document.Text,
                source = document.Source,
                metadata = new { corpus = document.Source },
            }, ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal(document.Id, body.GetProperty("id").GetString());
            Assert.Equal("queued", body.GetProperty("status").GetString());
            Interlocked.Add(ref chunks, body.GetProperty("chunks").GetInt32());
        });
        return chunks;
    }

    private static async Task WaitUntilReadyAsync(HttpClient ingest, List<SampleDocument> documents)
    {
        var pending = documents.Select(d => d.Id).ToHashSet();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (pending.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{pending.Count} documents not ready after 5 minutes, e.g. {pending.First()}");
            foreach (var id in pending.ToList())
            {
                var status = await ingest.GetFromJsonAsync<JsonElement>($"/documents/{Uri.EscapeDataString(id)}", Token);
                var state = status.GetProperty("status").GetString();
                Assert.NotEqual("failed", state);
                if (state == "ready")
                {
                    var chunks = status.GetProperty("chunks");
                    Assert.Equal(chunks.GetProperty("total").GetInt32(), chunks.GetProperty("embedded").GetInt32());
                    pending.Remove(id);
                }
            }

            await Task.Delay(250, Token);
        }
    }

    // recall@k: share of questions whose answering paragraph is among the documents of the top-k chunks.
    private static async Task<(double RecallAt1, double RecallAt5, double Mrr, TimeSpan Elapsed)> EvaluateAsync(HttpClient search, List<LabelledQuestion> questions, string? model = null, string mode = "vector")
    {
        var clock = Stopwatch.StartNew();
        int hitsAt1 = 0, hitsAt5 = 0;
        double reciprocalRanks = 0;
        await Parallel.ForEachAsync(questions, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (question, ct) =>
        {
            var response = await search.PostAsJsonAsync("/search", new { query = question.Question, topK = 5, model, mode }, ct);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            var ranked = body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("documentId").GetString()).ToList();
            Assert.True(ranked.Count <= 5);
            var rank = ranked.IndexOf(question.DocumentId);
            if (rank == 0)
            {
                Interlocked.Increment(ref hitsAt1);
            }

            if (rank >= 0)
            {
                Interlocked.Increment(ref hitsAt5);
                lock (questions)
                {
                    reciprocalRanks += 1.0 / (rank + 1);
                }
            }
        });
        return ((double)hitsAt1 / questions.Count, (double)hitsAt5 / questions.Count, reciprocalRanks / questions.Count, clock.Elapsed);
    }

    private static int EmbeddedChunks(ServiceProcess worker, string model) =>
        worker.Output.Select(line => EmbeddedLine().Match(line)).Where(m => m.Success && m.Groups[1].Value == model)
            .Sum(m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));

    private static void WriteReport(string report)
    {
        var folder = Path.Combine(RepositoryPaths.Root, "TestResults");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "end-to-end.txt"), report + Environment.NewLine);
    }

    [GeneratedRegex(@"Model (\S+): wrote (\d+) embeddings from \d+ embedded texts, reused (\d+)")]
    private static partial Regex EmbeddedLine();
}
