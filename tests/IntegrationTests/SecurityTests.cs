using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Ingest.Api and Search.Api as processes on one database, with API keys required (two tenants, a search-only
/// key, an administrator) and small document limits, so that bad input, keys, roles and tenants are tested
/// through HTTP against PostgreSQL.
/// </summary>
public sealed class SecuredServicesFixture(ServersFixture servers) : IAsyncLifetime
{
    public const string AdminKey = "admin-key-0123456789";
    public const string TenantAKey = "tenant-a-key-0123456789";
    public const string TenantBKey = "tenant-b-key-0123456789"; // configured by its SHA-256 only
    public const string SearchOnlyKey = "search-only-key-0123456789";
    public const string DifyKey = "dify-key-0123456789";
    public const int MaxTextBytes = 2000;
    public const int MaxRequestBytes = 8000;

    public string Database { get; private set; } = null!;

    public ServiceProcess Ingest { get; private set; } = null!;

    public ServiceProcess Search { get; private set; } = null!;

    public static Dictionary<string, string> KeySettings() => new()
    {
        ["Auth__Mode"] = "apikey",
        ["Auth__ApiKeys__0__Name"] = "admin",
        ["Auth__ApiKeys__0__Key"] = AdminKey,
        ["Auth__ApiKeys__0__Role"] = "admin",
        ["Auth__ApiKeys__1__Name"] = "tenant-a",
        ["Auth__ApiKeys__1__Key"] = TenantAKey,
        ["Auth__ApiKeys__1__Tenant"] = "a",
        ["Auth__ApiKeys__1__Role"] = "ingest,search",
        ["Auth__ApiKeys__2__Name"] = "tenant-b",
        ["Auth__ApiKeys__2__KeyHash"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(TenantBKey))),
        ["Auth__ApiKeys__2__Tenant"] = "b",
        ["Auth__ApiKeys__2__Role"] = "ingest, search",
        ["Auth__ApiKeys__3__Key"] = SearchOnlyKey,
        ["Auth__ApiKeys__3__Tenant"] = "a",
        ["Auth__ApiKeys__3__Role"] = "search",
    };

    public async ValueTask InitializeAsync()
    {
        Database = await servers.NewDatabaseAsync();
        var ingest = KeySettings();
        ingest["ConnectionStrings__vectordb"] = Database;
        ingest["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        ingest["Documents__MaxTextBytes"] = MaxTextBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ingest["Documents__MaxRequestBytes"] = MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ingest["Documents__MaxMetadataBytes"] = "300";
        ingest["Documents__MaxMetadataDepth"] = "4";
        Ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", ingest);
        var search = KeySettings();
        search["ConnectionStrings__vectordb"] = Database;
        search["Search__RetrievalApiKey"] = DifyKey;
        search["Search__RetrievalTenant"] = "b";
        Search = await ServiceProcess.StartAsync("search-api", "Search.Api", search);
    }

    /// <summary>Counts of documents and chunks in the database (every tenant).</summary>
    public async Task<(long Documents, long Chunks)> CountAsync()
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(Database);
        await using var command = dataSource.CreateCommand("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)");
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Embeds every chunk still without an embedding with the hashing model, as a worker would.</summary>
    public async Task EmbedAllAsync()
    {
        var token = TestContext.Current.CancellationToken;
        await using var dataSource = VectorStoreExtensions.CreateDataSource(Database);
        var model = (await new EmbeddingModelStore(dataSource).GetActiveAsync(token))!;
        var embedder = new HashingEmbeddingGenerator(384);
        var rows = new List<ChunkEmbedding>();
        await using (var command = dataSource.CreateCommand("SELECT c.id, c.text FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id)"))
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            while (await reader.ReadAsync(token))
            {
                rows.Add(new ChunkEmbedding(reader.GetInt64(0), DocumentStore.ContentHash(reader.GetString(1)), embedder.Embed(reader.GetString(1))));
            }
        }

        await new EmbeddingStore(dataSource).WriteAsync(model, rows, token);
    }

    public async ValueTask DisposeAsync()
    {
        if (Search is not null)
        {
            await Search.DisposeAsync();
        }

        if (Ingest is not null)
        {
            await Ingest.DisposeAsync();
        }
    }
}

