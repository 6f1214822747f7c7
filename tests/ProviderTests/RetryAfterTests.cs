using System.Diagnostics;
using Microsoft.Extensions.AI;
using VectorPipeline.TestServers;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

/// <summary>429 and 503 with <c>Retry-After</c>: the client waits what the server asks, not its own backoff.</summary>
public sealed class RetryAfterTests
{
    [Theory]
    [InlineData("ollama")]
    [InlineData("openai")]
    [InlineData("http")]
    public async Task A_429_with_Retry_After_1_is_retried_after_about_a_second_and_succeeds(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(FakeFault.Status(429, TimeSpan.FromSeconds(1)));
        using var generator = Create(Options(provider, server));
        var texts = Texts(4);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 64);
        var log = server.RequestLog;
        Assert.Equal(2, log.Count);
        var waited = log[1].ReceivedAt - log[0].ReceivedAt;
        Assert.True(waited >= TimeSpan.FromMilliseconds(950), $"retried after {waited.TotalMilliseconds:F0} ms; Retry-After said 1 s");
        Assert.True(waited < TimeSpan.FromSeconds(5), $"retried after {waited.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_503_with_an_http_date_Retry_After_waits_until_that_date()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        // HTTP-dates have whole seconds: ask for a date at least one full second ahead.
        var until = DateTimeOffset.UtcNow.AddSeconds(2);
        until = new DateTimeOffset(until.Year, until.Month, until.Day, until.Hour, until.Minute, until.Second, TimeSpan.Zero);
        server.EnqueueFault(new FakeFault { StatusCode = 503, RetryAfterDate = until });
        using var generator = Create(Options("openai", server));

        var stopwatch = Stopwatch.StartNew();
        await generator.GenerateAsync(["one"], cancellationToken: Token);

        var log = server.RequestLog;
        Assert.Equal(2, log.Count);
        Assert.True(log[1].ReceivedAt >= until.AddMilliseconds(-50), $"retried at {log[1].ReceivedAt:O}, Retry-After said {until:O}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Without_Retry_After_a_429_uses_the_short_backoff()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(FakeFault.Status(429));
        using var generator = Create(Options("ollama", server, o => o.RetryBaseDelayMs = 20));

        await generator.GenerateAsync(["one"], cancellationToken: Token);

        var log = server.RequestLog;
        Assert.Equal(2, log.Count);
        Assert.True(log[1].ReceivedAt - log[0].ReceivedAt < TimeSpan.FromMilliseconds(800));
    }
}
