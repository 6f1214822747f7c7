using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.Embeddings.Pipeline;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

public sealed class FactoryTests
{
    private static EmbeddingModelOptions Valid(string provider = "ollama") => new()
    {
        Provider = provider,
        Model = provider == "hashing" ? null : "nomic-embed-text",
        Dimensions = provider == "hashing" ? null : 768,
        Endpoint = provider == "hashing" ? null : "http://127.0.0.1:11434",
    };

    public static TheoryData<string, Action<EmbeddingModelOptions>, string> Invalid => new()
    {
        { "ollama", o => o.MaxBatchItems = 0, "Embedding:MaxBatchItems must be between 1 and 2048" },
        { "ollama", o => o.MaxBatchItems = 2049, "Embedding:MaxBatchItems must be between 1 and 2048" },
        { "openai", o => o.MaxBatchChars = 0, "Embedding:MaxBatchChars must be between 1 and 10000000" },
        { "http", o => o.MaxBatchTokens = 0, "Embedding:MaxBatchTokens must be between 1 and 10000000" },
        { "ollama", o => o.TimeoutSeconds = 0, "Embedding:TimeoutSeconds must be between 1 and 600" },
        { "ollama", o => o.TimeoutSeconds = 601, "Embedding:TimeoutSeconds must be between 1 and 600" },
        { "ollama", o => o.MaxRetries = -1, "Embedding:MaxRetries must be between 0 and 10" },
        { "ollama", o => o.MaxRetries = 11, "Embedding:MaxRetries must be between 0 and 10" },
        { "ollama", o => o.RetryBaseDelayMs = 0, "Embedding:RetryBaseDelayMs must be between 1 and 60000" },
        { "ollama", o => o.BreakDurationSeconds = 0, "Embedding:BreakDurationSeconds must be between 1 and 3600" },
        { "ollama", o => o.Dimensions = 0, "Embedding:Dimensions must be between 1 and 2000" },
        { "ollama", o => o.Dimensions = 2001, "Embedding:Dimensions must be between 1 and 2000" },
        { "ollama", o => o.Dimensions = null, "Embedding:Dimensions is required" },
        { "openai", o => o.Model = " ", "Embedding:Model is required" },
        { "http", o => o.Endpoint = null, "Embedding:Endpoint is required" },
        { "http", o => o.Endpoint = "ftp://host", "Embedding:Endpoint must be an absolute http or https URL" },
        { "ollama", o => o.Endpoint = "localhost:11434/x", "Embedding:Endpoint must be an absolute http or https URL" },
        { "openai", o => o.ApiKey = "sk\nInjected: header", "Embedding:ApiKey must not contain line breaks" },
        { "ollama", o => o.Provider = "Ollama", "Embedding:Provider must be one of onnx, hashing, ollama, openai, http" },
        { "ollama", o => o.Provider = "cohere", "Embedding:Provider must be one of onnx, hashing, ollama, openai, http" },
        { "hashing", o => o.Model = "other", "Embedding:Model must be empty or 'hashing-ngram-v1'" },
        { "hashing", o => o.Dimensions = 8, "Embedding:Dimensions must be between 16 and 2000" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_settings_are_refused_naming_the_setting(string provider, Action<EmbeddingModelOptions> breakIt, string expected)
    {
        var options = Valid(provider);
        breakIt(options);

        var error = Assert.Throws<InvalidOperationException>(() => EmbeddingGeneratorFactory.Create(options, NullLoggerFactory.Instance));

        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Messages_use_the_given_settings_prefix()
    {
        var options = Valid();
        options.MaxBatchItems = 0;

        var error = Assert.Throws<InvalidOperationException>(() => EmbeddingGeneratorFactory.Create(options, "Embedding:Models:next", NullLoggerFactory.Instance));

        Assert.StartsWith("Embedding:Models:next:MaxBatchItems must be between 1 and 2048", error.Message);
    }

    [Theory]
    [InlineData("ollama", "http://127.0.0.1:11434", "http://127.0.0.1:11434/")]
    [InlineData("openai", "https://api.example.com/v1", "https://api.example.com/")]
    [InlineData("http", "http://models.internal:8080/embedder", "http://models.internal:8080/embedder/")]
    public void Metadata_names_provider_model_dimensions_and_endpoint(string provider, string endpoint, string expectedUri)
    {
        var options = Valid(provider);
        options.Endpoint = endpoint;
        using var generator = EmbeddingGeneratorFactory.Create(options, NullLoggerFactory.Instance);

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;

        Assert.Equal(provider, metadata.ProviderName);
        Assert.Equal("nomic-embed-text", metadata.DefaultModelId);
        Assert.Equal(768, metadata.DefaultModelDimensions);
        Assert.Equal(new Uri(expectedUri), metadata.ProviderUri);
        // OpenTelemetry(span tags(validating(batching(provider)))): the GenAI span outermost, every provider validated and batched.
        Assert.IsType<OpenTelemetryEmbeddingGenerator<string, Embedding<float>>>(generator);
        Assert.NotNull(generator.GetService<EmbeddingTelemetry>());
        Assert.NotNull(generator.GetService<ValidatingEmbeddingGenerator>());
        Assert.NotNull(generator.GetService<BatchingEmbeddingGenerator>());
    }

    [Fact]
    public async Task Hashing_goes_through_the_same_pipeline_with_default_384_dimensions()
    {
        using var generator = EmbeddingGeneratorFactory.Create(new EmbeddingModelOptions { Provider = "hashing", MaxBatchItems = 2 }, NullLoggerFactory.Instance);
        var texts = Texts(5);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        AssertMatchesHashing(texts, embeddings, 384);
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal(("hashing", HashingEmbeddingGenerator.ModelName, 384), (metadata.ProviderName, metadata.DefaultModelId, metadata.DefaultModelDimensions));
        Assert.Null(metadata.ProviderUri);
        Assert.Equal(2, generator.GetService<BatchingEmbeddingGenerator>()!.MaxBatchItems);
        Assert.NotNull(generator.GetService<HashingEmbeddingGenerator>());
    }
}
