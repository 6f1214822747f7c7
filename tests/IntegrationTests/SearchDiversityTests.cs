using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// <c>mmr</c> and <c>exact</c> on <c>POST /search</c>, against <see cref="SearchApiFixture"/>'s 300 documents.
/// Document i is about topics i % 10 and (i / 10) % 10, so documents i, i + 100 and i + 200 have the same
/// two topics and differ only in their number: near-duplicates, grouped by i % 100.
/// </summary>
public class SearchDiversityTests(SearchApiFixture fixture) : IClassFixture<SearchApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Task<JsonElement> SearchAsync(object body, HttpStatusCode expected = HttpStatusCode.OK) => fixture.PostSearchAsync(body, expected);

    private static List<(string DocumentId, long ChunkId, double Score)> Results(JsonElement answer) =>
        answer.GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("documentId").GetString()!, r.GetProperty("chunkId").GetInt64(), r.GetProperty("score").GetDouble()))
            .ToList();

    // The topic pair of doc-{i}: i % 100.
    private static int DistinctTopicPairs(IEnumerable<(string DocumentId, long ChunkId, double Score)> results) =>
        results.Select(r => int.Parse(r.DocumentId["doc-".Length..], System.Globalization.CultureInfo.InvariantCulture) % 100).Distinct().Count();

    [Fact]
    public async Task Exact_search_finds_the_same_top_hit_as_the_index_with_the_same_score()
    {
        var indexed = Results(await SearchAsync(new { query = "zebra crossing the field", topK = 5 }));
        var exact = Results(await SearchAsync(new { query = "zebra crossing the field", topK = 5, exact = true }));

        Assert.Equal("doc-123", exact[0].DocumentId);
        Assert.Equal(indexed[0].ChunkId, exact[0].ChunkId);
        Assert.Equal(indexed[0].Score, exact[0].Score, 6);
        Assert.Equal(5, exact.Count);
        Assert.Equal(exact.Select(r => r.Score).OrderDescending(), exact.Select(r => r.Score));
    }

    [Fact]
    public async Task Exact_search_honours_filters_and_min_score()
    {
        var answer = Results(await SearchAsync(new { query = "football stadium", topK = 3, exact = true, minScore = -1, filter = new { metadata = new { field = "group", eq = 7 } } }));

        Assert.Equal(["doc-107", "doc-207", "doc-7"], answer.Select(r => r.DocumentId).Order());
    }

    [Theory]
    [InlineData("""{"query":"zebra","mode":"keyword","exact":true}""", "exact")]
    [InlineData("""{"query":"zebra","mode":"hybrid","exact":true}""", "exact")]
    [InlineData("""{"query":"zebra","mode":"keyword","mmr":{"lambda":0.5}}""", "mmr")]
    [InlineData("""{"query":"zebra","mmr":{"lambda":1.5}}""", "mmr.lambda")]
    [InlineData("""{"query":"zebra","mmr":{"lambda":-0.1}}""", "mmr.lambda")]
    [InlineData("""{"query":"zebra","topK":20,"mmr":{"candidates":10}}""", "mmr.candidates")]
    [InlineData("""{"query":"zebra","mmr":{"candidates":1001}}""", "mmr.candidates")]
    public async Task Bad_mmr_and_exact_input_gets_a_400_naming_the_field(string body, string field)
    {
        var response = await fixture.Http.PostAsync("/search", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Token);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("vector")]
    [InlineData("hybrid")]
    public async Task Mmr_with_lambda_one_keeps_the_plain_order_and_scores(string mode)
    {
        var plain = Results(await SearchAsync(new { query = "football", topK = 10, mode }));
        var mmr = Results(await SearchAsync(new { query = "football", topK = 10, mode, mmr = new { lambda = 1.0, candidates = 50 } }));

        Assert.Equal(plain.Select(r => r.ChunkId), mmr.Select(r => r.ChunkId));
        Assert.Equal(plain.Select(r => r.Score), mmr.Select(r => r.Score));
    }

    [Theory]
    [InlineData("vector")]
    [InlineData("hybrid")]
    public async Task Mmr_with_a_low_lambda_drops_near_duplicates_for_other_topics(string mode)
    {
        var plain = Results(await SearchAsync(new { query = "football", topK = 10, mode }));
        var diverse = Results(await SearchAsync(new { query = "football", topK = 10, mode, mmr = new { lambda = 0.3 } }));

        // Plain: doc-0, doc-100 and doc-200 ("football and football") come first, near-duplicates of one another.
        Assert.True(DistinctTopicPairs(plain) < plain.Count, string.Join(", ", plain.Select(r => r.DocumentId)));
        Assert.Equal(10, diverse.Count);
        Assert.Equal(10, DistinctTopicPairs(diverse));
        Assert.NotEqual(plain.Select(r => r.ChunkId).Order(), diverse.Select(r => r.ChunkId).Order());

        // The first pick is still the most relevant hit, and every result keeps the mode's own score.
        Assert.Equal(plain[0].ChunkId, diverse[0].ChunkId);
        var byChunk = Results(await SearchAsync(new { query = "football", topK = 50, mode })).ToDictionary(r => r.ChunkId, r => r.Score);
        Assert.All(diverse, r => Assert.Equal(byChunk[r.ChunkId], r.Score, 9));
    }
}
