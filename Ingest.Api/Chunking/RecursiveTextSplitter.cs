using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Chunking;

/// <summary>
/// Splits text into chunks of at most a limit, trying
/// coarse boundaries first and finer ones only for the parts that are still too long (the recursive
/// character splitting popularised by LangChain): Markdown sections (a heading line starts one, outside
/// fenced code), then paragraphs (blank lines), then sentences, then words. Neighbouring pieces are packed
/// into one chunk while they fit, and each new chunk starts with whole words from the end of the previous one, up to
/// the overlap. Limit and overlap are in the embedding model's tokens when its tokenizer is known
/// (<see cref="ChunkingOptions.MaxChunkTokens"/>, <see cref="ChunkingOptions.OverlapTokens"/>), so that no chunk is
/// longer than the model takes; otherwise in characters (<see cref="ChunkingOptions.MaxChunkChars"/>,
/// <see cref="ChunkingOptions.OverlapChars"/>).
/// Guarantees: no chunk is cut inside a word; a heading is the last line of a chunk only at the end of the text, when
/// another heading follows it, or when it and the first word of its section do not fit in one chunk (it stays with the
/// text of its section otherwise, however long that section's first paragraph); chunks are trimmed and never empty.
/// </summary>
public sealed partial class RecursiveTextSplitter
{
    private const int SectionLevel = 0;
    private const int ParagraphLevel = 1;
    private const int SentenceLevel = 2;
    private const int WordLevel = 3;

    // Characters one unit can stand for at most, to bound the overlap search: 1 for characters; a word piece is
    // rarely longer than 20 characters.
    private int MaxCharsPerUnit => Unit == "tokens" ? 20 : 1;

    private readonly int _max;
    private readonly int _overlap;
    private readonly Func<string, int> _measure;

    /// <summary>Creates a splitter that measures in characters (UTF-16 code units).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Options out of range (see <see cref="ChunkingOptions.Validate"/>).</exception>
    public RecursiveTextSplitter(ChunkingOptions options)
    {
        options.Validate();
        _max = options.MaxChunkChars;
        _overlap = options.OverlapChars;
        _measure = static text => text.Length;
        Unit = "characters";
    }

