using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Providers.Http;
using VectorPipeline.TestServers;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

/// <summary>A dead server is not hammered: after repeated failures calls fail fast, and recover after the break.</summary>
public sealed class CircuitBreakerTests
{
    [Theory]
    [InlineData("ollama")]
    [InlineData("openai")]
    [InlineData("http")]
    public async Task After_repeated_failures_calls_fail_fast_without_reaching_the_server_then_recover(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = FakeFault.Status(503);
        var logs = new FakeLoggerProvider();
        using var generator = Create(Options(provider, server, o => { o.MaxRetries = 4; o.BreakDurationSeconds = 1; }), logs);

        // Fail until the breaker opens: at least CircuitMinimumThroughput attempts, half of them failed.
        EmbeddingProviderException? open = null;
        for (var call = 0; call < 5 && open is null; call++)
        {
            var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["doomed"], cancellationToken: Token));
            if (error.IsCircuitOpen)
            {
                open = error;
            }
        }

        Assert.NotNull(open);
        var attemptsWhenOpen = server.Attempts;
        Assert.InRange(attemptsWhenOpen, EmbeddingHttpClient.CircuitMinimumThroughput, 15);
        Assert.Null(open.StatusCode);
        Assert.Contains("circuit breaker is open", open.Message);
        Assert.Matches(@"for another \d+(\.\d)? s", open.Message);
        Assert.NotNull(open.RetryAfter);

        var stopwatch = Stopwatch.StartNew();
        for (var call = 0; call < 5; call++)
        {
            var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["doomed"], cancellationToken: Token));
            Assert.True(error.IsCircuitOpen);
        }

        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(500), $"fail-fast calls took {stopwatch.ElapsedMilliseconds} ms");
        Assert.Equal(attemptsWhenOpen, server.Attempts);
        Assert.Contains(logs.Collector.GetSnapshot(), e => e.Level == LogLevel.Error && e.Message.Contains("circuit opened"));

        // The server recovers; after the break the next call goes through and closes the circuit.
        server.ClearFaults();
        await Task.Delay(TimeSpan.FromMilliseconds(1100), Token);
        var texts = Texts(2);
        AssertMatchesHashing(texts, await generator.GenerateAsync(texts, cancellationToken: Token), 64);
        Assert.Contains(logs.Collector.GetSnapshot(), e => e.Level == LogLevel.Information && e.Message.Contains("circuit closed"));
    }

    [Fact]
    public async Task Client_errors_do_not_open_the_circuit()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = FakeFault.Status(400);
        using var generator = Create(Options("openai", server));

        for (var call = 0; call < 15; call++)
        {
            var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["bad"], cancellationToken: Token));
            Assert.False(error.IsCircuitOpen);
            Assert.Equal(400, error.StatusCode);
        }

        Assert.Equal(15, server.Attempts);
    }
}
