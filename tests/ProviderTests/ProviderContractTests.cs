using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Providers.CustomHttp;
using VectorPipeline.TestServers;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

/// <summary>The same contract for the three HTTP providers, against <see cref="FakeEmbeddingServer"/>.</summary>
public sealed class ProviderContractTests
{
    public static TheoryData<string> Providers => ["ollama", "openai", "http"];

    private static string EmbedPath(string provider) => provider switch
    {
        "ollama" => "/api/embed",
        "openai" => "/v1/embeddings",
        _ => "/batch_embed",
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Happy_path_keeps_input_order_and_returns_unit_vectors_equal_to_the_offline_ones(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(384);
        server.VectorScale = 2.5f; // the server does not normalise: the client must
        using var generator = Create(Options(provider, server));
        var texts = Texts(7);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 384);
        Assert.True(VectorMath.CosineSimilarity(embeddings[0].Vector.Span, embeddings[1].Vector.Span) < 0.9, "different texts must get different vectors");
        Assert.Equal(1, server.Requests);
        Assert.Equal(texts, server.ReceivedTexts);
        Assert.Equal(EmbedPath(provider), Assert.Single(server.RequestLog).Path);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Request_body_follows_the_protocol(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        using var generator = Create(Options(provider, server, o => o.KeepAlive = "7m"));

        await generator.GenerateAsync(["alpha", "beta"], cancellationToken: Token);

        using var body = JsonDocument.Parse(Assert.Single(server.RequestLog).Body);
        var root = body.RootElement;
        switch (provider)
        {
            case "ollama":
                Assert.Equal(Model, root.GetProperty("model").GetString());
                Assert.Equal(["alpha", "beta"], root.GetProperty("input").EnumerateArray().Select(e => e.GetString()));
                Assert.True(root.GetProperty("truncate").GetBoolean());
                Assert.Equal("7m", root.GetProperty("keep_alive").GetString());
                break;
            case "openai":
                Assert.Equal(Model, root.GetProperty("model").GetString());
                Assert.Equal(["alpha", "beta"], root.GetProperty("input").EnumerateArray().Select(e => e.GetString()));
                // The OpenAI client asks for base64 (4 bytes per float instead of a decimal text) and decodes it.
                Assert.Equal("base64", root.GetProperty("encoding_format").GetString());
                Assert.False(root.TryGetProperty("dimensions", out _), "dimensions is sent only with SendDimensions");
                break;
            default:
                Assert.Equal(["alpha", "beta"], root.GetProperty("texts").EnumerateArray().Select(e => e.GetString()));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Batching_splits_150_texts_into_requests_of_at_most_64(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(128);
        server.MaxBatchItemsAccepted = 64; // the server answers 413 to a larger request
        using var generator = Create(Options(provider, server, o => o.MaxBatchItems = 64));
        var texts = Texts(150);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal(3, server.Requests);
        Assert.Equal(3, server.Attempts);
        Assert.Equal(texts, server.ReceivedTexts);
        AssertMatchesHashing(texts, embeddings, 128);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Batching_respects_the_character_budget(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.MaxBatchCharsAccepted = 250;
        using var generator = Create(Options(provider, server, o => o.MaxBatchChars = 250));
        var texts = Texts(10).Select(t => t.PadRight(100, '.')).ToArray(); // 100 characters each: two per request

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal(5, server.Requests);
        Assert.Equal(texts, server.ReceivedTexts);
        AssertMatchesHashing(texts, embeddings, 64);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Reordered_openai_data_and_every_provider_put_results_back_in_input_order(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(96);
        server.EnqueueFault(new FakeFault { ReorderData = true });
        using var generator = Create(Options(provider, server));
        var texts = Texts(5);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 96);
    }

    [Fact]
    public async Task Openai_data_with_a_repeated_index_is_an_error()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        server.EnqueueFault(new FakeFault { DuplicateIndex = true });
        using var generator = Create(Options("openai", server));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(3), cancellationToken: Token));

        Assert.Contains("index 0 appears twice", error.Message);
        Assert.Equal(1, server.Attempts);
    }

    [Theory]
    [InlineData("http://HOST/")]
    [InlineData("http://HOST/v1")]
    [InlineData("http://HOST/v1/")]
    [InlineData("http://HOST/v1/embeddings")]
    public async Task Openai_endpoint_may_end_in_v1_or_name_the_embeddings_resource(string endpoint)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        using var generator = Create(Options("openai", server, o => o.Endpoint = endpoint.Replace("HOST/", server.BaseAddress.Authority + "/")));

        await generator.GenerateAsync(["one"], cancellationToken: Token);

        Assert.Equal("/v1/embeddings", Assert.Single(server.RequestLog).Path);
    }

    [Fact]
    public async Task Openai_sends_dimensions_when_asked()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(48);
        using var generator = Create(Options("openai", server, o => o.SendDimensions = true));

        await generator.GenerateAsync(["one"], cancellationToken: Token);

        using var body = JsonDocument.Parse(Assert.Single(server.RequestLog).Body);
        Assert.Equal(48, body.RootElement.GetProperty("dimensions").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_500_is_retried_then_succeeds_and_the_retry_is_logged(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(FakeFault.Status(500));
        var logs = new FakeLoggerProvider();
        using var generator = Create(Options(provider, server), logs);
        var texts = Texts(3);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 64);
        Assert.Equal(2, server.Attempts);
        Assert.Equal(1, server.Requests);
        var warning = Assert.Single(logs.Collector.GetSnapshot(), e => e.Level == LogLevel.Warning);
        Assert.Contains(provider, warning.Message);
        Assert.Contains(Model, warning.Message);
        Assert.Contains("500", warning.Message);
        Assert.Matches(@"retry 1 of 2 in \d+ ms", warning.Message);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_500_forever_fails_after_MaxRetries_plus_one_attempts_naming_provider_model_and_status(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.AlwaysFault = new FakeFault { StatusCode = 500, Body = "model crashed: CUDA out of memory" };
        using var generator = Create(Options(provider, server, o => o.MaxRetries = 3));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(2), cancellationToken: Token));

