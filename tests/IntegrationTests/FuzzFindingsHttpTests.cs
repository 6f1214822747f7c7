using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// The inputs the fuzz targets found (tests/UnitTests/FuzzRegressionTests.cs calls the parsers with them), sent
/// through HTTP to the running services: each answers a 4xx problem detail (or is read correctly), never a 500, and
/// a refused document leaves nothing stored.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class FuzzFindingsHttpTests(SecuredServicesFixture fixture, IngestApiFixture uploads) : IClassFixture<SecuredServicesFixture>, IClassFixture<IngestApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, byte[]> RefusedUploads() => new()
    {
        // Markdig refuses nesting deeper than 128 with ArgumentException.
        { "deep.md", "text/markdown", Encoding.UTF8.GetBytes(new string('[', 100_000) + "x") },
        { "quotes.md", "text/markdown", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("> ", 200)) + "x") },
        // More open elements than the HTML reader allows (AngleSharp's tree builder is quadratic in them).
        { "deep.html", "text/html", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<div>", 1001)) + "x") },
        // A [Content_Types].xml part name that System.IO.Packaging cannot make a URI of.
        { "broken.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", TestDocuments.DocxWithPartName("c:x") },
    };

    [Theory]
    [MemberData(nameof(RefusedUploads))]
    public async Task A_file_the_fuzzer_found_is_refused_with_a_422_problem_detail_and_nothing_stored(string fileName, string contentType, byte[] content)
    {
        var id = "fuzz/" + fileName;
        var (status, problem, response) = await UploadAsync(id, fileName, contentType, content);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(422, problem.GetProperty("status").GetInt32());
        Assert.False(await UploadedAsync(id));
    }

    [Fact]
    public async Task Markdown_with_lone_carriage_returns_is_stored_not_a_500()
    {
        var (status, body, _) = await UploadAsync("fuzz/cr.md", "cr.md", "text/markdown", "[\r<\t\r\r```"u8.ToArray());

        Assert.True(status == HttpStatusCode.Accepted, $"{(int)status}: {body}");
        Assert.True(await UploadedAsync("fuzz/cr.md"));
    }

    [Theory]
    // A metadata field name with a byte that is not UTF-8, and a value starting with one.
    [InlineData(new byte[] { 0x7B, 0x22, 0x6D, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3A, 0x7B, 0x22, 0xEC, 0x6E, 0x64, 0x22, 0x3A, 0x31, 0x7D, 0x7D })]
    [InlineData(new byte[] { 0x7B, 0x22, 0x6D, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3A, 0x7B, 0x22, 0x66, 0x65, 0x22, 0x3A, 0x22, 0xB2, 0x22, 0x7D, 0x7D })]
    public async Task A_search_filter_with_invalid_utf8_is_a_400_naming_the_filter(byte[] filter)
    {
        var body = "{\"query\":\"q\",\"filter\":"u8.ToArray().Concat(filter).Concat("}"u8.ToArray()).ToArray();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var (status, problem, _) = await Api.SendAsync(fixture.Search.Url, HttpMethod.Post, "/search", SecuredServicesFixture.TenantAKey, content);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(problem.GetProperty("errors").TryGetProperty("filter", out _), problem.ToString());
    }

    [Fact]
    public async Task A_dify_condition_with_invalid_utf8_is_error_4001_not_a_500()
    {
        var body = "{\"knowledge_id\":\"*\",\"query\":\"q\",\"retrieval_setting\":{\"top_k\":3,\"score_threshold\":0},\"metadata_condition\":"
            + "{\"logical_operator\":\"and\",\"conditions\":[{\"name\":\"\xEC\",\"comparison_operator\":\"is\",\"value\":\"x\"}]}}";
        using var content = new ByteArrayContent(body.Select(c => (byte)c).ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/retrieval") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SecuredServicesFixture.DifyKey);
        using var http = new HttpClient { BaseAddress = fixture.Search.Url };

        using var response = await http.SendAsync(request, Token);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>(Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(4001, error.GetProperty("error_code").GetInt32());
    }

    [Fact]
    public async Task A_batch_line_over_the_request_limit_is_rejected_alone_even_in_one_read()
    {
        var longLine = $$"""{"id":"fuzz/long","text":"{{new string('a', SecuredServicesFixture.MaxRequestBytes + 10)}}"}""";
        var body = "{\"id\":\"fuzz/before\",\"text\":\"The line before.\"}\n" + longLine + "\n{\"id\":\"fuzz/after\",\"text\":\"The line after.\"}\n";
        using var content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");

        var (status, answer, _) = await Api.SendAsync(fixture.Ingest.Url, HttpMethod.Post, "/documents/batch", SecuredServicesFixture.TenantAKey, content);

        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {answer}");
        Assert.Equal(2, answer.GetProperty("accepted").GetInt64());
        Assert.Equal(2, answer.GetProperty("errors").EnumerateArray().Single().GetProperty("line").GetInt64());
        Assert.False(await StoredAsync("fuzz/long"));
        Assert.True(await StoredAsync("fuzz/after"));
    }

    // Uploads go to the Ingest.Api of IngestApiFixture (default limits, no keys): the secured fixture's 2,000-byte
    // text limit would refuse the larger files with 413 before they are parsed.
    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> UploadAsync(string id, string fileName, string contentType, byte[] content)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        form.Add(file, "file", fileName);
        form.Add(new StringContent(id), "id");
        return await Api.SendAsync(uploads.Http.BaseAddress!, HttpMethod.Post, "/documents", null, form);
    }

    private async Task<bool> UploadedAsync(string id)
    {
        await using var command = uploads.Database.CreateCommand("SELECT count(*) FROM documents WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return (long)(await command.ExecuteScalarAsync(Token))! > 0;
    }

    // The tenant's documents are stored under a key that carries the tenant (DocumentKey), so match the end.
    private async Task<bool> StoredAsync(string id)
    {
        await using var dataSource = VectorStoreExtensions.CreateDataSource(fixture.Database);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM documents WHERE right(id, length($1)) = $1");
        command.Parameters.AddWithValue(id);
        return (long)(await command.ExecuteScalarAsync(Token))! > 0;
    }
}
