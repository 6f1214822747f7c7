using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VectorPipeline.TestServers;

namespace VectorPipeline.IntegrationTests;

/// <summary>Reading an OpenAPI document served by a running service.</summary>
internal static class OpenApiDocument
{
    public const string Url = "/openapi/v1.json";

    public static async Task<JsonElement> GetAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(Url, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static JsonElement Operation(JsonElement document, string path, string method)
    {
        Assert.True(document.GetProperty("paths").TryGetProperty(path, out var item), $"No path {path}; paths: {string.Join(", ", document.GetProperty("paths").EnumerateObject().Select(p => p.Name))}");
        Assert.True(item.TryGetProperty(method, out var operation), $"{path} has no {method}: {item}");
        return operation;
    }

    /// <summary>The schema, following a <c>$ref</c> into <c>components/schemas</c>.</summary>
    public static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/')[^1];
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }

        return schema;
    }

    public static JsonElement RequestSchema(JsonElement document, JsonElement operation) =>
        Resolve(document, operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));

    public static Dictionary<string, JsonElement> RequestExamples(JsonElement operation) =>
        operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").TryGetProperty("examples", out var examples)
            ? examples.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetProperty("value"))
            : [];

    public static void AssertResponses(JsonElement operation, params string[] statusCodes)
    {
        var documented = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToList();
        var missing = statusCodes.Except(documented).ToList();
        Assert.True(missing.Count == 0, $"{operation.GetProperty("operationId")} documents {string.Join(", ", documented)}; missing {string.Join(", ", missing)}");
    }

    public static StringContent Json(JsonElement value) => new(value.GetRawText(), Encoding.UTF8, "application/json");
}

public class OpenApiTests(SearchApiFixture fixture) : IClassFixture<SearchApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_api_serves_its_document_with_title_and_both_search_operations()
    {
        var document = await OpenApiDocument.GetAsync(fixture.Http, Token);

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        Assert.Equal("VectorPipeline Search.Api", document.GetProperty("info").GetProperty("title").GetString());
        Assert.Contains("hybrid", document.GetProperty("info").GetProperty("description").GetString());
        var post = OpenApiDocument.Operation(document, "/search", "post");
        var get = OpenApiDocument.Operation(document, "/search", "get");
        Assert.Equal("Search", post.GetProperty("operationId").GetString());
        Assert.False(string.IsNullOrWhiteSpace(post.GetProperty("summary").GetString()));
        Assert.Contains(get.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "q");
        OpenApiDocument.AssertResponses(post, "200", "400", "502", "503");
        OpenApiDocument.AssertResponses(get, "200", "400", "502", "503");
        Assert.True(post.GetProperty("responses").GetProperty("503").GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.False(document.GetProperty("paths").TryGetProperty("/health", out _));
    }

    [Fact]
    public async Task The_search_request_schema_has_its_fields_with_the_descriptions_of_the_doc_comments()
    {
        var document = await OpenApiDocument.GetAsync(fixture.Http, Token);
        var schema = OpenApiDocument.RequestSchema(document, OpenApiDocument.Operation(document, "/search", "post"));

        var properties = schema.GetProperty("properties");
        foreach (var field in new[] { "query", "topK", "mode", "filter", "minScore", "model", "efSearch", "rrfK", "weights" })
        {
            Assert.True(properties.TryGetProperty(field, out _), $"SearchRequest has no '{field}': {schema}");
        }

        Assert.Contains("text to search for", properties.GetProperty("query").GetProperty("description").GetString());
        Assert.Contains("hybrid", properties.GetProperty("mode").GetProperty("description").GetString());
    }

    [Fact]
    public async Task The_search_examples_are_a_vector_and_a_filtered_hybrid_search_that_Search_Api_accepts()
    {
        var document = await OpenApiDocument.GetAsync(fixture.Http, Token);
        var post = OpenApiDocument.Operation(document, "/search", "post");
        var examples = OpenApiDocument.RequestExamples(post);

        Assert.Equal(["hybrid-filtered", "vector"], examples.Keys.Order());
        Assert.Equal("vector", examples["vector"].GetProperty("mode").GetString());
        Assert.Equal("hybrid", examples["hybrid-filtered"].GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Object, examples["hybrid-filtered"].GetProperty("filter").GetProperty("metadata").ValueKind);
        Assert.False(examples["vector"].TryGetProperty("filter", out _), "absent fields are left out of examples, not null");
        foreach (var (name, example) in examples)
        {
            Assert.False(string.IsNullOrWhiteSpace(example.GetProperty("query").GetString()));
            using var response = await fixture.Http.PostAsync("/search", OpenApiDocument.Json(example), Token);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"example {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Token)}");
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
            Assert.Equal(example.GetProperty("mode").GetString(), answer.GetProperty("mode").GetString());
        }

        var answerExample = post.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("examples").GetProperty("vector").GetProperty("value");
        Assert.Equal("super-bowl-50", answerExample.GetProperty("results")[0].GetProperty("documentId").GetString());
    }
}

