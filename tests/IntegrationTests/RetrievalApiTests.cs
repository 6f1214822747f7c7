using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// <c>POST /retrieval</c> (Dify's External Knowledge API) and <c>POST /search/context</c> against the 300
/// documents of <see cref="SearchApiFixture"/>, Search.Api started with <c>Search__RetrievalApiKey=test-key</c>
/// and knowledge ids <c>*</c>, <c>wiki</c>, <c>news</c>.
/// </summary>
public class RetrievalApiTests(SearchApiFixture fixture) : IClassFixture<SearchApiFixture>
{
    private const string Broad = "document about football stadium halftime broadcast tickets weather coaching defense offense records";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonElement Body)> RetrieveAsync(string body, string? authorization = "Bearer test-key")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/retrieval") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await fixture.Http.SendAsync(request, Token);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>(Token));
    }

    private async Task<JsonElement> RecordsAsync(object body)
    {
        var (status, json) = await RetrieveAsync(JsonSerializer.Serialize(body));
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {json}");
        return json.GetProperty("records");
    }

    private static List<string> DocumentIds(JsonElement records) =>
        records.EnumerateArray().Select(r => r.GetProperty("metadata").GetProperty("document_id").GetString()!).ToList();

    private static void AssertError(HttpStatusCode expectedStatus, int expectedCode, (HttpStatusCode Status, JsonElement Body) answer)
    {
        Assert.True(answer.Status == expectedStatus, $"{(int)answer.Status}: {answer.Body}");
        Assert.Equal(["error_code", "error_msg"], answer.Body.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(expectedCode, answer.Body.GetProperty("error_code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(answer.Body.GetProperty("error_msg").GetString()));
    }

    [Fact]
    public async Task Retrieval_answers_the_dify_contract_with_snake_case_records_best_first()
    {
        var (status, json) = await RetrieveAsync("""
            {"knowledge_id": "*", "query": "zebra crossing the field", "retrieval_setting": {"top_k": 3, "score_threshold": 0.0}}
            """);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["records"], json.EnumerateObject().Select(p => p.Name));
        var records = json.GetProperty("records");
        Assert.Equal(3, records.GetArrayLength());
        var top = records[0];
        Assert.Equal(["content", "metadata", "score", "title"], top.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(SearchApiFixture.Text(123), top.GetProperty("content").GetString());
        Assert.Equal("Title 123", top.GetProperty("title").GetString());
        Assert.Equal("doc-123", top.GetProperty("metadata").GetProperty("document_id").GetString());
        Assert.Equal(2003, top.GetProperty("metadata").GetProperty("year").GetInt32());
        Assert.True(top.GetProperty("metadata").GetProperty("chunk_id").GetInt64() > 0);

        // Hybrid by default, normalized to 0..1: first in both lists scores 1.
        Assert.Equal(1.0, top.GetProperty("score").GetDouble(), 9);
        var scores = records.EnumerateArray().Select(r => r.GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.All(scores, s => Assert.InRange(s, 0, 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public async Task Top_k_bounds_the_records(int topK)
    {
        var records = await RecordsAsync(new { knowledge_id = "*", query = Broad, retrieval_setting = new { top_k = topK, score_threshold = 0 } });

        Assert.Equal(topK, records.GetArrayLength());
    }

    [Fact]
    public async Task Score_threshold_drops_records_below_it_and_zero_means_off()
    {
        // With the default fusion weights (vector 1, keyword 0.05) the second vector hit alone scores 61/62/1.05 = 0.94
        // of the best possible; only doc-123, first in both lists, reaches 0.97.
        const double threshold = 0.97;
        var all = await RecordsAsync(new { knowledge_id = "*", query = "zebra", retrieval_setting = new { top_k = 10, score_threshold = 0.0 } });
        var strict = await RecordsAsync(new { knowledge_id = "*", query = "zebra", retrieval_setting = new { top_k = 10, score_threshold = threshold } });

        Assert.Equal(10, all.GetArrayLength());
        Assert.Contains(all.EnumerateArray(), r => r.GetProperty("score").GetDouble() < threshold);
        Assert.Equal(["doc-123"], DocumentIds(strict));
        Assert.All(strict.EnumerateArray(), r => Assert.True(r.GetProperty("score").GetDouble() >= threshold));
    }

    [Theory]
    [InlineData("wiki", 0)]
    [InlineData("news", 1)]
    public async Task Knowledge_id_selects_the_documents_of_that_source(string knowledgeId, int parity)
    {
        var records = await RecordsAsync(new { knowledge_id = knowledgeId, query = Broad, retrieval_setting = new { top_k = 20, score_threshold = 0 } });

        Assert.Equal(20, records.GetArrayLength());
        Assert.All(DocumentIds(records), id => Assert.Equal(parity, int.Parse(id["doc-".Length..], System.Globalization.CultureInfo.InvariantCulture) % 2));
    }

    public static TheoryData<string, string> Conditions => new()
    {
        { """{"logical_operator":"and","conditions":[{"name":["year"],"comparison_operator":"≥","value":"2015"},{"name":["team.name"],"comparison_operator":"is","value":"Broncos"}]}""", "year >= 2015 and Broncos" },
        { """{"logical_operator":"or","conditions":[{"name":"group","comparison_operator":"=","value":7},{"name":["published"],"comparison_operator":"before","value":"2016-02-02"}]}""", "group 7 or published before 2nd" },
        { """{"conditions":[{"name":["draft"],"comparison_operator":"not empty"},{"name":["year"],"comparison_operator":"<","value":2005}]}""", "draft and year < 2005" },
        { """{"conditions":[{"name":["team.name"],"comparison_operator":"not in","value":["Panthers"]},{"name":["year"],"comparison_operator":"≤","value":2001},{"name":["group"],"comparison_operator":"≠","value":0}]}""", "Broncos until 2001 not group 0" },
        { """{"conditions":[{"name":["published"],"comparison_operator":"after","value":"2016-02-26"},{"name":["draft"],"comparison_operator":"empty"},{"name":["year"],"comparison_operator":">","value":2016}]}""", "after 26th, no draft, after 2016" },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public async Task Metadata_condition_returns_exactly_the_matching_documents(string condition, string name)
    {
        Func<(string Id, string Source, int Group, int Year, string Published), int, bool> expected = name switch
        {
            "year >= 2015 and Broncos" => (d, i) => d.Year >= 2015 && i % 3 == 0,
            "group 7 or published before 2nd" => (d, _) => d.Group == 7 || string.CompareOrdinal(d.Published, "2016-02-02") < 0,
            "draft and year < 2005" => (d, i) => i % 10 == 0 && d.Year < 2005,
            "Broncos until 2001 not group 0" => (d, i) => i % 3 == 0 && d.Year <= 2001 && d.Group != 0,
            _ => (d, i) => string.CompareOrdinal(d.Published, "2016-02-26") > 0 && i % 10 != 0 && d.Year > 2016,
        };
        var want = fixture.Documents.Where((d, i) => expected(d, i)).Select(d => d.Id).Order().ToList();
        Assert.InRange(want.Count, 1, 100);

        var records = await RecordsAsync(new
        {
            knowledge_id = "*", query = Broad, retrieval_setting = new { top_k = 100, score_threshold = 0 },
            metadata_condition = JsonDocument.Parse(condition).RootElement,
        });

        Assert.Equal(want, DocumentIds(records).Order().ToList());
    }

    [Theory]
    [InlineData("contains")]
    [InlineData("start with")]
    [InlineData("like")]
    public async Task An_unsupported_operator_gets_a_clear_400(string op)
    {
        var answer = await RetrieveAsync(JsonSerializer.Serialize(new
        {
            knowledge_id = "*", query = "zebra", retrieval_setting = new { top_k = 3, score_threshold = 0 },
            metadata_condition = new { conditions = new[] { new { name = new[] { "team.name" }, comparison_operator = op, value = "Bron" } } },
        }));

        AssertError(HttpStatusCode.BadRequest, 4001, answer);
        Assert.Contains($"'{op}'", answer.Body.GetProperty("error_msg").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("test-key")]
    [InlineData("Basic dGVzdC1rZXk=")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearertest-key")]
    [InlineData("Bearer test key")]
    public async Task A_malformed_authorization_header_gets_1001(string? header)
    {
        AssertError(HttpStatusCode.Forbidden, 1001, await RetrieveAsync("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":1,"score_threshold":0}}""", header));
    }

    [Theory]
    [InlineData("Bearer wrong-key")]
    [InlineData("Bearer test-key2")]
    [InlineData("Bearer TEST-KEY")]
    [InlineData("Bearer test-ke")]
    public async Task A_wrong_key_gets_1002(string header)
    {
        AssertError(HttpStatusCode.Forbidden, 1002, await RetrieveAsync("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":1,"score_threshold":0}}""", header));
    }

    [Fact]
    public async Task The_scheme_is_case_insensitive()
    {
        var (status, body) = await RetrieveAsync("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":1,"score_threshold":0}}""", "bearer test-key");

        Assert.True(status == HttpStatusCode.OK, body.ToString());
    }

    [Theory]
    [InlineData("unknown-knowledge")]
    [InlineData("WIKI")]
    public async Task An_unknown_knowledge_id_gets_2001(string knowledgeId)
    {
        AssertError(HttpStatusCode.NotFound, 2001, await RetrieveAsync(JsonSerializer.Serialize(new { knowledge_id = knowledgeId, query = "zebra", retrieval_setting = new { top_k = 1, score_threshold = 0 } })));
    }

    [Theory]
    [InlineData("""{"knowledge_id":"*","query":"zebra"}""")]
    [InlineData("""{"knowledge_id":"*","query":"","retrieval_setting":{"top_k":1}}""")]
    [InlineData("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":0}}""")]
    [InlineData("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":1},"metadata_condition":{"logical_operator":"xor","conditions":[{"name":["year"],"comparison_operator":"=","value":1}]}}""")]
    [InlineData("""{"knowledge_id":"*","query":"zebra","retrieval_setting":{"top_k":1},"metadata_condition":{"conditions":[{"name":["year"],"comparison_operator":">","value":"soon"}]}}""")]
    [InlineData("""not json""")]
    public async Task Bad_bodies_get_4001(string body)
    {
        AssertError(HttpStatusCode.BadRequest, 4001, await RetrieveAsync(body));
    }

    private async Task<(string Context, JsonElement Answer, List<string> Blocks)> ContextAsync(int topK, int maxChars)
    {
        var search = await fixture.Http.PostAsJsonAsync("/search", new { query = "zebra crossing the field", topK, mode = "vector" }, Token);
        var results = (await search.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("results");
        var blocks = results.EnumerateArray().Select((r, i) => $"[{i + 1}] {r.GetProperty("title").GetString()}\n{r.GetProperty("text").GetString()}").ToList();

        var response = await fixture.Http.PostAsJsonAsync("/search/context", new { query = "zebra crossing the field", topK, mode = "vector", maxChars }, Token);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {answer}");
        var context = answer.GetProperty("context").GetString()!;
        Assert.InRange(context.Length, 0, maxChars);
        Assert.Equal("vector", answer.GetProperty("mode").GetString());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("model").GetString()));
        return (context, answer, blocks);
    }

    [Fact]
    public async Task Context_numbers_the_top_results_in_rank_order()
    {
        var (context, answer, blocks) = await ContextAsync(3, 4000);

        Assert.Equal(string.Join("\n\n", blocks), context);
        Assert.StartsWith("[1] Title 123\n" + SearchApiFixture.Text(123), context);
        Assert.False(answer.GetProperty("truncated").GetBoolean());
        var sources = answer.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], sources.Select(s => s.GetProperty("number").GetInt32()));
        Assert.Equal("doc-123", sources[0].GetProperty("documentId").GetString());
        Assert.Equal("Title 123", sources[0].GetProperty("title").GetString());
        Assert.True(sources[0].GetProperty("chunkId").GetInt64() > 0);
        Assert.Equal(["chunkId", "documentId", "number", "score", "title"], sources[0].EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task Context_that_fits_exactly_leaves_the_next_result_out_and_says_truncated()
    {
        var (_, _, blocks) = await ContextAsync(3, 4000);
        var two = blocks[0] + "\n\n" + blocks[1];

        var (context, answer, _) = await ContextAsync(3, Math.Max(two.Length, 100));

        Assert.True(two.Length >= 100, "the fixture's blocks are long enough for the smallest budget");
        Assert.Equal(two, context);
        Assert.True(answer.GetProperty("truncated").GetBoolean());
        Assert.Equal(2, answer.GetProperty("sources").GetArrayLength());
    }

    [Fact]
    public async Task Context_cuts_the_last_text_at_a_word_boundary_within_the_budget()
    {
        var (_, _, blocks) = await ContextAsync(3, 4000);
        var third = blocks[2];
        var header = third[..(third.IndexOf('\n') + 1)];
        var text = third[header.Length..];
        var prefix = blocks[0] + "\n\n" + blocks[1] + "\n\n" + header;
        var budget = prefix.Length + 15;

        var (context, answer, _) = await ContextAsync(3, budget);

        Assert.True(answer.GetProperty("truncated").GetBoolean());
        Assert.Equal(3, answer.GetProperty("sources").GetArrayLength());
        Assert.StartsWith(prefix, context);
        Assert.EndsWith("…", context);
        var cut = context[prefix.Length..^1];
        Assert.NotEmpty(cut);
        Assert.StartsWith(cut, text);
        Assert.Equal(' ', text[cut.Length]);
        Assert.DoesNotContain(' ', text[(cut.Length + 1)..(budget - prefix.Length)]);
    }

    [Theory]
    [InlineData(99)]
    [InlineData(100_001)]
    public async Task Context_rejects_a_budget_out_of_bounds(int maxChars)
    {
        var response = await fixture.Http.PostAsJsonAsync("/search/context", new { query = "zebra", maxChars }, Token);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty("maxChars", out _), problem.ToString());
    }
}