        Assert.Equal(4, server.Attempts);
        Assert.Equal(0, server.Requests);
        Assert.Equal(provider, error.Provider);
        Assert.Equal(Model, error.Model);
        Assert.Equal(500, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Contains($"'{provider}'", error.Message);
        Assert.Contains($"'{Model}'", error.Message);
        Assert.Contains(" 500 ", error.Message);
        Assert.Contains(EmbedPath(provider), error.Message);
        Assert.Contains("CUDA out of memory", error.Message);
        Assert.Contains("4 attempts", error.Message);
    }

    [Theory]
    [InlineData("ollama", 400)]
    [InlineData("openai", 401)]
    [InlineData("http", 403)]
    [InlineData("ollama", 404)]
    [InlineData("openai", 413)]
    [InlineData("http", 422)]
    public async Task Client_errors_are_not_retried(string provider, int status)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(FakeFault.Status(status), 3);
        using var generator = Create(Options(provider, server, o => o.MaxRetries = 3));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(2), cancellationToken: Token));

        Assert.Equal(1, server.Attempts);
        Assert.Equal(status, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains($" {status} ", error.Message);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Wrong_dimensions_are_an_error_naming_both_numbers(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(768);
        server.EnqueueFault(FakeFault.Dimensions(512));
        using var generator = Create(Options(provider, server));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(2), cancellationToken: Token));

        Assert.Contains("returned a vector of 512 dimensions; the model declares 768", error.Message);
        Assert.Equal(1, server.Attempts);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task All_zero_vectors_are_an_error(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        server.EnqueueFault(new FakeFault { ZeroVectors = true });
        using var generator = Create(Options(provider, server));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(2), cancellationToken: Token));

        Assert.Contains("all-zero", error.Message);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Empty_input_sends_no_request(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32);
        using var generator = Create(Options(provider, server));

        var embeddings = await generator.GenerateAsync([], cancellationToken: Token);

        Assert.Empty(embeddings);
        Assert.Equal(0, server.Attempts);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("http")]
    public async Task The_bearer_key_is_sent(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32, apiKey: "sk-test-123");
        using var generator = Create(Options(provider, server, o => o.ApiKey = "sk-test-123"));

        var embeddings = await generator.GenerateAsync(["hello"], cancellationToken: Token);

        Assert.Single(embeddings);
        Assert.Equal("Bearer sk-test-123", Assert.Single(server.RequestLog).Authorization);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("http")]
    public async Task A_wrong_key_gives_401_at_once_and_the_key_never_appears_in_the_message(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(32, apiKey: "sk-right");
        using var generator = Create(Options(provider, server, o => o.ApiKey = "sk-wrong-456"));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["hello"], cancellationToken: Token));

        Assert.Equal(401, error.StatusCode);
        Assert.Equal(1, server.Attempts);
        Assert.DoesNotContain("sk-wrong-456", error.ToString());
        Assert.Contains("Incorrect API key provided: ***", error.Message);
    }

    [Fact]
    public async Task Custom_http_falls_back_to_embed_per_text_when_batch_embed_is_404_and_remembers_it()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.BatchEmbedAvailable = false;
        using var generator = Create(Options("http", server));
        var first = Texts(3);
        var second = Texts(5)[3..];

        AssertMatchesHashing(first, await generator.GenerateAsync(first, cancellationToken: Token), 64);
        AssertMatchesHashing(second, await generator.GenerateAsync(second, cancellationToken: Token), 64);

        Assert.Equal(["/batch_embed", "/embed", "/embed", "/embed", "/embed", "/embed"], server.RequestLog.Select(r => r.Path));
        Assert.Equal(first.Concat(second), server.ReceivedTexts);
        Assert.True(generator.GetService<CustomHttpEmbeddingGenerator>()!.UsesSingleTextEndpoint);
    }

    [Fact]
    public async Task Custom_http_dimensions_field_must_match_the_vector_length()
    {
        await using var server = await FakeEmbeddingServer.StartAsync(64);
        server.EnqueueFault(new FakeFault { ReportedDimensions = 100 });
        using var generator = Create(Options("http", server));

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(2), cancellationToken: Token));

        Assert.Contains("\"dimensions\": 100", error.Message);
        Assert.Contains("64 values", error.Message);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task An_unreachable_server_fails_after_the_retries_with_a_transient_error(string provider)
    {
        int port;
        await using (var server = await FakeEmbeddingServer.StartAsync(32))
        {
            port = server.BaseAddress.Port;
        }

        using var generator = Create(new EmbeddingModelOptions
        {
            Provider = provider, Model = Model, Dimensions = 32, Endpoint = $"http://127.0.0.1:{port}", MaxRetries = 1, RetryBaseDelayMs = 10,
        });

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["x"], cancellationToken: Token));

        Assert.True(error.IsTransient);
        Assert.Null(error.StatusCode);
        Assert.Contains("2 attempts", error.Message);
        Assert.Contains($"127.0.0.1:{port}{EmbedPath(provider)}", error.Message);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Metadata_describes_the_configured_model(string provider)
    {
        await using var server = await FakeEmbeddingServer.StartAsync(256);
        using var generator = Create(Options(provider, server));

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal(provider, metadata.ProviderName);
        Assert.Equal(Model, metadata.DefaultModelId);
        Assert.Equal(256, metadata.DefaultModelDimensions);
        Assert.Equal(server.BaseAddress, metadata.ProviderUri);
    }
}
