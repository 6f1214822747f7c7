using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>A real Ingest.Api process with PostgreSQL and RabbitMQ, for the tests of file uploads and NDJSON batches.</summary>
public sealed class IngestApiFixture(ServersFixture servers) : IAsyncLifetime
{
    /// <summary>The chunk template the service runs with.</summary>
    public const string ChunkTemplate = "{title}\n\n{chunk}";

    /// <summary>The service's database.</summary>
    public NpgsqlDataSource Database { get; private set; } = null!;

    /// <summary>Client of the service.</summary>
    public HttpClient Http { get; private set; } = null!;

    private ServiceProcess? _ingest;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        var database = await servers.NewDatabaseAsync();
        Database = VectorStoreExtensions.CreateDataSource(database);
        _ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = database,
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
            ["Chunking__MaxChunkChars"] = "300",
            ["Chunking__OverlapChars"] = "0",
            ["Chunking__Template"] = ChunkTemplate,
        });
        Http = new HttpClient { BaseAddress = _ingest.Url };
    }

    /// <summary>Chunk texts of a document in order.</summary>
    public async Task<List<string>> ChunksAsync(string id)
    {
        await using var command = Database.CreateCommand("SELECT text FROM chunks WHERE document_id = $1 ORDER BY ordinal");
        command.Parameters.AddWithValue(id);
        var chunks = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            chunks.Add(reader.GetString(0));
        }

        return chunks;
    }

    /// <summary>Documents stored.</summary>
    public async Task<long> DocumentCountAsync()
    {
        await using var command = Database.CreateCommand("SELECT count(*) FROM documents");
        return (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

/// <summary><c>POST /documents</c> as <c>multipart/form-data</c>: each format, titles, and files refused with nothing stored.</summary>
[Collection(ServersFixture.BrokerCollection)]
public class UploadTests(IngestApiFixture fixture) : IClassFixture<IngestApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly string Filler = string.Join(" ", Enumerable.Repeat("Vectors are stored in PostgreSQL with pgvector.", 5));

    public static TheoryData<string, string, string?, string, string[]> Formats() => new()
    {
        // file name, kind of content, declared content type, expected title, expected first lines of the chunks
        { "guide.md", "markdown", "text/markdown", "Install guide", ["# Install guide", "## Configure"] },
        { "page.html", "html", "text/html", "Pricing", ["# Plans", "## Limits"] },
        { "report.docx", "docx", null, "Annual report", ["# Annual report", "# Results"] },
        { "notes.txt", "text", "text/plain", "notes", ["Plain notes about the pipeline."] },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Each_format_is_stored_with_its_title_and_chunked_along_its_headings(string fileName, string kind, string? contentType, string title, string[] firstLines)
    {
        var content = kind switch
        {
            "markdown" => Encoding.UTF8.GetBytes($"# Install guide\n\n{Filler}\n\n## Configure\n\n{Filler}\n"),
            "html" => Encoding.UTF8.GetBytes($"<html><head><title>Pricing</title><script>x()</script></head><body><h1>Plans</h1><p>{Filler}</p><h2>Limits</h2><p>{Filler}</p></body></html>"),
            "docx" => TestDocuments.Docx(null, ("Title", "Annual report"), (null, Filler), ("Heading1", "Results"), (null, Filler)),
            _ => Encoding.UTF8.GetBytes("Plain notes about the pipeline."),
        };
        var id = "upload-" + kind;

        using var response = await UploadAsync(fileName, content, contentType, id);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var status = await fixture.Http.GetFromJsonAsync<JsonElement>($"/documents/{id}", Token);
        Assert.Equal(title, status.GetProperty("title").GetString());
        var chunks = await fixture.ChunksAsync(id);
        Assert.Equal(firstLines, chunks.Select(c => c.Split('\n')[0]).Take(firstLines.Length));
        Assert.DoesNotContain(chunks, c => c.Contains("x()", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Form_fields_give_the_id_title_source_and_metadata()
    {
        using var response = await UploadAsync("a.md", "# From the file\n\ntext"u8.ToArray(), "text/markdown", "fields",
            ("title", "Given title"), ("source", "wiki"), ("metadata", """{"team":"search"}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await using var command = fixture.Database.CreateCommand("SELECT title, source, metadata::text FROM documents WHERE id = 'fields'");
        await using var reader = await command.ExecuteReaderAsync(Token);
        Assert.True(await reader.ReadAsync(Token));
        Assert.Equal(("Given title", "wiki", """{"team": "search"}"""), (reader.GetString(0), reader.GetString(1), reader.GetString(2)));
    }

    [Fact]
    public async Task An_upload_without_an_id_is_keyed_by_its_file_name_so_uploading_it_again_replaces_it()
    {
        var before = await fixture.DocumentCountAsync();
        var content = "# Same file\n\nUploaded twice without an id."u8.ToArray();

        using var first = await UploadAsync("same-file.md", content, "text/markdown", id: null);
        using var second = await UploadAsync("same-file.md", content, "text/markdown", id: null);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var answers = new[] { await first.Content.ReadFromJsonAsync<JsonElement>(Token), await second.Content.ReadFromJsonAsync<JsonElement>(Token) };
        Assert.All(answers, a => Assert.Equal("same-file.md", a.GetProperty("id").GetString()));
        Assert.Equal(before + 1, await fixture.DocumentCountAsync());
    }

    public static TheoryData<string, string, string?, int, string> Refused() => new()
    {
        { "corrupt DOCX", "report.docx", null, 422, "report.docx could not be read as DOCX" },
        { "PNG renamed to .md", "notes.md", "text/markdown", 415, "it looks like a PNG image" },
        { "PDF", "paper.pdf", "application/pdf", 415, "application/pdf, which is not supported" },
        { "Latin-1 text", "menu.txt", "text/plain", 422, "menu.txt is not valid UTF-8 (at byte 3)" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Unsupported_or_corrupt_files_get_a_problem_saying_why_and_nothing_is_stored(string name, string fileName, string? contentType, int status, string reason)
    {
        byte[] content = name switch
        {
            "corrupt DOCX" => [.. "PK\u0003\u0004"u8, .. Enumerable.Repeat((byte)1, 300)],
            "PNG renamed to .md" => TestDocuments.PngBytes,
            "PDF" => "%PDF-1.7 ..."u8.ToArray(),
            _ => [.. "caf"u8, 0xE9],
        };
        var before = await fixture.DocumentCountAsync();

        using var response = await UploadAsync(fileName, content, contentType, "refused-" + fileName);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("detail").GetString());
        Assert.Equal(before, await fixture.DocumentCountAsync());
    }

    private async Task<HttpResponseMessage> UploadAsync(string fileName, byte[] content, string? contentType, string? id, params (string Name, string Value)[] fields)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        if (contentType is not null)
        {
            file.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        form.Add(file, "file", fileName);
        if (id is not null)
        {
            form.Add(new StringContent(id), "id");
        }

        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return await fixture.Http.PostAsync("/documents", form, Token);
    }
}

/// <summary>The chunk template decides what is embedded, and is recorded with the model.</summary>
[Collection(ServersFixture.BrokerCollection)]
public class ChunkTemplateTests(IngestApiFixture fixture) : IClassFixture<IngestApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_title_goes_into_what_is_embedded_and_a_new_title_re_embeds_the_chunks()
    {
        // No worker runs here, so what shows whether a chunk was kept or replaced is its key.
        async Task<long> PostAsync(string title)
        {
            using var response = await fixture.Http.PostAsJsonAsync("/documents", new { id = "templated", title, text = "Chunk text only." }, Token);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            await using var chunk = fixture.Database.CreateCommand("SELECT id FROM chunks WHERE document_id = 'templated'");
            return (long)(await chunk.ExecuteScalarAsync(Token))!;
        }

        var first = await PostAsync("Release notes");
        await using (var command = fixture.Database.CreateCommand("SELECT text, embed_text, content_hash FROM chunks WHERE document_id = 'templated'"))
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            Assert.True(await reader.ReadAsync(Token));
            Assert.Equal(("Chunk text only.", "Release notes\n\nChunk text only."), (reader.GetString(0), reader.GetString(1)));
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("Release notes\n\nChunk text only.")), reader.GetFieldValue<byte[]>(2));
        }

        Assert.Equal(first, await PostAsync("Release notes")); // unchanged: the chunk (and its embedding) is kept
        var second = await PostAsync("Release notes 2.0");
        Assert.NotEqual(first, second); // same chunk text, new title: a new chunk to embed

        // What the worker embeds is the rendering.
        var active = (await new VectorStore.EmbeddingModelStore(fixture.Database).GetActiveAsync(Token))!;
        var toEmbed = Assert.Single(await new VectorStore.EmbeddingStore(fixture.Database).GetChunksToEmbedAsync([second], active, Token));
        Assert.Equal("Release notes 2.0\n\nChunk text only.", toEmbed.Text);

        var model = (await fixture.Http.GetFromJsonAsync<JsonElement>("/models", Token))[0];
        Assert.Equal(IngestApiFixture.ChunkTemplate, model.GetProperty("chunkTemplate").GetString());
    }
}

/// <summary><c>POST /documents/batch</c>: NDJSON with bad lines in the middle.</summary>
[Collection(ServersFixture.BrokerCollection)]
public class BatchTests(IngestApiFixture fixture) : IClassFixture<IngestApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Good_lines_are_ingested_and_bad_ones_are_reported_by_line_number()
    {
        var lines = new[]
        {
            """{"id":"batch-1","text":"First document of the batch."}""",
            """{"id":"batch-2","text":"broken""",
            """{"id":"batch-3","text":"   "}""",
            "",
            """{"id":"batch-4","title":"Fourth","text":"Fourth document.","metadata":{"n":4}}""",
            $$"""{"id":"{{new string('x', 300)}}","text":"Id too long."}""",
            "[1,2]",
            """{"text":"A document without an id."}""",
        };
        using var content = new StringContent(string.Join("\r\n", lines), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");

        using var response = await fixture.Http.PostAsync("/documents/batch", content, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal((3, 4), (answer.GetProperty("accepted").GetInt32(), answer.GetProperty("rejected").GetInt32()));
        var errors = answer.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal([2, 3, 6, 7], errors.Select(e => e.GetProperty("line").GetInt32()));
        Assert.Contains("invalid JSON", errors[0].GetProperty("reason").GetString());
        Assert.StartsWith("text:", errors[1].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("id:", errors[2].GetProperty("reason").GetString(), StringComparison.Ordinal);
        var ids = answer.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!).ToList();
        Assert.Equal(["batch-1", "batch-4"], ids.Take(2));
        Assert.Equal(32, ids[2].Length); // generated
        Assert.Equal(["First document of the batch."], await fixture.ChunksAsync("batch-1"));
        Assert.Empty(await fixture.ChunksAsync("batch-2"));
    }

    [Fact]
    public async Task A_batch_in_another_content_type_is_refused_with_415()
    {
        using var content = new StringContent("""{"text":"x"}""", Encoding.UTF8, "application/json");

        using var response = await fixture.Http.PostAsync("/documents/batch", content, Token);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
