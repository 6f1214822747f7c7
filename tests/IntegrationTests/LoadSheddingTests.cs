using System.Net;
using System.Net.Sockets;
using System.Text;
using VectorPipeline.TestServers;
using VectorPipeline.VectorStore;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// Load shedding (<c>Requests:MaxConcurrent</c>, <c>Requests:QueueLimit</c>): beyond the requests a service works on
/// and those waiting, it answers 503 at once and stores nothing, and serves again when the load is gone.
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class LoadSheddingTests(ServersFixture servers)
{
    [Fact]
    public async Task Beyond_the_requests_in_progress_and_waiting_a_service_answers_503_with_retry_after_stores_nothing_and_recovers()
    {
        var settings = SecuredServicesFixture.KeySettings();
        var database = await servers.NewDatabaseAsync();
        settings["ConnectionStrings__vectordb"] = database;
        settings["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        settings["Requests__MaxConcurrent"] = "1";
        settings["Requests__QueueLimit"] = "0";
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings);
        var token = TestContext.Current.CancellationToken;

        // A batch whose body is still arriving holds the only permit. It is written by hand on a socket, so that the
        // headers and the first line are surely sent while the rest is not; when another request held the permit as
        // it arrived (a 503 already on the socket), it is sent again.
        TcpClient? socket = null;
        NetworkStream stream = null!;
        async Task SendChunkAsync(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{bytes.Length:x}\r\n"), token);
            await stream.WriteAsync(bytes, token);
            await stream.WriteAsync("\r\n"u8.ToArray(), token);
            await stream.FlushAsync(token);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, "the batch did not get the permit within 30 s");
            socket?.Dispose();
            socket = new TcpClient();
            await socket.ConnectAsync(ingest.Url.Host, ingest.Url.Port, token);
            stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /documents/batch HTTP/1.1\r\nHost: {ingest.Url.Authority}\r\nX-Api-Key: {SecuredServicesFixture.TenantAKey}\r\n"
                + "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), token);
            await SendChunkAsync("{\"id\":\"held-1\",\"text\":\"The first line of a batch that is still being sent.\"}\n");
            await Task.Delay(500, token);
            if (stream.DataAvailable)
            {
                continue; // answered already: refused, the permit was taken
            }

            // A read answers 503 while the batch holds the permit (404 if it has not reached the limiter yet).
            var probe = await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/absent", SecuredServicesFixture.TenantAKey);
            if (probe.Status == HttpStatusCode.ServiceUnavailable)
            {
                break;
            }
        }

        using var held = socket;
        var refused = await Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.TenantAKey, Api.Json(new { id = "refused", text = "Refused while the service is busy." }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal(503, refused.Body.GetProperty("status").GetInt32());
        Assert.Equal("application/problem+json", refused.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Response.Headers.RetryAfter?.Delta);
        Assert.Equal("nosniff", refused.Response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/health", null)).Status);

        await SendChunkAsync("{\"id\":\"held-2\",\"text\":\"The second and last line.\"}\n");
        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), token);
        var answer = await new StreamReader(stream).ReadToEndAsync(token);
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);

        await using (var dataSource = VectorStoreExtensions.CreateDataSource(database))
        await using (var ids = dataSource.CreateCommand("SELECT count(*) FILTER (WHERE id LIKE '%held-_'), count(*) FROM documents"))
        await using (var reader = await ids.ExecuteReaderAsync(token))
        {
            await reader.ReadAsync(token);
            Assert.Equal((2L, 2L), (reader.GetInt64(0), reader.GetInt64(1))); // the batch's two lines, not the refused post
        }

        // The permit is free again: the refused post goes through.
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.TenantAKey, Api.Json(new { id = "refused", text = "Refused while the service is busy." }))).Status);
    }

    [Fact]
    public async Task A_negative_limit_stops_the_service_at_start_naming_the_key()
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await servers.NewDatabaseAsync(),
            ["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString,
            ["Requests__QueueLimit"] = "-1",
        };
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync("search-api", "Search.Api", settings));
        Assert.Contains("Requests:QueueLimit (-1)", error.Message, StringComparison.Ordinal);
    }
}
