using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>
/// The walking pipeline as users run it: real PostgreSQL and RabbitMQ, Ingest.Api, two Embed.Worker
/// processes and Search.Api as separate processes, real documents, labelled questions.
/// </summary>
public sealed partial class PipelineTests
{
    // Floors set from a measured run of the offline (lexical) embedder, 384 dimensions: recall@1 0.444,
    // recall@5 0.670 (HNSW is approximate and two workers insert in varying order, so leave some margin).
    private const double RecallAt1Floor = 0.40;
    private const double RecallAt5Floor = 0.62;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Documents_posted_to_ingest_become_ready_and_questions_find_their_paragraphs()
    {
        Assert.SkipUnless(SampleData.Available, $"sample data not found under {RepositoryPaths.SampleData} (set VECTORPIPELINE_SAMPLE_DATA)");
        var (squad, questions) = SampleData.Squad();
        var pgai = SampleData.PgaiDocs();
        Assert.Equal(54, squad.Count);
        Assert.Equal(810, questions.Count);

        await using var postgres = await PostgresServer.StartAsync();
        await using var rabbit = await RabbitMqServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = postgres.ConnectionString(),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
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

            var embeddedPerWorker = workers.Select(EmbeddedChunks).ToArray();
            Assert.All(embeddedPerWorker, count => Assert.True(count > 0, $"a worker embedded nothing: {string.Join(", ", embeddedPerWorker)}"));
            Assert.Equal(totalChunks, embeddedPerWorker.Sum());

            var (recallAt1, recallAt5, mrr, searchTime) = await EvaluateAsync(searchClient, questions);
            var report = string.Create(CultureInfo.InvariantCulture, $"""
                end-to-end: {documents.Count} documents ({squad.Count} SQuAD paragraphs, {pgai.Count} pgai Markdown files), {totalChunks} chunks
                end-to-end: posted in {posted.TotalSeconds:F1} s, all ready after {ready.TotalSeconds:F1} s ({totalChunks / ready.TotalSeconds:F0} chunks/s); chunks per worker: {string.Join(" + ", embeddedPerWorker)}
                end-to-end: {questions.Count} questions in {searchTime.TotalSeconds:F1} s; recall@1 {recallAt1:F3}, recall@5 {recallAt5:F3}, MRR@5 {mrr:F3} (floors {RecallAt1Floor:F2} / {RecallAt5Floor:F2}; offline lexical embedder)
                """);
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            WriteReport(report);

            Assert.True(recallAt1 >= RecallAt1Floor, $"recall@1 {recallAt1:F3} is below the floor {RecallAt1Floor}");
            Assert.True(recallAt5 >= RecallAt5Floor, $"recall@5 {recallAt5:F3} is below the floor {RecallAt5Floor}");
        }
        finally
        {
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }
        }
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
    private static async Task<(double RecallAt1, double RecallAt5, double Mrr, TimeSpan Elapsed)> EvaluateAsync(HttpClient search, List<LabelledQuestion> questions)
    {
        var clock = Stopwatch.StartNew();
        int hitsAt1 = 0, hitsAt5 = 0;
        double reciprocalRanks = 0;
        await Parallel.ForEachAsync(questions, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (question, ct) =>
        {
            var response = await search.PostAsJsonAsync("/search", new { query = question.Question, topK = 5 }, ct);
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

    private static int EmbeddedChunks(ServiceProcess worker) =>
        worker.Output.Select(line => EmbeddedLine().Match(line)).Where(m => m.Success).Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    private static void WriteReport(string report)
    {
        var folder = Path.Combine(RepositoryPaths.Root, "TestResults");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "end-to-end.txt"), report + Environment.NewLine);
    }

    [GeneratedRegex(@"Embedded (\d+) of \d+ chunks")]
    private static partial Regex EmbeddedLine();
}
