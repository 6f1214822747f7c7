using System.Text.Json;
using Microsoft.Extensions.AI;
using Polly.CircuitBreaker;
using Polly.Timeout;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Pipeline;

/// <summary>
/// The outermost step around every provider: an empty input returns an empty result without calling the
/// provider; otherwise the result must hold exactly one vector per input text, each exactly
/// <see cref="Dimensions"/> long, finite (no NaN or infinity) and not all zeros — a vector is never padded or cut.
/// Every vector is then L2-normalised (a copy; see <see cref="VectorMath.L2Normalize"/>), so that cosine similarity
/// equals the dot product. Failures are <see cref="EmbeddingProviderException"/>; transport exceptions of an inner
/// generator that does not throw it itself (for example a third-party client) are wrapped into one.
/// <see cref="GetService"/> answers <see cref="EmbeddingGeneratorMetadata"/> with the configured provider, model,
/// dimensions and endpoint, whatever the inner generator reports.
/// </summary>
public sealed class ValidatingEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Wraps <paramref name="innerGenerator"/>.</summary>
    /// <param name="innerGenerator">The (batched) provider.</param>
    /// <param name="providerName">Provider name for messages and metadata.</param>
    /// <param name="modelId">Model name for messages and metadata.</param>
    /// <param name="dimensions">Length every vector must have, ≥ 1.</param>
    /// <param name="providerUri">Endpoint for metadata; null for the hashing embedder.</param>
    /// <exception cref="ArgumentException">Blank provider or model name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimensions"/> below 1.</exception>
    public ValidatingEmbeddingGenerator(
        IEmbeddingGenerator<string, Embedding<float>> innerGenerator, string providerName, string modelId, int dimensions, Uri? providerUri = null)
        : base(innerGenerator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(providerName);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        ProviderName = providerName;
        ModelId = modelId;
        Dimensions = dimensions;
        _metadata = new EmbeddingGeneratorMetadata(providerName, providerUri, modelId, dimensions);
    }

    /// <summary>Provider name.</summary>
    public string ProviderName { get; }

    /// <summary>Model name.</summary>
    public string ModelId { get; }

    /// <summary>Length of every vector, in floats.</summary>
    public int Dimensions { get; }

    /// <summary>Embeds <paramref name="values"/> and checks and normalises the result; output order = input order.</summary>
    /// <exception cref="ArgumentException">A text is null, or <paramref name="options"/> asks for another model or length.</exception>
    /// <exception cref="EmbeddingProviderException">The provider failed, or returned a wrong count or a vector of the wrong
    /// length, with NaN/infinity, or all zeros.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = ProviderInput.Materialize(values);
        if (options?.Dimensions is { } askedDimensions && askedDimensions != Dimensions)
        {
            throw new ArgumentException($"Model '{ModelId}' of provider '{ProviderName}' produces {Dimensions} dimensions; {askedDimensions} were asked for.", nameof(options));
        }

        if (options?.ModelId is { } askedModel && askedModel != ModelId)
        {
            throw new ArgumentException($"This generator embeds with '{ModelId}' of provider '{ProviderName}'; model '{askedModel}' was asked for.", nameof(options));
        }

        if (texts.Count == 0)
        {
            return [];
        }

        GeneratedEmbeddings<Embedding<float>> embeddings;
        try
        {
            embeddings = await InnerGenerator.GenerateAsync(texts, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not EmbeddingProviderException && !cancellationToken.IsCancellationRequested && IsProviderFailure(e))
        {
            throw new EmbeddingProviderException(ProviderName, ModelId, $"the call failed: {e.GetType().Name}: {e.Message}", (int?)(e as HttpRequestException)?.StatusCode, e)
            {
                IsTransient = e is not JsonException,
                IsCircuitOpen = e is BrokenCircuitException,
            };
        }

        if (embeddings is null || embeddings.Count != texts.Count)
        {
            throw Fail($"returned {embeddings?.Count ?? 0} embeddings for {texts.Count} texts.");
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(embeddings.Count)
        {
            Usage = embeddings.Usage,
            AdditionalProperties = embeddings.AdditionalProperties,
        };
        for (var i = 0; i < embeddings.Count; i++)
        {
            var embedding = embeddings[i] ?? throw Fail($"returned no embedding for text {i}.");
            var vector = embedding.Vector.Span;
            if (vector.Length != Dimensions)
            {
                throw Fail($"returned a vector of {vector.Length} dimensions; the model declares {Dimensions} (text {i} of {texts.Count}). " +
                    "Set Embedding:Dimensions to what the model produces.");
            }

            var norm = VectorMath.Norm(vector);
            if (!double.IsFinite(norm))
            {
                throw Fail($"returned a vector with NaN or infinite values (text {i} of {texts.Count}).");
            }

            if (norm == 0)
            {
                throw Fail($"returned an all-zero vector, which has no direction (text {i} of {texts.Count}).");
            }

            var copy = vector.ToArray();
            VectorMath.L2Normalize(copy);
            result.Add(new Embedding<float>(copy)
            {
                ModelId = embedding.ModelId ?? ModelId,
                CreatedAt = embedding.CreatedAt,
                AdditionalProperties = embedding.AdditionalProperties,
            });
        }

        return result;
    }

    /// <summary>
    /// <see cref="EmbeddingGeneratorMetadata"/> as configured (provider, model, dimensions, endpoint); otherwise this
    /// instance or what the inner generators provide.
    /// </summary>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : base.GetService(serviceType, serviceKey);
    }

    private EmbeddingProviderException Fail(string detail) => new(ProviderName, ModelId, detail);

    private static bool IsProviderFailure(Exception e) =>
        e is HttpRequestException or JsonException or TimeoutRejectedException or BrokenCircuitException or OperationCanceledException or TimeoutException;
}
