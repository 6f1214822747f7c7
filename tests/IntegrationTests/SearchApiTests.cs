using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// 300 one-chunk documents embedded with the hashing model, and Search.Api running as a real process
/// against them: every mode and filter through HTTP.
/// </summary>
public sealed class SearchApiFixture(ServersFixture servers) : IAsyncLifetime
{
    public static readonly string[] Topics = ["football", "stadium", "halftime", "broadcast", "tickets", "weather", "coaching", "defense", "offense", "records"];

    public ServiceProcess Search { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public List<(string Id, string Source, int Group, int Year, string Published)> Documents { get; } = [];

    public static string Text(int i) => $"Document {i} is about {Topics[i % Topics.Length]} and {Topics[(i / 10) % Topics.Length]}."
        + (i == 123 ? " A zebra crossed the field." : "");

    public async ValueTask InitializeAsync()
    {
        var database = await servers.NewDatabaseAsync();
        await using (var dataSource = VectorStoreExtensions.CreateDataSource(database))
        {
            await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync();
            var models = new EmbeddingModelStore(dataSource);
            var model = await models.EnsureAsync("hashing", HashingEmbeddingGenerator.ModelName, 384);
            await models.ActivateIfNoneActiveAsync(model.Id);
            var store = new DocumentStore(dataSource);
            var rows = new List<ChunkEmbedding>();
            var embedder = new HashingEmbeddingGenerator(384);
            for (var i = 0; i < 300; i++)
            {
                var document = ($"doc-{i}", i % 2 == 0 ? "wiki" : "news", i % 100, 2000 + i % 20, $"2016-02-{i % 28 + 1:00}");
                Documents.Add(document);
                var metadata = JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["group"] = document.Item3, ["year"] = document.Item4, ["published"] = document.Item5,
                    ["team"] = new { name = i % 3 == 0 ? "Broncos" : "Panthers" },
                    ["draft"] = i % 10 == 0 ? true : null,
                });
                var stored = await store.UpsertAsync(new DocumentToStore(document.Item1, $"Title {i}", document.Item2, metadata.Replace(",\"draft\":null", ""), [Text(i)]));
                rows.Add(new ChunkEmbedding(stored.Chunks[0].Id, DocumentStore.ContentHash(Text(i)), embedder.Embed(Text(i))));
            }

            await new EmbeddingStore(dataSource).WriteAsync(model, rows);
        }

        Search = await ServiceProcess.StartAsync("search-api", "Search.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = database,
            ["Search__RetrievalApiKey"] = "test-key",
            ["Search__RetrievalKnowledgeIds__0"] = "*",
            ["Search__RetrievalKnowledgeIds__1"] = "wiki",
            ["Search__RetrievalKnowledgeIds__2"] = "news",
        });
        Http = new HttpClient { BaseAddress = Search.Url };
    }

    /// <summary>POSTs a search and checks the status; the answer's body, with the body in the failure message.</summary>
    public async Task<JsonElement> PostSearchAsync(object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var token = TestContext.Current.CancellationToken;
        var response = await Http.PostAsJsonAsync("/search", body, token);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(token);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {json}");
        return json;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Search is not null)
        {
            await Search.DisposeAsync();
        }
    }
}

