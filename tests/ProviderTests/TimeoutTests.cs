using System.Diagnostics;
using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings;
using VectorPipeline.TestServers;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

/// <summary>Per-attempt timeout: a slow answer is abandoned, retried, and reported when it stays slow.</summary>
public sealed class TimeoutTests
{
    [Theory]
    [InlineData("ollama")]
    [InlineData("openai")]
    [InlineData("http")]
    public Task A_slow_answer_is_abandoned_after_TimeoutSeconds_and_retried(string provider) =>
        AssertAbandonedOnceThenAnsweredAsync(provider, FakeFault.Slow(TimeSpan.FromSeconds(20)));

    [Fact]
    public Task A_body_that_stalls_after_the_headers_is_abandoned_after_TimeoutSeconds_and_retried() =>
        AssertAbandonedOnceThenAnsweredAsync("ollama", new FakeFault { StallAfterHeaders = TimeSpan.FromSeconds(20) });

    // The first attempt meets the fault and is abandoned after the 1 s attempt timeout; the retry answers.
    private static async Task AssertAbandonedOnceThenAnsweredAsync(string provider, FakeFault fault)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(fault);
        using var generator = Create(Options(provider, server, o => o.TimeoutSeconds = 1));
        var texts = Texts(2);

        var stopwatch = Stopwatch.StartNew();
        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 64);
        Assert.Equal(2, server.Attempts);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_answer_that_stays_slow_is_an_error_after_MaxRetries_plus_one_attempts()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = FakeFault.Slow(TimeSpan.FromSeconds(20));
        using var generator = Create(Options("openai", server, o => { o.TimeoutSeconds = 1; o.MaxRetries = 1; }));

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["slow"], cancellationToken: Token));

        Assert.Equal(2, server.Attempts);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(1900), TimeSpan.FromSeconds(8));
        Assert.Null(error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Contains("1 s attempt timeout", error.Message);
        Assert.Contains("2 attempts", error.Message);
        Assert.Contains("/v1/embeddings", error.Message);
    }

    [Fact]
    public async Task A_call_gives_up_after_TotalTimeoutSeconds_even_with_retries_left()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = FakeFault.Slow(TimeSpan.FromSeconds(20));
        using var generator = Create(Options("ollama", server, o => { o.TimeoutSeconds = 1; o.TotalTimeoutSeconds = 2; o.MaxRetries = 10; }));

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["slow"], cancellationToken: Token));

        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(1900), TimeSpan.FromSeconds(5));
        Assert.InRange(server.Attempts, 2, 3);
        Assert.True(error.IsTransient);
        Assert.Contains("2 s total timeout", error.Message);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_turned_into_a_provider_error()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = FakeFault.Slow(TimeSpan.FromSeconds(20));
        using var generator = Create(Options("ollama", server));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(["slow"], cancellationToken: cancel.Token));

        Assert.Equal(1, server.Attempts);
    }
}
