using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings.Pipeline;

/// <summary>
/// Splits one call into consecutive batches so that no request to the inner generator exceeds
/// <see cref="MaxBatchItems"/> texts, <see cref="MaxBatchChars"/> characters (all texts together) or
/// <see cref="MaxBatchTokens"/> tokens (counted by the model's tokenizer where one is known, else estimated as
/// ⌈characters / 4⌉ per text), sends the batches one after the
/// other, and concatenates the results in input order. Order is preserved: batches hold consecutive texts. A single
/// text larger than a budget is sent alone (cutting it is the server's job). Each batch must come back with exactly
/// one embedding per text, else <see cref="EmbeddingProviderException"/>: a shortfall in one batch would otherwise
/// shift every later vector onto the wrong text. Usage (token counts) is summed over the batches.
/// </summary>
public sealed class BatchingEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Wraps <paramref name="innerGenerator"/>.</summary>
    /// <param name="innerGenerator">The provider.</param>
    /// <param name="maxBatchItems">Most texts per request, ≥ 1.</param>
    /// <param name="maxBatchChars">Most characters per request, ≥ 1.</param>
    /// <param name="maxBatchTokens">Most tokens per request, ≥ 1; null = no token budget.</param>
    /// <param name="countTokens">The model's token count of a text (the <c>onnx</c> provider's tokenizer); null = <see cref="EstimateTokens"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit is below 1.</exception>
    public BatchingEmbeddingGenerator(
        IEmbeddingGenerator<string, Embedding<float>> innerGenerator, int maxBatchItems, int maxBatchChars, int? maxBatchTokens = null,
        Func<string, long>? countTokens = null)
        : base(innerGenerator)
    {
        _countTokens = countTokens ?? EstimateTokens;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchItems, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchChars, 1);
        if (maxBatchTokens is { } tokens)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1, nameof(maxBatchTokens));
        }

        MaxBatchItems = maxBatchItems;
        MaxBatchChars = maxBatchChars;
        MaxBatchTokens = maxBatchTokens;
    }

    private readonly Func<string, long> _countTokens;

    /// <summary>Most texts per request.</summary>
    public int MaxBatchItems { get; }

    /// <summary>Most characters per request (sum of the texts' lengths in UTF-16 code units).</summary>
    public int MaxBatchChars { get; }

    /// <summary>Most tokens per request (the model's count, or ⌈length / 4⌉ per text), or null for none.</summary>
    public int? MaxBatchTokens { get; }

    /// <summary>Estimated tokens of a text: ⌈length / 4⌉ (about four characters per token for English with BPE tokenizers).</summary>
    public static long EstimateTokens(string text) => ((long)text.Length + 3) / 4;

    /// <summary>
    /// The batches <paramref name="texts"/> is split into, as (start, count) ranges of consecutive texts,
    /// greedily filled up to every limit.
    /// </summary>
    public IReadOnlyList<Range> Plan(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 1)
        {
            return [new Range(0, 1)]; // one text is one request whatever its size: no need to count its tokens (a query)
        }

        var batches = new List<Range>();
        int start = 0, count = 0;
        long chars = 0, tokens = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            var textChars = (long)texts[i].Length;
            var textTokens = MaxBatchTokens is null ? 0 : _countTokens(texts[i]);
            var full = count > 0 && (count + 1 > MaxBatchItems
                || chars + textChars > MaxBatchChars
                || (MaxBatchTokens is { } maxTokens && tokens + textTokens > maxTokens));
            if (full)
            {
                batches.Add(new Range(start, start + count));
                start = i;
                count = 0;
                chars = tokens = 0;
            }

            count++;
            chars += textChars;
            tokens += textTokens;
        }

        if (count > 0)
        {
            batches.Add(new Range(start, start + count));
        }

        return batches;
    }

    /// <summary>Embeds <paramref name="values"/> batch by batch; output order = input order. Empty input: empty result, no call.</summary>
    /// <exception cref="ArgumentException">A text is null.</exception>
    /// <exception cref="EmbeddingProviderException">The inner generator failed, or a batch came back with a different number of embeddings.</exception>
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = Providers.Http.ProviderInput.Materialize(values);
        var batches = Plan(texts);
        if (batches.Count == 1)
        {
            var single = await InnerGenerator.GenerateAsync(texts, options, cancellationToken).ConfigureAwait(false);
            CheckCount(single, texts.Count, 0, 1);
            return single;
        }

        var all = texts as string[] ?? texts.ToArray();
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        UsageDetails? usage = null;
        for (var b = 0; b < batches.Count; b++)
        {
            var (offset, length) = batches[b].GetOffsetAndLength(texts.Count);
            var slice = new ArraySegment<string>(all, offset, length);
            var embeddings = await InnerGenerator.GenerateAsync(slice, options, cancellationToken).ConfigureAwait(false);
            CheckCount(embeddings, length, b, batches.Count);
            result.AddRange(embeddings);
            if (embeddings.Usage is { } batchUsage)
            {
                usage ??= new UsageDetails();
                usage.InputTokenCount = Sum(usage.InputTokenCount, batchUsage.InputTokenCount);
                usage.OutputTokenCount = Sum(usage.OutputTokenCount, batchUsage.OutputTokenCount);
                usage.TotalTokenCount = Sum(usage.TotalTokenCount, batchUsage.TotalTokenCount);
            }
        }

        result.Usage = usage;
        return result;
    }

    private void CheckCount(GeneratedEmbeddings<Embedding<float>>? embeddings, int expected, int batch, int batches)
    {
        var actual = embeddings?.Count ?? 0;
        if (actual != expected)
        {
            var metadata = InnerGenerator.GetService<EmbeddingGeneratorMetadata>();
            throw new EmbeddingProviderException(
                metadata?.ProviderName ?? "unknown", metadata?.DefaultModelId,
                $"returned {actual} embeddings for {expected} texts (batch {batch + 1} of {batches}).");
        }
    }

    private static long? Sum(long? a, long? b) => a is null && b is null ? null : (a ?? 0) + (b ?? 0);
}