[Collection(ServersFixture.BrokerCollection)]
public class IngestApiOpenApiTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ingest_api_serves_its_document_with_examples_that_it_accepts()
    {
        var database = await servers.NewDatabaseAsync();
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = database,
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
        });
        using var http = new HttpClient { BaseAddress = ingest.Url };

        var document = await OpenApiDocument.GetAsync(http, Token);

        Assert.Equal("VectorPipeline Ingest.Api", document.GetProperty("info").GetProperty("title").GetString());
        Assert.False(string.IsNullOrWhiteSpace(document.GetProperty("info").GetProperty("description").GetString()));
        var post = OpenApiDocument.Operation(document, "/documents", "post");
        var get = OpenApiDocument.Operation(document, "/documents/{id}", "get");
        OpenApiDocument.Operation(document, "/documents/{id}", "delete");
        var backfill = OpenApiDocument.Operation(document, "/models/{model}/backfill", "post");
        Assert.Equal("PostDocument", post.GetProperty("operationId").GetString());
        OpenApiDocument.AssertResponses(post, "202", "400", "503");
        OpenApiDocument.AssertResponses(get, "200", "404");
        OpenApiDocument.AssertResponses(backfill, "202", "400", "404");
        OpenApiDocument.AssertResponses(OpenApiDocument.Operation(document, "/models/{model}/activate", "post"), "200", "400", "404", "409");
        OpenApiDocument.AssertResponses(OpenApiDocument.Operation(document, "/models/{model}/reindex", "post"), "200", "400", "404", "409");

        var upload = post.GetProperty("requestBody").GetProperty("content").GetProperty("multipart/form-data").GetProperty("schema");
        Assert.Equal("binary", upload.GetProperty("properties").GetProperty("file").GetProperty("format").GetString());
        var batch = OpenApiDocument.Operation(document, "/documents/batch", "post");
        Assert.True(batch.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/x-ndjson", out _));
        OpenApiDocument.AssertResponses(OpenApiDocument.Operation(document, "/status", "get"), "200");
        var schema = OpenApiDocument.RequestSchema(document, post);
        Assert.Contains("document text", schema.GetProperty("properties").GetProperty("text").GetProperty("description").GetString());
        Assert.True(schema.GetProperty("properties").TryGetProperty("metadata", out _));
        var required = schema.TryGetProperty("required", out var list) ? list.EnumerateArray().Select(r => r.GetString()).ToList() : [];
        Assert.True(required.Count == 0, $"every field of PostDocumentRequest may be left out, yet required: {string.Join(", ", required)}");
        var status = OpenApiDocument.Resolve(document, get.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.Contains("embedding", status.GetProperty("properties").GetProperty("model").GetProperty("description").GetString());

        // The POST /documents example is a document Ingest.Api takes.
        var examples = OpenApiDocument.RequestExamples(post);
        Assert.Contains("document", examples.Keys);
        var example = examples["document"];
        Assert.Equal(JsonValueKind.Object, example.GetProperty("metadata").ValueKind);
        using (var response = await http.PostAsync("/documents", OpenApiDocument.Json(example), Token))
        {
            var body = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
            Assert.Equal(example.GetProperty("id").GetString(), JsonDocument.Parse(body).RootElement.GetProperty("id").GetString());
        }

        // The backfill example, sent for the model Ingest.Api registered (the hashing one).
        var backfillExample = Assert.Single(OpenApiDocument.RequestExamples(backfill)).Value;
        Assert.True(backfillExample.GetProperty("activateWhenComplete").GetBoolean());
        var model = (await http.GetFromJsonAsync<JsonElement>("/models", Token))[0].GetProperty("key").GetString()!;
        using (var response = await http.PostAsync($"/models/{Uri.EscapeDataString(model)}/backfill", OpenApiDocument.Json(backfillExample), Token))
        {
            var body = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("backfill").GetProperty("activateWhenComplete").GetBoolean());
        }
    }
}