internal static class Api
{
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        Uri baseUrl, HttpMethod method, string path, string? key, HttpContent? content = null, bool bearer = false)
    {
        using var http = new HttpClient { BaseAddress = baseUrl };
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            if (bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            else
            {
                request.Headers.Add("X-Api-Key", key);
            }
        }

        var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var body = text.Length == 0 || response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) != true
            ? default
            : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body, response);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object value) => Json(JsonSerializer.Serialize(value));
}

[Collection(ServersFixture.BrokerCollection)]
public class BadInputTests(SecuredServicesFixture fixture) : IClassFixture<SecuredServicesFixture>
{
    public static TheoryData<string, string, string, int, string> Cases()
    {
        var deep = """{"a":{"b":{"c":{"d":{"e":1}}}}}""";
        return new TheoryData<string, string, string, int, string>
        {
            { "empty text", "application/json", """{"id":"bad-1","text":""}""", 400, "errors.text" },
            { "whitespace text", "application/json", "{\"id\":\"bad-2\",\"text\":\"  \\n\\t \"}", 400, "errors.text" },
            { "NUL in text", "application/json", """{"id":"bad-3","text":"a\u0000b"}""", 400, "errors.text" },
            { "text over the limit", "application/json", $$"""{"id":"bad-4","text":"{{new string('a', SecuredServicesFixture.MaxTextBytes + 1)}}"}""", 413, "title:Text too large" },
            { "body over the limit", "application/json", $$"""{"id":"bad-5","text":"x","title":"{{new string('t', SecuredServicesFixture.MaxRequestBytes)}}"}""", 413, "title:Request body too large" },
            { "invalid JSON", "application/json", "{\"id\":\"bad-6\",\n \"text\":\"x\",}", 400, "title:Invalid JSON" },
            { "not an object", "application/json", "null", 400, "title:Invalid JSON" },
            { "wrong type", "application/json", """{"id":"bad-7","text":5}""", 400, "errors.text" },
            { "title of the wrong type", "application/json", """{"id":"bad-7b","text":"x","title":["t"]}""", 400, "errors.title" },
            { "id ending in /events", "application/json", """{"id":"bar/events","text":"x"}""", 400, "errors.id" },
            { "id ending in /retry", "application/json", """{"id":"bar/retry","text":"x"}""", 400, "errors.id" },
            { "id with an empty segment", "application/json", """{"id":"a//b","text":"x"}""", 400, "errors.id" },
            { "id ending in a slash", "application/json", """{"id":"a/","text":"x"}""", 400, "errors.id" },
            { "id with a dot-dot segment", "application/json", """{"id":"a/../b","text":"x"}""", 400, "errors.id" },
            { "id with an escaped slash", "application/json", """{"id":"a%2Fb","text":"x"}""", 400, "errors.id" },
            { "plain text", "text/plain", """{"id":"bad-8","text":"x"}""", 415, "title:Unsupported content type" },
            { "multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--x--\r\n", 400, "title:One file expected" },
            { "latin-1 charset", "application/json; charset=iso-8859-1", """{"id":"bad-9","text":"x"}""", 415, "title:Unsupported content type" },
            { "metadata too large", "application/json", "{\"id\":\"bad-10\",\"text\":\"x\",\"metadata\":{\"a\":\"" + new string('m', 400) + "\"}}", 400, "errors.metadata" },
            { "metadata too deep", "application/json", "{\"id\":\"bad-11\",\"text\":\"x\",\"metadata\":" + deep + "}", 400, "errors.metadata" },
            { "metadata not an object", "application/json", """{"id":"bad-12","text":"x","metadata":[1,2]}""", 400, "errors.metadata" },
            { "NUL in metadata", "application/json", """{"id":"bad-13","text":"x","metadata":{"a":"\u0000"}}""", 400, "errors.metadata" },
            { "id too long", "application/json", $$"""{"id":"{{new string('i', 257)}}","text":"x"}""", 400, "errors.id" },
            { "id with a control character", "application/json", """{"id":"bad\u0007-14","text":"x"}""", 400, "errors.id" },
            { "lone surrogate in id", "application/json", """{"id":"bad-\ud800","text":"x"}""", 400, "" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_gets_a_clear_4xx_problem_detail_and_stores_nothing(string name, string contentType, string body, int status, string expect)
    {
        var before = await fixture.CountAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var (code, problem, response) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.AdminKey, content);

        Assert.True((int)code == status, $"{name}: {(int)code} {problem}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), problem.ToString());
        if (expect.StartsWith("errors.", StringComparison.Ordinal))
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(expect["errors.".Length..], out _), $"{name}: {problem}");
        }
        else if (expect.StartsWith("title:", StringComparison.Ordinal))
        {
            Assert.Equal(expect["title:".Length..], problem.GetProperty("title").GetString());
        }

        if (status == 415)
        {
            Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        }

        Assert.Equal(before, await fixture.CountAsync());
    }

    [Fact]
    public async Task Invalid_json_names_the_line_and_position()
    {
        var (code, problem, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.AdminKey,
            Api.Json("{\"id\":\"bad-json\",\n  \"text\": \"x\" \"title\": 1}"));

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal(2, problem.GetProperty("line").GetInt32());
        // 1-based: the unexpected '"' of "title" is the 15th byte of line 2.
        Assert.Equal(15, problem.GetProperty("bytePositionInLine").GetInt32());
        Assert.Contains("line 2, byte 15", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Invalid_utf8_is_a_400_naming_the_offset()
    {
        var before = await fixture.CountAsync();
        var bytes = Encoding.UTF8.GetBytes("""{"id":"bad-utf8","text":"ab__"}""");
        var at = Array.IndexOf(bytes, (byte)'_');
        bytes[at] = 0xFF;
        bytes[at + 1] = 0xFE;
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var (code, problem, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.AdminKey, content);

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("Invalid UTF-8", problem.GetProperty("title").GetString());
        Assert.Equal(at, problem.GetProperty("offset").GetInt32());
        Assert.Equal(before, await fixture.CountAsync());
    }

    [Fact]
    public async Task A_valid_document_at_the_limits_is_stored()
    {
        var text = new string('a', SecuredServicesFixture.MaxTextBytes);
        var (code, body, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.AdminKey,
            Api.Json(new { id = "at-the-limit", text, metadata = new { a = new { b = new { c = new { d = 1 } } } } }));

        Assert.True(code == HttpStatusCode.Accepted, $"{(int)code} {body}");
        var (get, _, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Get, "/documents/at-the-limit", SecuredServicesFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, get);
    }

    [Theory]
    [InlineData("ingest", "/documents", """{"id":"typed","text":42}""", "text", "Field 'text' must be a string.")]
    [InlineData("ingest", "/documents", """{"id":"typed","text":"x","metadata":{"a":1},"source":true}""", "source", "Field 'source' must be a string.")]
    [InlineData("search", "/search", """{"query":5}""", "query", "Field 'query' must be a string.")]
    [InlineData("search", "/search", """{"query":"x","topK":"ten"}""", "topK", "Field 'topK' must be an integer.")]
    public async Task A_wrong_json_type_names_the_field_and_the_type_it_wants_without_internal_type_names(string service, string path, string body, string field, string message)
    {
        var url = service == "ingest" ? fixture.Ingest.Url : fixture.Search.Url;

        var (code, problem, response) = await Api.SendAsync(url, HttpMethod.Post, path, SecuredServicesFixture.AdminKey, Api.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal([message], problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));
        Assert.StartsWith(message, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("VectorPipeline", problem.GetRawText());
        Assert.DoesNotContain("System.", problem.GetRawText());
    }

    [Fact]
    public async Task A_batch_line_of_the_wrong_type_names_the_field()
    {
        var content = new StringContent("{\"id\":\"line-1\",\"text\":42}\n", Encoding.UTF8, "application/x-ndjson");

        var (code, body, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents/batch", SecuredServicesFixture.AdminKey, content);

        Assert.True(code == HttpStatusCode.OK, $"{(int)code} {body}");
        var reason = body.GetProperty("errors")[0].GetProperty("reason").GetString();
        Assert.StartsWith("Field 'text' must be a string.", reason);
        Assert.DoesNotContain("PostDocumentRequest", reason);
    }

    [Fact]
    public async Task Get_search_without_q_names_q()
    {
        var (code, problem, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Get, "/search?topK=3", SecuredServicesFixture.AdminKey);

        Assert.Equal(HttpStatusCode.BadRequest, code);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("q", out var q), problem.ToString());
        Assert.Contains("q", q[0].GetString());
        Assert.False(errors.TryGetProperty("query", out _), problem.ToString());
    }

    [Theory]
    [InlineData("GET", "/documents/no-such-document")]
    [InlineData("GET", "/documents/no/such/document")]
    [InlineData("DELETE", "/documents/no-such-document")]
    [InlineData("POST", "/documents/no-such-document/retry")]
    [InlineData("GET", "/documents/no-such-document/events")]
    public async Task An_unknown_document_is_a_404_problem_detail(string method, string path)
    {
        var (code, problem, response) = await Api.SendAsync(fixture.Ingest.Url, new HttpMethod(method), path, SecuredServicesFixture.AdminKey);

        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Equal("Document not found", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Search_api_names_the_position_of_invalid_json_too()
    {
        var (code, problem, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/search", SecuredServicesFixture.AdminKey, Api.Json("{\"query\": \"x\",}"));

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("Invalid JSON", problem.GetProperty("title").GetString());
        Assert.True(problem.TryGetProperty("bytePositionInLine", out _), problem.ToString());
    }
}

[Collection(ServersFixture.BrokerCollection)]
public class AccessControlTests(SecuredServicesFixture fixture) : IClassFixture<SecuredServicesFixture>
{
    [Theory]
    [InlineData("ingest", "POST", "/documents")]
    [InlineData("ingest", "GET", "/documents/x")]
    [InlineData("ingest", "DELETE", "/documents/x")]
    [InlineData("ingest", "GET", "/models")]
    [InlineData("ingest", "POST", "/models/x/activate")]
    [InlineData("search", "POST", "/search")]
    [InlineData("search", "GET", "/search?q=x")]
    [InlineData("search", "POST", "/search/context")]
    public async Task Without_a_valid_key_every_endpoint_answers_401_with_a_problem_detail(string service, string method, string path)
    {
        var url = service == "ingest" ? fixture.Ingest.Url : fixture.Search.Url;
        foreach (var key in new[] { null, "not-a-key-0123456789" })
        {
            var (code, problem, response) = await Api.SendAsync(url, new HttpMethod(method), path, key,
                method == "POST" ? Api.Json(new { text = "x", query = "x" }) : null, bearer: true);

            Assert.Equal(HttpStatusCode.Unauthorized, code);
            Assert.Equal(401, problem.GetProperty("status").GetInt32());
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
    }

    [Theory]
    [InlineData("ingest", "/health")]
    [InlineData("ingest", "/alive")]
    [InlineData("ingest", "/openapi/v1.json")]
    [InlineData("search", "/health")]
    [InlineData("search", "/alive")]
    [InlineData("search", "/openapi/v1.json")]
    public async Task Probes_and_the_openapi_document_stay_open(string service, string path)
    {
        var (code, _, _) = await Api.SendAsync(service == "ingest" ? fixture.Ingest.Url : fixture.Search.Url, HttpMethod.Get, path, null);

        Assert.Equal(HttpStatusCode.OK, code);
    }

    [Fact]
    public async Task Roles_decide_what_a_key_may_do()
    {
        // A search-only key may not write documents; a tenant key may not administer models; the admin may.
        var (post, problem, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.SearchOnlyKey, Api.Json(new { id = "role-test", text = "x" }));
        Assert.Equal(HttpStatusCode.Forbidden, post);
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, (await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Get, "/models", SecuredServicesFixture.TenantAKey)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Get, "/models", SecuredServicesFixture.AdminKey, bearer: true)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(fixture.Search.Url, HttpMethod.Get, "/search?q=x&mode=keyword", SecuredServicesFixture.SearchOnlyKey)).Status);
        // A key given only by its SHA-256 works, by either header.
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Get, "/documents/none", SecuredServicesFixture.TenantBKey)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Get, "/documents/none", SecuredServicesFixture.TenantBKey, bearer: true)).Status);
    }

