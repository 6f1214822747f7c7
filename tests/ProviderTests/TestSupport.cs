using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;

namespace VectorPipeline.ProviderTests;

/// <summary>Options, generators and assertions shared by the provider tests.</summary>
internal static class TestSupport
{
    public const string Model = "fake-embed-v1";

    public static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Options for <paramref name="provider"/> against <paramref name="server"/>, with fast retries.</summary>
    public static EmbeddingModelOptions Options(string provider, FakeEmbeddingServer server, Action<EmbeddingModelOptions>? configure = null)
    {
        var options = new EmbeddingModelOptions
        {
            Provider = provider,
            Model = Model,
            Dimensions = server.Dimensions,
            Endpoint = server.BaseAddress.ToString(),
            MaxRetries = 2,
            RetryBaseDelayMs = 10,
            TimeoutSeconds = 10,
            BreakDurationSeconds = 30,
        };
        configure?.Invoke(options);
        return options;
    }

    public static IEmbeddingGenerator<string, Embedding<float>> Create(EmbeddingModelOptions options, FakeLoggerProvider? logs = null)
    {
        var loggerFactory = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Debug);
            if (logs is not null)
            {
                builder.AddProvider(logs);
            }
        });
        return EmbeddingGeneratorFactory.Create(options, loggerFactory);
    }

    /// <summary>Distinct texts about different things, so that their hashing vectors differ clearly.</summary>
    public static string[] Texts(int count) =>
        Enumerable.Range(0, count).Select(i => $"Document {i}: {Topics[i % Topics.Length]} number {i * 7919 % 1000}").ToArray();

    private static readonly string[] Topics =
    [
        "The Denver Broncos won Super Bowl 50 at Levi's Stadium",
        "PostgreSQL builds an HNSW index over pgvector columns",
        "RabbitMQ delivers chunk messages to embedding workers",
        "Photosynthesis turns sunlight into chemical energy in plants",
        "The Treaty of Westphalia ended the Thirty Years' War",
    ];

    /// <summary>Each vector has unit length and points where the hashing embedder's vector of the same text points.</summary>
    public static void AssertMatchesHashing(IReadOnlyList<string> texts, GeneratedEmbeddings<Embedding<float>> embeddings, int dimensions)
    {
        Assert.Equal(texts.Count, embeddings.Count);
        var hashing = new HashingEmbeddingGenerator(dimensions);
        for (var i = 0; i < texts.Count; i++)
        {
            var vector = embeddings[i].Vector.Span;
            Assert.Equal(dimensions, vector.Length);
            Assert.Equal(1.0, VectorMath.Norm(vector), 4);
            var cosine = VectorMath.CosineSimilarity(vector, hashing.Embed(texts[i]));
            Assert.True(cosine > 0.9999, $"text {i}: cosine with its hashing vector is {cosine:F5}");
        }
    }
}
