using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Search.Api embeds a query with the model the previous search found active while it reads the active model
/// (SearchService): after a model change it must still embed with, and search, the model now active. Two hashing models
/// of different dimensions make a query embedded with the wrong one fail loudly (a dimensions mismatch), not quietly.
/// </summary>
public class SearchModelChangeTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly string[] Texts = ["A zebra crossed the field at halftime.", "The stadium sold every ticket.", "Coaching won the game for the defense."];

    [Fact]
    public async Task After_a_model_change_the_next_search_embeds_with_the_model_now_active_and_reports_its_phases()
    {
        var database = await servers.NewDatabaseAsync();
        await using var dataSource = VectorStoreExtensions.CreateDataSource(database);
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Token);
        var models = new EmbeddingModelStore(dataSource);
        var first = await models.EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 384, cancellationToken: Token);
        var second = await models.EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 256, cancellationToken: Token);
        await models.ActivateIfNoneActiveAsync(first.Id, Token);
        var documents = new DocumentStore(dataSource);
        var (rows384, rows256) = (new List<ChunkEmbedding>(), new List<ChunkEmbedding>());
        using (var embed384 = new HashingEmbeddingGenerator(384))
        using (var embed256 = new HashingEmbeddingGenerator(256))
        {
            for (var i = 0; i < Texts.Length; i++)
            {
                var stored = await documents.UpsertAsync(new DocumentToStore($"doc-{i}", null, null, "{}", [Texts[i]]), Token);
                var hash = DocumentStore.ContentHash(Texts[i]);
                rows384.Add(new ChunkEmbedding(stored.Chunks[0].Id, hash, embed384.Embed(Texts[i])));
                rows256.Add(new ChunkEmbedding(stored.Chunks[0].Id, hash, embed256.Embed(Texts[i])));
            }
        }

        var vectors = new EmbeddingStore(dataSource);
        await vectors.WriteAsync(first, rows384, Token);
        await vectors.WriteAsync(second, rows256, Token);

        await using var search = await ServiceProcess.StartAsync("search-api", "Search.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = database,
            ["Embedding__Dimensions"] = "384",
            ["Embedding__Models__small__Provider"] = "hashing",
            ["Embedding__Models__small__Dimensions"] = "256",
        });
        using var http = new HttpClient { BaseAddress = search.Url };

        var before = await SearchAsync(http);
        Assert.Equal((first.Key, "doc-0"), before.Answer);
        Assert.Equal(["model", "embed", "vector"], before.Phases.Order(Comparer<string>.Create((a, b) => Rank(a) - Rank(b))));

        Assert.True(await models.RequestBackfillAsync(second.Id, activateWhenComplete: false, Token)); // every chunk has its vector already
        Assert.True(await models.ActivateAsync(second.Id, Token));
        var after = await SearchAsync(http);
        Assert.Equal((second.Key, "doc-0"), after.Answer);
        // The query was embedded twice: first with the model the previous search found, then with the one now active.
        Assert.Equal(2, after.Phases.Count(p => p == "embed"));

        var steady = await SearchAsync(http);
        Assert.Equal((second.Key, "doc-0"), steady.Answer);
        Assert.Single(steady.Phases, p => p == "embed");
    }

    private static int Rank(string phase) => Array.IndexOf(["model", "embed", "vector"], phase);

    // One vector search for the zebra; the model that answered, the best document, and the Server-Timing phase names.
    private static async Task<((string? Model, string? Best) Answer, List<string> Phases)> SearchAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("/search", new { query = "zebra crossing", topK = 1 }, Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var best = json.RootElement.GetProperty("results")[0].GetProperty("documentId").GetString();
        var timing = Assert.Single(response.Headers.GetValues("Server-Timing"));
        var phases = timing.Split(", ").Select(p => p.Split(";dur=")).ToList();
        Assert.All(phases, p => Assert.True(p.Length == 2 && double.TryParse(p[1], System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms >= 0, timing));
        return ((json.RootElement.GetProperty("model").GetString(), best), phases.Select(p => p[0]).ToList());
    }
}
