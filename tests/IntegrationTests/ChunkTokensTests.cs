using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VectorPipeline.TestServers;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Chunks sized in the built-in model's tokens, and the cut of a chunk larger than the model takes recorded and shown
/// by <c>GET /documents/{id}</c>: a real Ingest.Api process with the onnx provider (it reads only the vocabulary; no
/// worker runs, so nothing is embedded).
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class ChunkTokensTests(ServersFixture servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // 30 sentences of about 25 word pieces each: about 750 tokens in one paragraph.
    private static readonly string LongParagraph = string.Join(' ', Enumerable.Range(0, 30).Select(i =>
        $"In the {i}th minute the Denver Broncos' defense pressured Cam Newton again, forcing a hurried throw that fell incomplete."));

    private async Task<(ServiceProcess Ingest, string Database)> StartIngestAsync(Dictionary<string, string> settings)
    {
        var database = await servers.NewDatabaseAsync();
        settings["ConnectionStrings__vectordb"] = database;
        settings["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        settings["Embedding__Provider"] = "onnx";
        settings["Embedding__Model"] = "all-minilm-l6-v2";
        return (await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings), database);
    }

    [Fact]
    public async Task By_default_chunks_fit_the_model_and_none_is_cut()
    {
        var (ingest, database) = await StartIngestAsync([]);
        await using var _ = ingest;
        using var http = new HttpClient { BaseAddress = ingest.Url };

        var posted = await (await http.PostAsJsonAsync("/documents", new { id = "long", text = LongParagraph }, Token)).Content.ReadFromJsonAsync<JsonElement>(Token);
        var status = await http.GetFromJsonAsync<JsonElement>("/documents/long", Token);

        Assert.True(posted.GetProperty("chunks").GetInt32() >= 3, posted.GetRawText());
        Assert.False(status.TryGetProperty("truncated", out var truncated) && truncated.ValueKind != JsonValueKind.Null, status.GetRawText());
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var tokens = dataSource.CreateCommand("SELECT max(tokens), count(*) FILTER (WHERE truncated_at IS NOT NULL) FROM chunks");
        await using var reader = await tokens.ExecuteReaderAsync(Token);
        Assert.True(await reader.ReadAsync(Token));
        Assert.InRange(reader.GetInt32(0), 200, 256);
        Assert.Equal(0, reader.GetInt64(1));
        await servers.PurgeChunkQueueAsync();
    }

    [Fact]
    public async Task A_chunk_configured_larger_than_the_model_takes_records_its_cut_in_the_document_status()
    {
        var (ingest, _) = await StartIngestAsync(new() { ["Chunking__MaxChunkTokens"] = "1000", ["Chunking__OverlapTokens"] = "0" });
        await using var _ = ingest;
        using var http = new HttpClient { BaseAddress = ingest.Url };

        await http.PostAsJsonAsync("/documents", new { id = "long", text = LongParagraph }, Token);
        var status = await http.GetFromJsonAsync<JsonElement>("/documents/long", Token);

        var cut = Assert.Single(status.GetProperty("truncated").EnumerateArray());
        Assert.Equal(0, cut.GetProperty("chunk").GetInt32());
        Assert.InRange(cut.GetProperty("tokens").GetInt32(), 600, 1000);
        Assert.Equal(256, cut.GetProperty("keptTokens").GetInt32());
        await servers.PurgeChunkQueueAsync();
    }
}