    /// <summary>Creates a splitter that measures in a model's tokens.</summary>
    /// <param name="maxTokens">Largest chunk in tokens, ≥ 8.</param>
    /// <param name="overlapTokens">Tokens of whole words repeated from the previous chunk, 0..maxTokens / 2.</param>
    /// <param name="countTokens">The model's token count of a piece of text, without special tokens; additive over pieces split at white space (WordPiece is).</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    public RecursiveTextSplitter(int maxTokens, int overlapTokens, Func<string, int> countTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(overlapTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(overlapTokens, maxTokens / 2);
        ArgumentNullException.ThrowIfNull(countTokens);
        _max = maxTokens;
        _overlap = overlapTokens;
        _measure = countTokens;
        Unit = "tokens";
    }

    /// <summary>What the limits count: <c>characters</c> or <c>tokens</c>.</summary>
    public string Unit { get; }

    /// <summary>Largest chunk, in <see cref="Unit"/>.</summary>
    public int MaxChunk => _max;

    /// <summary>Overlap between neighbouring chunks, in <see cref="Unit"/>.</summary>
    public int Overlap => _overlap;

    /// <summary>Splits <paramref name="text"/> into chunks in document order; an empty or blank text gives none.</summary>
    public IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalised = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        var chunks = new List<string>();
        SplitInto(normalised, SectionLevel, chunks);
        return chunks;
    }

    private void SplitInto(string text, int level, List<string> chunks)
    {
        if (level > WordLevel || _measure(text) <= _max)
        {
            AddChunk(text, chunks);
            return;
        }

        var pieces = level switch
        {
            // A section that is only its heading (a subsection follows at once) goes with the next section.
            SectionLevel => GlueHeadings(SplitSections(text)),
            ParagraphLevel => GlueHeadings(SplitKeepingSeparators(text, ParagraphBoundary())),
            // A heading ending in . ! or ? is a "sentence" of its own: glue it to the next one, as for paragraphs.
            SentenceLevel => GlueHeadings(SplitKeepingSeparators(text, SentenceBoundary())),
            _ => SplitKeepingSeparators(text, WordBoundary()),
        };
        if (pieces.Count <= 1)
        {
            SplitInto(text, level + 1, chunks);
            return;
        }

        Pack(pieces, level, chunks);
    }

    // Greedy packing: consecutive pieces share a chunk while they fit. After a chunk is emitted, the next one starts
    // with the previous chunk's trailing whole words, up to the overlap budget. Heading lines at the end of the text
    // not yet in a chunk are held back when the next piece does not fit, and start the next chunk with it.
    private void Pack(List<string> pieces, int level, List<string> chunks)
    {
        var tail = ""; // the end of the last chunk, repeated at the start of the next (the overlap)
        var open = ""; // text in no chunk yet
        int tailSize = 0, openSize = 0;

        foreach (var piece in pieces)
        {
            var size = _measure(piece);
            if (Fits(tailSize + openSize + size, tail, open, piece))
            {
                (open, openSize) = (open + piece, openSize + size);
                continue;
            }

            // The piece does not fit: emit what is open, less the heading lines at its end, which go on with the piece.
            var held = TrailingHeadings(open);
            var body = open[..^held.Length];
            if (!string.IsNullOrWhiteSpace(body))
            {
                var text = tail + body;
                AddChunk(text, chunks);
                tail = OverlapTail(text);
                tailSize = tail.Length == 0 ? 0 : _measure(tail);
                (open, openSize) = (held, held.Length == 0 ? 0 : _measure(held));
            }

            if (Fits(tailSize + openSize + size, tail, open, piece))
            {
                (open, openSize) = (open + piece, openSize + size);
                continue;
            }

            (tail, tailSize) = ("", 0); // the overlap gives way to new text
            if (Fits(openSize + size, open, piece))
            {
                (open, openSize) = (open + piece, openSize + size);
                continue;
            }

            if (string.IsNullOrWhiteSpace(open) && size <= _max)
            {
                (open, openSize) = (piece, size);
            }
            else if (level < WordLevel)
            {
                // Too long, or too long with the headings before it: split at the next finer boundary, headings first.
                SplitInto(open + piece, level + 1, chunks);
                (open, openSize) = ("", 0);
            }
            else
            {
                // One word that does not fit with the held headings: the last heading lines that fit with it stay with
                // it, the others make a chunk (a word longer than the limit is a chunk of its own).
                var keep = HeadingLinesFitting(open, piece);
                AddChunk(open[..^keep.Length], chunks);
                // A word with white space after it can be over the limit untrimmed and fit trimmed, with headings kept for
                // it: those must go on with it, not be dropped (fuzz target splitter-chars).
                if (keep.Length == 0 && _measure(piece.Trim()) > _max)
                {
                    AddChunk(piece, chunks);
                    (open, openSize) = ("", 0);
                }
                else
                {
                    (open, openSize) = (keep + piece, (keep.Length == 0 ? 0 : _measure(keep)) + size);
                }
            }
        }

        if (!string.IsNullOrWhiteSpace(open))
        {
            AddChunk(tail + open, chunks);
        }
    }

    // Whether the parts make a chunk within the limit once trimmed. The untrimmed size is the sum of the parts'
    // sizes (measures are additive over pieces split at white space); only when that is over the limit is the
    // trimmed text measured, since white space at the ends of a chunk counts as characters but is trimmed off.
    private bool Fits(int untrimmedSize, params ReadOnlySpan<string> parts) =>
        untrimmedSize <= _max || _measure(string.Concat(parts).Trim()) <= _max;

    // The end of the text made of heading lines (and blank lines between them), from the start of the first such
    // line; "" when the text's last non-blank line is not a heading.
    private static string TrailingHeadings(string text)
    {
        var from = text.Length;
        var lineEnd = text.TrimEnd().Length;
        while (lineEnd > 0)
        {
            var lineStart = text.LastIndexOf('\n', lineEnd - 1) + 1;
            var line = text.AsSpan(lineStart, lineEnd - lineStart);
            if (!line.IsWhiteSpace())
            {
                if (!IsHeading(line))
                {
                    break;
                }

                from = lineStart;
            }

            lineEnd = lineStart - 1;
        }

        return from == text.Length ? "" : text[from..];
    }

    // The longest run of whole lines at the end of the held headings that fits in one chunk with the word; "" if none does.
    private string HeadingLinesFitting(string headings, string word)
    {
        for (var lineStart = 0; lineStart < headings.Length; lineStart = headings.IndexOf('\n', lineStart) + 1)
        {
            var candidate = headings[lineStart..];
            if (!string.IsNullOrWhiteSpace(candidate) && _measure((candidate + word).Trim()) <= _max)
            {
                return candidate;
            }

            if (headings.IndexOf('\n', lineStart) < 0)
            {
                break;
            }
        }

        return "";
    }

    // The longest end of the text that starts at a word and whose trimmed size fits the overlap budget.
    private string OverlapTail(string text)
    {
        if (_overlap == 0)
        {
            return "";
        }

        var end = text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        var best = end;
        for (var start = end - 1; start > 0 && end - start <= _overlap * MaxCharsPerUnit; start--)
        {
            if (char.IsWhiteSpace(text[start - 1]) && !char.IsWhiteSpace(text[start]))
            {
                if (_measure(text[start..end]) > _overlap)
                {
                    break;
                }

                best = start;
            }
        }

        return best == end ? "" : text[best..];
    }

    private static void AddChunk(string text, List<string> chunks)
    {
        var trimmed = text.Trim();
        if (trimmed.Length > 0)
        {
            chunks.Add(trimmed);
        }
    }

    // Sections start at Markdown ATX heading lines (# to ######) that are not inside a fenced code block.
    private static List<string> SplitSections(string text)
    {
        var sections = new List<string>();
        var start = 0;
        var inFence = false;
        var lineStart = 0;
        while (lineStart < text.Length)
        {
            var lineEnd = text.IndexOf('\n', lineStart);
            var next = lineEnd < 0 ? text.Length : lineEnd + 1;
            var line = text.AsSpan(lineStart, (lineEnd < 0 ? text.Length : lineEnd) - lineStart);
            var trimmedLine = line.TrimStart();
            if (trimmedLine.StartsWith("```") || trimmedLine.StartsWith("~~~"))
            {
                inFence = !inFence;
            }
            else if (!inFence && IsHeading(line) && lineStart > start)
            {
                sections.Add(text[start..lineStart]);
                start = lineStart;
            }

            lineStart = next;
        }

        sections.Add(text[start..]);
        return sections;
    }

    private static bool IsHeading(ReadOnlySpan<char> line)
    {
        var hashes = 0;
        while (hashes < line.Length && line[hashes] == '#')
        {
            hashes++;
        }

        return hashes is >= 1 and <= 6 && (hashes == line.Length || line[hashes] == ' ' || line[hashes] == '\t');
    }

    // A paragraph (or sentence, or section) that holds only heading lines is joined to the one after it.
    private static List<string> GlueHeadings(List<string> paragraphs)
    {
        var glued = new List<string>(paragraphs.Count);
        string? pending = null;
        foreach (var paragraph in paragraphs)
        {
            var combined = pending is null ? paragraph : pending + paragraph;
            var body = paragraph.Trim();
            // Only headings (one, or several in a row: a section and its first subsection): glue on.
            if (body.Split('\n').Where(line => line.Trim().Length > 0).All(line => IsHeading(line)))
            {
                pending = combined;
                continue;
            }

            glued.Add(combined);
            pending = null;
        }

        if (pending is not null)
        {
            glued.Add(pending);
        }

        return glued;
    }

    // Each piece keeps the separator that follows it, so concatenating the pieces gives back the text.
    private static List<string> SplitKeepingSeparators(string text, Regex boundary)
    {
        var pieces = new List<string>();
        var start = 0;
        foreach (Match match in boundary.Matches(text))
        {
            var end = match.Index + match.Length;
            if (end > start && match.Index > start)
            {
                pieces.Add(text[start..end]);
                start = end;
            }
        }

        if (start < text.Length)
        {
            pieces.Add(text[start..]);
        }

        return pieces;
    }

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex ParagraphBoundary();

    // After ., ! or ? (optionally closed by a quote or bracket) followed by whitespace.
    [GeneratedRegex(@"(?<=[.!?][""'”’)\]]?)\s+")]
    private static partial Regex SentenceBoundary();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WordBoundary();
}
