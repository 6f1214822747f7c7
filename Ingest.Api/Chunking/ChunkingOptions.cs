namespace VectorPipeline.Ingest.Chunking;

/// <summary>The <c>Chunking</c> configuration section (environment form <c>Chunking__MaxChunkChars</c>, ...).</summary>
public sealed class ChunkingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Chunking";

    /// <summary>Largest chunk, in characters (UTF-16 code units), 50..100000; 1000 by default.
    /// A single word longer than this becomes a chunk of its own rather than being cut.</summary>
    public int MaxChunkChars { get; set; } = 1000;

    /// <summary>Characters of the previous chunk's end repeated at the start of the next, 0..MaxChunkChars/2; 150 by default.
    /// Overlap is made of whole words, never part of one.</summary>
    public int OverlapChars { get; set; } = 150;

    /// <summary>
    /// Largest chunk in the primary model's tokens, 8..100000, where its tokenizer is known (the <c>onnx</c> provider);
    /// then it replaces <see cref="MaxChunkChars"/>. Null (default): 256, or less if the model takes fewer (its maximum
    /// sequence length less <c>[CLS]</c>, <c>[SEP]</c> and the document prefix), so that no chunk is cut. A larger value
    /// is allowed; the model then cuts such chunks and each records it (<c>GET /documents/{id}</c>, <c>truncated</c>).
    /// </summary>
    public int? MaxChunkTokens { get; set; }

    /// <summary>Tokens of the previous chunk's end repeated at the start of the next, 0..MaxChunkTokens/2; null (default): 15% of the chunk limit.</summary>
    public int? OverlapTokens { get; set; }

    /// <summary>
    /// What is embedded for each chunk (see <see cref="ChunkTemplate"/>): <c>{chunk}</c> (the default) or, for
    /// example, <c>"{title}\n\n{chunk}"</c>. Environment form <c>Chunking__Template</c>.
    /// </summary>
    public string Template { get; set; } = ChunkTemplate.ChunkOnly;

    /// <summary>Checks the ranges above and the template.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        if (MaxChunkChars is < 50 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxChunkChars), MaxChunkChars, "Chunking:MaxChunkChars must be between 50 and 100000.");
        }

        if (OverlapChars < 0 || OverlapChars > MaxChunkChars / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(OverlapChars), OverlapChars, "Chunking:OverlapChars must be between 0 and half of Chunking:MaxChunkChars.");
        }

        if (MaxChunkTokens is < 8 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxChunkTokens), MaxChunkTokens, "Chunking:MaxChunkTokens must be between 8 and 100000.");
        }

        if (OverlapTokens is { } overlap && (overlap < 0 || (MaxChunkTokens is { } max && overlap > max / 2)))
        {
            throw new ArgumentOutOfRangeException(nameof(OverlapTokens), OverlapTokens, "Chunking:OverlapTokens must be between 0 and half of Chunking:MaxChunkTokens.");
        }

        _ = new ChunkTemplate(Template);
    }
}
