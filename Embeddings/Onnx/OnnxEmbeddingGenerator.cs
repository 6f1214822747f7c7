using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// The <c>onnx</c> provider: a sentence-transformers model run in-process by ONNX Runtime, no server and no download.
/// Per call: each text is encoded by the model's WordPiece tokenizer (<c>[CLS] … [SEP]</c>, cut at the model's
/// maximum sequence length), the texts are ordered by length and run in groups of
/// <see cref="OnnxModelDefinition.RunBatchSize"/> (similar lengths together, so that little of each run is padding),
/// each text's token vectors are pooled (<see cref="OnnxPooling"/>) and L2-normalised, and the vectors come back in
/// input order. The session is the process's one for the model (<see cref="OnnxModelSession.Get"/>), loaded on the
/// first call or by <see cref="WarmUp"/>. Prefixes are not added here: <see cref="Models.ModelEmbedder"/> adds them.
/// </summary>
public sealed class OnnxEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>
    /// Key of <see cref="Embedding.AdditionalProperties"/> on an embedding whose text was cut: the text's length in word
    /// pieces before the cut (an <see cref="int"/>); the model saw <see cref="OnnxModelDefinition.MaxSequenceLength"/>.
    /// </summary>
    public const string FullTokenCountProperty = "fullTokenCount";

    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates the generator; loads nothing yet.</summary>
    /// <param name="definition">The resolved model.</param>
    public OnnxEmbeddingGenerator(OnnxModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        Definition = definition;
        _metadata = new EmbeddingGeneratorMetadata(OnnxModelDefinition.ProviderName, null, definition.Name, definition.Dimensions);
    }

    /// <summary>The model.</summary>
    public OnnxModelDefinition Definition { get; }

    /// <summary>The model's tokenizer (reads the vocabulary on first use, not the model).</summary>
    public OnnxTokenizer Tokenizer => OnnxModelSession.GetTokenizer(Definition);

    /// <summary>Loads the tokenizer and the session now (a service that embeds calls it at start, so that a model that cannot load stops it there).</summary>
    /// <returns>The session.</returns>
    /// <exception cref="InvalidOperationException">The model cannot be loaded (see <see cref="OnnxModelSession.Get"/>).</exception>
    public OnnxModelSession WarmUp()
    {
        _ = Tokenizer;
        return OnnxModelSession.Get(Definition);
    }

    /// <summary>
    /// Embeds each text; output order = input order. CPU (or GPU) bound: each run of <see cref="OnnxModelDefinition.RunBatchSize"/>
    /// texts waits for a free run slot without holding a thread (<see cref="OnnxModelSession.RunAsync"/>), then runs on
    /// the thread that waited; a call's runs go on in up to <see cref="OnnxModelSession.MaxConcurrentRuns"/> lanes at once.
    /// </summary>
    /// <exception cref="ArgumentException">A text is null, empty or only white space (it never reaches the model), or <paramref name="options"/> asks for other dimensions.</exception>
    /// <exception cref="OperationCanceledException">Cancelled between two runs.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? values.ToList();
        if (options?.Dimensions is { } asked && asked != Definition.Dimensions)
        {
            throw new ArgumentException($"Model {Definition.Name} produces {Definition.Dimensions} dimensions; {asked} were asked for.", nameof(options));
        }

        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new ArgumentException($"Text {i} of {texts.Count} is empty or white space; it has no meaning to embed.", nameof(values));
            }
        }

        if (texts.Count == 0)
        {
            return new GeneratedEmbeddings<Embedding<float>>();
        }

        var tokenizer = Tokenizer;
        var session = OnnxModelSession.Get(Definition);
        var encoded = new int[texts.Count][];
        var fullLengths = new int[texts.Count];
        long tokens = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            encoded[i] = tokenizer.Encode(texts[i], out fullLengths[i]);
            tokens += encoded[i].Length;
        }

        var order = Enumerable.Range(0, texts.Count).OrderBy(i => encoded[i].Length).ToArray();
        var vectors = new float[texts.Count][];
        var groups = (order.Length + Definition.RunBatchSize - 1) / Definition.RunBatchSize;
        var next = -1;

        // One lane takes the next group, waits for a run slot and runs it, until no group is left. Up to one lane per
        // run slot: a call alone on the session (the last batch of a backlog) uses every slot, not one; calls side by
        // side share the slots first come, first served. The first lane runs on the caller's thread, the others on the pool.
        async Task LaneAsync()
        {
            for (var g = Interlocked.Increment(ref next); g < groups; g = Interlocked.Increment(ref next))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = g * Definition.RunBatchSize;
                var group = order.AsSpan(start, Math.Min(Definition.RunBatchSize, order.Length - start)).ToArray();
                var pooled = await session.RunAsync(group.Select(i => encoded[i]).ToArray(), Definition.Pooling, tokenizer.PaddingId, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < group.Length; i++)
                {
                    if (Definition.Normalize)
                    {
                        VectorMath.L2Normalize(pooled[i]);
                    }

                    vectors[group[i]] = pooled[i];
                }
            }
        }

        var lanes = Math.Min(session.MaxConcurrentRuns, groups);
        var others = Enumerable.Range(1, lanes - 1).Select(_ => Task.Run(LaneAsync, CancellationToken.None)).ToArray();
        await Task.WhenAll(others.Prepend(LaneAsync())).ConfigureAwait(false);

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
        };
        for (var i = 0; i < texts.Count; i++)
        {
            var embedding = new Embedding<float>(vectors[i]) { ModelId = Definition.Name, CreatedAt = now };
            if (fullLengths[i] > encoded[i].Length)
            {
                embedding.AdditionalProperties = new AdditionalPropertiesDictionary { [FullTokenCountProperty] = fullLengths[i] };
            }

            result.Add(embedding);
        }

        return result;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the session belongs to the process (<see cref="OnnxModelSession"/>).</summary>
    public void Dispose()
    {
    }
}