    [Fact]
    public async Task Retrieval_keeps_its_own_dify_key_and_no_key_is_ever_logged()
    {
        var body = new { knowledge_id = "*", query = "x", retrieval_setting = new { top_k = 3, score_threshold = 0 } };
        var (withDify, answer, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/retrieval", SecuredServicesFixture.DifyKey, Api.Json(body), bearer: true);
        Assert.True(withDify == HttpStatusCode.OK, answer.ToString());
        var (withApiKey, error, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/retrieval", SecuredServicesFixture.AdminKey, Api.Json(body), bearer: true);
        Assert.Equal(HttpStatusCode.Forbidden, withApiKey);
        Assert.Equal(1002, error.GetProperty("error_code").GetInt32());

        foreach (var service in new[] { fixture.Ingest, fixture.Search })
        {
            var output = string.Join('\n', service.Output);
            Assert.Contains("API keys required", output);
            foreach (var key in new[] { SecuredServicesFixture.AdminKey, SecuredServicesFixture.TenantAKey, SecuredServicesFixture.TenantBKey, SecuredServicesFixture.SearchOnlyKey, SecuredServicesFixture.DifyKey, "not-a-key-0123456789" })
            {
                Assert.DoesNotContain(key, output);
            }
        }
    }
}

[Collection(ServersFixture.BrokerCollection)]
public class TenantTests(SecuredServicesFixture fixture) : IClassFixture<SecuredServicesFixture>
{
    private static readonly string[] Modes = ["vector", "keyword", "hybrid"];

    private async Task<List<(string DocumentId, string Text)>> SearchAsync(string key, string mode, object? filter = null)
    {
        var (code, body, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/search", key, Api.Json(new { query = "zebra crossing", topK = 10, mode, filter }));
        Assert.True(code == HttpStatusCode.OK, $"{(int)code} {body}");
        return body.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("documentId").GetString()!, r.GetProperty("text").GetString()!)).ToList();
    }

    [Fact]
    public async Task A_tenant_can_neither_see_nor_delete_another_tenants_documents()
    {
        var ingest = fixture.Ingest.Url;
        const string a = SecuredServicesFixture.TenantAKey, b = SecuredServicesFixture.TenantBKey;
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest, HttpMethod.Post, "/documents", a, Api.Json(new { id = "docs/x", title = "A's x", text = "A zebra crossing, tenant alpha." }))).Status);
        await fixture.EmbedAllAsync();

        // B guesses the id: 404 on read and on delete, and A's document is still there.
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", b)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest, HttpMethod.Delete, "/documents/docs/x", b)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", SecuredServicesFixture.AdminKey)).Status);
        var (aGet, aState, _) = await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", a);
        Assert.Equal(HttpStatusCode.OK, aGet);
        Assert.Equal("docs/x", aState.GetProperty("id").GetString());

        // B's searches, in every mode, by id filter, as context and through Dify's retrieval (tenant b), never return A's chunk.
        foreach (var mode in Modes)
        {
            Assert.Contains(("docs/x", "A zebra crossing, tenant alpha."), await SearchAsync(a, mode));
            Assert.Empty(await SearchAsync(b, mode));
            Assert.Empty(await SearchAsync(b, mode, new { documentIds = new[] { "docs/x" } }));
            Assert.Empty(await SearchAsync(SecuredServicesFixture.AdminKey, mode));
        }

        // B posting the same id creates B's own document; each tenant sees its own.
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest, HttpMethod.Post, "/documents", b, Api.Json(new { id = "docs/x", title = "B's x", text = "A zebra crossing, tenant beta." }))).Status);
        await fixture.EmbedAllAsync();
        Assert.Equal("B's x", (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", b)).Body.GetProperty("title").GetString());
        Assert.Equal("A's x", (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", a)).Body.GetProperty("title").GetString());
        foreach (var mode in Modes)
        {
            Assert.Equal([("docs/x", "A zebra crossing, tenant alpha.")], await SearchAsync(a, mode));
            Assert.Equal([("docs/x", "A zebra crossing, tenant beta.")], await SearchAsync(b, mode, new { documentIds = new[] { "docs/x" } }));
        }

        var (contextCode, context, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/search/context", b, Api.Json(new { query = "zebra crossing", mode = "hybrid" }));
        Assert.Equal(HttpStatusCode.OK, contextCode);
        Assert.Contains("tenant beta", context.GetProperty("context").GetString());
        Assert.DoesNotContain("tenant alpha", context.GetProperty("context").GetString());
        var (retrievalCode, records, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/retrieval", SecuredServicesFixture.DifyKey,
            Api.Json(new { knowledge_id = "*", query = "zebra crossing", retrieval_setting = new { top_k = 5, score_threshold = 0 } }), bearer: true);
        Assert.Equal(HttpStatusCode.OK, retrievalCode);
        Assert.Equal(["A zebra crossing, tenant beta."], records.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("content").GetString()));

        // B deletes its own; A's is untouched.
        Assert.Equal(HttpStatusCode.NoContent, (await Api.SendAsync(ingest, HttpMethod.Delete, "/documents/docs/x", b)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", b)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/docs/x", a)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Api.SendAsync(ingest, HttpMethod.Delete, "/documents/docs/x", a)).Status);
    }
}

/// <summary>Object-level authorization: every endpoint that takes an id answers only for the caller's tenant, or the caller's role.</summary>
[Collection(ServersFixture.BrokerCollection)]
public class ObjectAuthorizationTests(SecuredServicesFixture fixture) : IClassFixture<SecuredServicesFixture>
{
    [Fact]
    public async Task Every_endpoint_that_takes_a_document_id_answers_for_the_callers_tenant_only()
    {
        var ingest = fixture.Ingest.Url;
        const string a = SecuredServicesFixture.TenantAKey, b = SecuredServicesFixture.TenantBKey;
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest, HttpMethod.Post, "/documents", a, Api.Json(new { id = "owned/by-a", title = "A's", text = "Owned by tenant alpha." }))).Status);
        // A's chunk failed (no worker runs here), so that a retry would have something to requeue.
        await using (var dataSource = NpgsqlDataSource.Create(fixture.Database))
        await using (var fail = dataSource.CreateCommand("""
            INSERT INTO embedding_errors (chunk_id, model_id, error)
            SELECT c.id, m.id, 'forced' FROM chunks c JOIN documents d ON d.id = c.document_id, embedding_models m
             WHERE d.tenant = 'a' AND d.id = 'a' || E'\x1f' || 'owned/by-a' AND m.active
            """))
        {
            await fail.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        foreach (var (method, path) in new[]
        {
            ("GET", "/documents/owned/by-a"), ("GET", "/documents/owned%2Fby-a"), ("DELETE", "/documents/owned/by-a"),
            ("POST", "/documents/owned/by-a/retry"), ("GET", "/documents/owned/by-a/events"),
        })
        {
            var (code, problem, response) = await Api.SendAsync(ingest, new HttpMethod(method), path, b);
            Assert.True(code == HttpStatusCode.NotFound, $"{method} {path} with tenant b's key: {(int)code} {problem}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // Retry-all in B's tenant requeues none of A's failed chunks.
        var (all, retried, _) = await Api.SendAsync(ingest, HttpMethod.Post, "/documents/retry-failed", b);
        Assert.Equal(HttpStatusCode.Accepted, all);
        Assert.Equal(0, retried.GetProperty("queued").GetInt32());
        // B's batch line with A's id makes B's own document; A's keeps its title and its failure.
        var line = new StringContent("""{"id":"owned/by-a","title":"B's","text":"Written by tenant beta."}""" + "\n", Encoding.UTF8, "application/x-ndjson");
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest, HttpMethod.Post, "/documents/batch", b, line)).Status);
        var (aGet, aState, _) = await Api.SendAsync(ingest, HttpMethod.Get, "/documents/owned/by-a", a);
        Assert.Equal(HttpStatusCode.OK, aGet);
        Assert.Equal(("A's", "failed"), (aState.GetProperty("title").GetString(), aState.GetProperty("status").GetString()));
        Assert.Equal("B's", (await Api.SendAsync(ingest, HttpMethod.Get, "/documents/owned/by-a", b)).Body.GetProperty("title").GetString());

        // A's own retry works: the endpoints do answer for the owner.
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest, HttpMethod.Post, "/documents/owned/by-a/retry", a)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Api.SendAsync(ingest, HttpMethod.Delete, "/documents/owned/by-a", b)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Api.SendAsync(ingest, HttpMethod.Delete, "/documents/owned/by-a", a)).Status);
    }

    [Fact]
    public async Task Model_endpoints_are_for_administrators_only()
    {
        var ingest = fixture.Ingest.Url;
        var (listed, models, _) = await Api.SendAsync(ingest, HttpMethod.Get, "/models", SecuredServicesFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, listed);
        var key = Uri.EscapeDataString(models[0].GetProperty("key").GetString()!);

        foreach (var tenantKey in new[] { SecuredServicesFixture.TenantAKey, SecuredServicesFixture.TenantBKey, SecuredServicesFixture.SearchOnlyKey })
        {
            foreach (var (method, path) in new[]
            {
                ("GET", "/models"), ("GET", $"/models/{key}"), ("POST", $"/models/{key}/backfill"), ("POST", $"/models/{key}/activate"),
                ("POST", $"/models/{key}/reindex"), ("DELETE", $"/models/{key}"), ("GET", "/status"),
            })
            {
                var (code, problem, _) = await Api.SendAsync(ingest, new HttpMethod(method), path, tenantKey);
                Assert.True(code == HttpStatusCode.Forbidden, $"{method} {path}: {(int)code} {problem}");
            }
        }

        var (after, model, _) = await Api.SendAsync(ingest, HttpMethod.Get, $"/models/{key}", SecuredServicesFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, after);
        Assert.Equal(models[0].GetProperty("status").GetString(), model.GetProperty("status").GetString());
    }
}

