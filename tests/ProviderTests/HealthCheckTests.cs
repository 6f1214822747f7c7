using Microsoft.Extensions.Diagnostics.HealthChecks;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Providers;
using VectorPipeline.TestServers;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

public sealed class HealthCheckTests
{
    private static HealthCheckContext Context(IHealthCheck check, HealthStatus failureStatus = HealthStatus.Unhealthy) =>
        new() { Registration = new HealthCheckRegistration("embeddings", check, failureStatus, null) };

    [Theory]
    [InlineData("http", "/health")]
    [InlineData("ollama", "/api/version")]
    public async Task A_server_that_answers_is_healthy(string provider, string path)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        using var check = new EmbeddingServerHealthCheck(Options(provider, server));

        var result = await check.CheckHealthAsync(Context(check), Token);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(1, server.HealthRequests);
        Assert.Equal(path, check.ProbeUri!.AbsolutePath);
        if (provider == "ollama")
        {
            Assert.Equal($"Ollama {FakeEmbeddingServer.Version}", result.Description);
        }
    }

    [Theory]
    [InlineData("http")]
    [InlineData("ollama")]
    public async Task A_server_that_answers_503_gets_the_failure_status_after_one_request(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        server.HealthStatusCode = 503;
        using var check = new EmbeddingServerHealthCheck(Options(provider, server));

        var result = await check.CheckHealthAsync(Context(check, HealthStatus.Degraded), Token);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("503", result.Description);
        Assert.Equal(1, server.HealthRequests);
    }

    [Fact]
    public async Task An_unreachable_server_is_unhealthy()
    {
        int port;
        await using (var server = await FakeEmbeddingServer.StartAsync(32))
        {
            port = server.BaseAddress.Port;
        }

        using var check = new EmbeddingServerHealthCheck(new EmbeddingModelOptions { Provider = "http", Model = "m", Endpoint = $"http://127.0.0.1:{port}" });

        var result = await check.CheckHealthAsync(Context(check), Token);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains($"127.0.0.1:{port}/health", result.Description);
        Assert.NotNull(result.Exception);
    }

    [Fact]
    public async Task A_hanging_server_is_unhealthy_within_the_probe_timeout()
    {
        // A listener that accepts connections and never answers.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var check = new EmbeddingServerHealthCheck(new EmbeddingModelOptions { Provider = "ollama", Model = "m", Endpoint = $"http://127.0.0.1:{port}" });

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var result = await check.CheckHealthAsync(Context(check), Token);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("no answer within 5 s", result.Description);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(4.5), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task Openai_is_not_probed()
    {
        using var check = new EmbeddingServerHealthCheck(new EmbeddingModelOptions { Provider = "openai", Model = "m", Endpoint = "http://127.0.0.1:1" });

        var result = await check.CheckHealthAsync(Context(check), Token);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal("not probed", result.Description);
        Assert.Null(check.ProbeUri);
    }

    [Fact]
    public async Task Hashing_is_healthy()
    {
        using var check = new EmbeddingServerHealthCheck(new EmbeddingModelOptions { Provider = "hashing" });

        var result = await check.CheckHealthAsync(Context(check), Token);

        Assert.Equal(HealthStatus.Healthy, result.Status);
    }
}
