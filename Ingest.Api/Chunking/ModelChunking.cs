using VectorPipeline.Embeddings.Models;
using VectorPipeline.Embeddings.Onnx;

namespace VectorPipeline.Ingest.Chunking;

/// <summary>
/// Chunking that fits the primary embedding model: where its tokenizer is known, the splitter counts the model's word
/// pieces and <see cref="Count"/> says how many a chunk costs the model (prefix and special tokens included) and
/// whether the model cuts it; elsewhere chunks are sized in characters and nothing is counted.
/// </summary>
public sealed class ModelChunking
{
    /// <summary>Default chunk limit in tokens where the model takes more: 256 (about 1,100 characters of English).</summary>
    public const int DefaultMaxChunkTokens = 256;

    private readonly OnnxTokenizer? _tokenizer;
    private readonly string _documentPrefix;

    /// <summary>Builds the splitter for <paramref name="options"/> and <paramref name="primary"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Options out of range (see <see cref="ChunkingOptions.Validate"/>), or overlap above half the derived limit.</exception>
    public ModelChunking(ChunkingOptions options, ModelEmbedder primary)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(primary);
        options.Validate();
        _tokenizer = primary.Tokenizer;
        _documentPrefix = primary.DocumentPrefix;
        Model = primary.Key;
        if (_tokenizer is null)
        {
            Splitter = new RecursiveTextSplitter(options);
            return;
        }

        var tokenizer = _tokenizer;
        var capacity = tokenizer.MaxSequenceLength - tokenizer.CountTokens(_documentPrefix);
        var max = options.MaxChunkTokens ?? Math.Max(8, Math.Min(DefaultMaxChunkTokens, capacity));
        var overlap = options.OverlapTokens ?? max * 15 / 100;
        if (overlap > max / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), overlap, $"Chunking:OverlapTokens is {overlap}; it must be at most half of the chunk limit ({max} tokens).");
        }

        Splitter = new RecursiveTextSplitter(max, overlap, text => tokenizer.CountTokens(text) - 2);
        TokenLimit = tokenizer.MaxSequenceLength;
    }

    /// <summary>The splitter (in tokens where the model's tokenizer is known).</summary>
    public RecursiveTextSplitter Splitter { get; }

    /// <summary>The primary model's key, whose tokens are counted.</summary>
    public string Model { get; }

    /// <summary>Most tokens the model takes per text (its maximum sequence length), or null where its tokenizer is not known.</summary>
    public int? TokenLimit { get; }

    /// <summary>
    /// Tokens of each embedded text as the model sees it (document prefix, <c>[CLS]</c> and <c>[SEP]</c> included,
    /// before any cut), or null where the model's tokenizer is not known.
    /// </summary>
    public IReadOnlyList<int>? Count(IReadOnlyList<string> embedTexts)
    {
        ArgumentNullException.ThrowIfNull(embedTexts);
        return _tokenizer is null ? null : embedTexts.Select(t => _tokenizer.CountTokens(_documentPrefix + t)).ToArray();
    }
}