public class SearchApiTests(SearchApiFixture fixture) : IClassFixture<SearchApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Task<JsonElement> SearchAsync(object body, HttpStatusCode expected = HttpStatusCode.OK) => fixture.PostSearchAsync(body, expected);

    private static List<string> DocumentIds(JsonElement answer) =>
        answer.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("documentId").GetString()!).ToList();

    [Theory]
    [InlineData("keyword")]
    [InlineData("hybrid")]
    [InlineData("vector")]
    public async Task Every_mode_ranks_the_only_document_with_a_rare_word_first(string mode)
    {
        var answer = await SearchAsync(new { query = "zebra crossing the field", topK = 5, mode });

        Assert.Equal("doc-123", DocumentIds(answer)[0]);
        Assert.Equal(mode, answer.GetProperty("mode").GetString());
        Assert.Equal(mode != "keyword", answer.TryGetProperty("model", out _));
    }

    [Fact]
    public async Task Hybrid_fuses_both_lists_with_reciprocal_rank_scores()
    {
        var answer = await SearchAsync(new { query = "zebra", topK = 3, mode = "hybrid", rrfK = 10, weights = new { vector = 1, keyword = 3 } });

        var top = answer.GetProperty("results")[0];
        Assert.Equal("doc-123", top.GetProperty("documentId").GetString());
        Assert.Equal(1.0 / 11 + 3.0 / 11, top.GetProperty("score").GetDouble(), 6);
    }

    [Fact]
    public async Task A_filter_matching_one_percent_of_rows_still_returns_top_k_through_the_iterative_index_scan()
    {
        var answer = await SearchAsync(new { query = "football stadium", topK = 3, efSearch = 10, filter = new { metadata = new { field = "group", eq = 7 } } });

        Assert.Equal(["doc-107", "doc-207", "doc-7"], DocumentIds(answer).Order());
    }

    public static TheoryData<string, string> Filters => new()
    {
        { """{"documentIds":["doc-1","doc-2","doc-250"]}""", "ids" },
        { """{"source":"wiki","metadata":{"field":"year","gte":2015,"lt":2017}}""", "wiki 2015-2016" },
        { """{"metadata":{"field":"published","gte":"2016-02-25"}}""", "published >= 25th" },
        { """{"metadata":{"or":[{"field":"group","in":[1,2]},{"and":[{"not":{"field":"team.name","ne":"Broncos"}},{"year":2003}]}]}}""", "group 1|2 or Broncos of 2003" },
        { """{"metadata":{"and":[{"field":"draft","exists":true},{"year":2000}]}}""", "draft and year 2000" },
        { """{"metadata":{"and":[{"field":"draft","exists":false},{"field":"year","lte":2001}]},"source":["news"]}""", "news without draft until 2001" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Filters_return_exactly_the_matching_documents(string filter, string name)
    {
        Func<(string Id, string Source, int Group, int Year, string Published), int, bool> expected = name switch
        {
            "ids" => (d, _) => d.Id is "doc-1" or "doc-2" or "doc-250",
            "wiki 2015-2016" => (d, _) => d.Source == "wiki" && d.Year is >= 2015 and < 2017,
            "published >= 25th" => (d, _) => string.CompareOrdinal(d.Published, "2016-02-25") >= 0,
            "group 1|2 or Broncos of 2003" => (d, i) => d.Group is 1 or 2 || (i % 3 == 0 && d.Year == 2003),
            "draft and year 2000" => (d, i) => i % 10 == 0 && d.Year == 2000,
            _ => (d, i) => d.Source == "news" && i % 10 != 0 && d.Year <= 2001,
        };
        var want = fixture.Documents.Where((d, i) => expected(d, i)).Select(d => d.Id).Order().ToList();
        Assert.InRange(want.Count, 1, 100);

        foreach (var mode in new[] { "vector", "keyword" })
        {
            var answer = await SearchAsync(new { query = "document about football stadium halftime broadcast tickets weather coaching defense offense records", topK = 100, mode, filter = JsonDocument.Parse(filter).RootElement });
            Assert.Equal(want, DocumentIds(answer).Order().ToList());
        }
    }

    [Fact]
    public async Task Hostile_strings_in_filter_keys_and_values_are_data_not_sql()
    {
        var hostile = "x') OR 1=1; DROP TABLE chunks; --";
        var answer = await SearchAsync(new { query = "football", topK = 10, filter = new { documentIds = new[] { hostile }, source = hostile, metadata = new Dictionary<string, string> { [hostile] = hostile } } });

        Assert.Empty(answer.GetProperty("results").EnumerateArray());
        Assert.NotEmpty(DocumentIds(await SearchAsync(new { query = "football", topK = 1 })));
    }

    [Theory]
    [InlineData("""{"query":"","topK":5}""", "query")]
    [InlineData("""{"query":"x","topK":0}""", "topK")]
    [InlineData("""{"query":"x","mode":"fuzzy"}""", "mode")]
    [InlineData("""{"query":"x","model":"no-such-model@1"}""", "model")]
    [InlineData("""{"query":"x","efSearch":5000}""", "efSearch")]
    [InlineData("""{"query":"x","probes":0}""", "probes")]
    [InlineData("""{"query":"x","filter":{"metadata":{"field":"year","gte":"soon"}}}""", "filter.metadata.gte")]
    [InlineData("""{"query":"x","filter":{"metadata":{"and":[{"field":"a","like":1}]}}}""", "filter.metadata.and[0].like")]
    [InlineData("""{"query":"x","filter":{"colour":"red"}}""", "filter.colour")]
    public async Task Bad_input_gets_a_400_naming_the_field(string body, string field)
    {
        var response = await fixture.Http.PostAsync("/search", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Get_search_answers_from_a_url()
    {
        var answer = await fixture.Http.GetFromJsonAsync<JsonElement>("/search?q=zebra&topK=2&mode=keyword", Token);

        Assert.Equal(["doc-123"], DocumentIds(answer));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"Title {123}"), answer.GetProperty("results")[0].GetProperty("title").GetString());
    }
}
