using Microsoft.Extensions.AI;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.Embeddings.Pipeline;
using static VectorPipeline.ProviderTests.TestSupport;

namespace VectorPipeline.ProviderTests;

/// <summary>Batching and validation around a stub provider whose answers the test controls.</summary>
public sealed class PipelineTests
{
    /// <summary>Records each call; answers with the hashing vectors unless <see cref="Answer"/> says otherwise.</summary>
    private sealed class StubGenerator(int dimensions) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly HashingEmbeddingGenerator _hashing = new(dimensions);

        public List<string[]> Calls { get; } = [];

        public Func<string[], float[][]>? Answer { get; set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var texts = values.ToArray();
            Calls.Add(texts);
            var vectors = Answer?.Invoke(texts) ?? texts.Select(_hashing.Embed).ToArray();
            var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v)))
            {
                Usage = new UsageDetails { InputTokenCount = texts.Length, TotalTokenCount = texts.Length },
            };
            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("stub", null, "stub-model", dimensions) : null;

        public void Dispose()
        {
        }
    }

    private static ValidatingEmbeddingGenerator Pipeline(StubGenerator stub, int maxItems = 64, int maxChars = 60_000, int? maxTokens = null, int dimensions = 32) =>
        new(new BatchingEmbeddingGenerator(stub, maxItems, maxChars, maxTokens), "stub", "stub-model", dimensions);

    [Fact]
    public async Task Batches_by_items_keep_order_and_sum_usage()
    {
        var stub = new StubGenerator(32);
        using var generator = Pipeline(stub, maxItems: 4);
        var texts = Texts(10);

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal([4, 4, 2], stub.Calls.Select(c => c.Length));
        Assert.Equal(texts, stub.Calls.SelectMany(c => c));
        AssertMatchesHashing(texts, embeddings, 32);
        Assert.Equal(10, embeddings.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Batches_by_estimated_tokens()
    {
        var stub = new StubGenerator(32);
        using var generator = Pipeline(stub, maxTokens: 25);
        var texts = Enumerable.Range(0, 10).Select(i => $"text {i} ".PadRight(40, 'x')).ToArray(); // 40 chars = 10 tokens

        await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal([2, 2, 2, 2, 2], stub.Calls.Select(c => c.Length));
    }

    [Fact]
    public async Task A_text_over_the_character_budget_is_sent_alone_and_no_request_exceeds_the_budget_otherwise()
    {
        var stub = new StubGenerator(32);
        using var generator = Pipeline(stub, maxChars: 250);
        var big = new string('y', 600);
        string[] texts = ["a short one", big, "another short one", "third", new string('z', 245), "the end"];

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal(6, embeddings.Count);
        Assert.Equal(
            [["a short one"], [big], ["another short one", "third"], [new string('z', 245)], ["the end"]],
            stub.Calls);
    }

    [Fact]
    public void Plan_is_greedy_and_covers_every_text_once()
    {
        var batching = new BatchingEmbeddingGenerator(new StubGenerator(32), 3, 100, 20);
        var texts = Enumerable.Range(0, 50).Select(i => new string('a', i * 7 % 60 + 1)).ToArray();

        var plan = batching.Plan(texts);

        var covered = plan.SelectMany(r => Enumerable.Range(r.Start.Value, r.End.Value - r.Start.Value)).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), covered);
        foreach (var range in plan)
        {
            var batch = texts[range];
            Assert.InRange(batch.Length, 1, 3);
            if (batch.Length > 1)
            {
                Assert.True(batch.Sum(t => t.Length) <= 100);
                Assert.True(batch.Sum(BatchingEmbeddingGenerator.EstimateTokens) <= 20);
            }
        }
    }

    [Fact]
    public void Token_estimate_is_characters_over_four_rounded_up()
    {
        Assert.Equal(0, BatchingEmbeddingGenerator.EstimateTokens(""));
        Assert.Equal(1, BatchingEmbeddingGenerator.EstimateTokens("a"));
        Assert.Equal(1, BatchingEmbeddingGenerator.EstimateTokens("abcd"));
        Assert.Equal(2, BatchingEmbeddingGenerator.EstimateTokens("abcde"));
    }

    [Fact]
    public async Task Empty_input_calls_nothing()
    {
        var stub = new StubGenerator(32);
        using var generator = Pipeline(stub);

        Assert.Empty(await generator.GenerateAsync([], cancellationToken: Token));
        Assert.Empty(stub.Calls);
    }

    [Fact]
    public async Task A_short_batch_is_an_error_even_when_the_total_would_match()
    {
        var stub = new StubGenerator(32);
        var hashing = new HashingEmbeddingGenerator(32);
        var call = 0;
        // First batch answers one vector too few, second one too many: the total matches, the alignment would not.
        stub.Answer = texts => ++call == 1 ? texts.Skip(1).Select(hashing.Embed).ToArray() : texts.Append("extra").Select(hashing.Embed).ToArray();
        using var generator = Pipeline(stub, maxItems: 3);

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(Texts(6), cancellationToken: Token));

        Assert.Contains("returned 2 embeddings for 3 texts (batch 1 of 2)", error.Message);
        Assert.Equal("stub", error.Provider);
    }

    [Theory]
    [InlineData(float.NaN, "NaN or infinite")]
    [InlineData(float.PositiveInfinity, "NaN or infinite")]
    [InlineData(0f, "all-zero")]
    public async Task Vectors_without_a_direction_are_errors(float value, string expected)
    {
        var stub = new StubGenerator(32)
        {
            Answer = texts => texts.Select(_ => { var v = new float[32]; v[3] = value; return v; }).ToArray(),
        };
        using var generator = Pipeline(stub);

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["x"], cancellationToken: Token));

        Assert.Contains(expected, error.Message);
        Assert.Equal("stub-model", error.Model);
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    public async Task Vectors_are_never_padded_or_cut(int length)
    {
        var stub = new StubGenerator(32) { Answer = texts => texts.Select(_ => Enumerable.Repeat(0.5f, length).ToArray()).ToArray() };
        using var generator = Pipeline(stub);

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["x"], cancellationToken: Token));

        Assert.Contains($"returned a vector of {length} dimensions; the model declares 32", error.Message);
    }

    [Fact]
    public async Task Vectors_are_normalised_without_touching_the_providers_arrays()
    {
        var raw = Enumerable.Range(1, 32).Select(i => (float)i).ToArray();
        var stub = new StubGenerator(32) { Answer = _ => [raw] };
        using var generator = Pipeline(stub);

        var embedding = Assert.Single(await generator.GenerateAsync(["x"], cancellationToken: Token));

        Assert.Equal(1.0, VectorMath.Norm(embedding.Vector.Span), 5);
        Assert.Equal(1.0, VectorMath.CosineSimilarity(embedding.Vector.Span, raw), 5);
        Assert.Equal(32f, raw[31]);
    }

    [Fact]
    public async Task A_third_party_transport_exception_becomes_a_provider_exception()
    {
        var stub = new StubGenerator(32) { Answer = _ => throw new HttpRequestException("Connection refused") };
        using var generator = Pipeline(stub);

        var error = await Assert.ThrowsAsync<EmbeddingProviderException>(() => generator.GenerateAsync(["x"], cancellationToken: Token));

        Assert.True(error.IsTransient);
        Assert.IsType<HttpRequestException>(error.InnerException);
    }

    [Fact]
    public async Task Asking_for_other_dimensions_or_another_model_is_an_argument_error()
    {
        using var generator = Pipeline(new StubGenerator(32));

        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 64 }, Token));
        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { ModelId = "other" }, Token));
    }
}