[Collection(ServersFixture.BrokerCollection)]
public class RateLimitTests(ServersFixture servers)
{
    [Fact]
    public async Task A_flood_from_one_client_gets_429_with_retry_after_while_other_clients_go_on()
    {
        var settings = SecuredServicesFixture.KeySettings();
        settings["ConnectionStrings__vectordb"] = await servers.NewDatabaseAsync();
        settings["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        // 30 a minute, but at most 3 at once: the bucket (RateLimit:Burst), not the window's permits, bounds a burst.
        settings["RateLimit__PermitLimit"] = "30";
        settings["RateLimit__WindowSeconds"] = "600";
        settings["RateLimit__Burst"] = "3";
        settings["RateLimit__RejectionDelayMs"] = "400";
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/x", SecuredServicesFixture.TenantAKey)).Status);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, problem, response) = await Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.TenantAKey, Api.Json(new { id = "flood", text = "x" }));
        Assert.Equal(HttpStatusCode.TooManyRequests, code);
        // The refusal waits RateLimit:RejectionDelayMs, so a client that sends again at once is slowed down.
        Assert.True(clock.ElapsedMilliseconds >= 390, $"the 429 came after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.InRange(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
        await using (var dataSource = VectorStoreExtensions.CreateDataSource(settings["ConnectionStrings__vectordb"]))
        await using (var count = dataSource.CreateCommand("SELECT count(*) FROM documents"))
        {
            Assert.Equal(0L, await count.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        }

        // Another key is another partition; probes are never limited.
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/x", SecuredServicesFixture.TenantBKey)).Status);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/alive", null)).Status);
        }
    }

    [Fact]
    public async Task A_client_works_on_one_request_at_a_time_while_other_clients_and_its_event_streams_go_on()
    {
        var token = TestContext.Current.CancellationToken;
        var settings = SecuredServicesFixture.KeySettings();
        settings["ConnectionStrings__vectordb"] = await servers.NewDatabaseAsync();
        settings["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        settings["RateLimit__PermitLimit"] = "1000";
        settings["RateLimit__ConcurrentPerClient"] = "1";
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings);
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.TenantAKey, Api.Json(new { id = "held", text = "No worker runs, so this stays queued." }))).Status);

        // An open event stream (the document stays queued: no worker) takes none of the client's places.
        using var http = new HttpClient { BaseAddress = ingest.Url };
        using var events = new HttpRequestMessage(HttpMethod.Get, "/documents/held/events");
        events.Headers.Add("X-Api-Key", SecuredServicesFixture.TenantAKey);
        using var stream = await http.SendAsync(events, HttpCompletionOption.ResponseHeadersRead, token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/held", SecuredServicesFixture.TenantAKey).WaitAsync(TimeSpan.FromSeconds(10), token)).Status);

        // A batch upload in progress holds the client's one place: its next request waits, another client's does not.
        var release = new TaskCompletionSource();
        var upload = Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents/batch", SecuredServicesFixture.TenantAKey, new HeldContent("{\"id\":\"b1\",\"text\":\"one\"}\n", release.Task).Typed());
        await Task.Delay(500, token);
        var waiting = Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/held", SecuredServicesFixture.TenantAKey);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/x", SecuredServicesFixture.TenantBKey).WaitAsync(TimeSpan.FromSeconds(10), token)).Status);
        await Task.Delay(500, token);
        Assert.False(waiting.IsCompleted, "the client's second request ran beside its first");

        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await upload.WaitAsync(TimeSpan.FromSeconds(10), token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await waiting.WaitAsync(TimeSpan.FromSeconds(10), token)).Status);
    }

    [Fact]
    public async Task Without_api_keys_callers_of_one_address_are_not_served_one_at_a_time()
    {
        var token = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await servers.NewDatabaseAsync(),
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
            ["RateLimit__PermitLimit"] = "1000",
            ["RateLimit__ConcurrentPerClient"] = "1",
        };
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings);

        var release = new TaskCompletionSource();
        var upload = Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents/batch", null, new HeldContent("{\"id\":\"b1\",\"text\":\"one\"}\n", release.Task).Typed());
        await Task.Delay(500, token);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/x", null).WaitAsync(TimeSpan.FromSeconds(10), token)).Status);
        Assert.False(upload.IsCompleted);
        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await upload.WaitAsync(TimeSpan.FromSeconds(10), token)).Status);
    }

    // A request body that sends its first part, then the rest only once released (a slow upload).
    private sealed class HeldContent(string first, Task released) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(first));
            await stream.FlushAsync();
            await released;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        public HeldContent Typed()
        {
            Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            return this;
        }
    }
}
