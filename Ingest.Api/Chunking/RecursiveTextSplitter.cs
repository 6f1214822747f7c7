using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Chunking;

/// <summary>
/// Splits text into chunks of at most <see cref="ChunkingOptions.MaxChunkChars"/> characters, trying
/// coarse boundaries first and finer ones only for the parts that are still too long (the recursive
/// character splitting popularised by LangChain): Markdown sections (a heading line starts one, outside
/// fenced code), then paragraphs (blank lines), then sentences, then words. Neighbouring pieces are packed
/// into one chunk while they fit, and each new chunk starts with up to
/// <see cref="ChunkingOptions.OverlapChars"/> characters of whole words from the end of the previous one.
/// Guarantees: no chunk is cut inside a word; a heading is never the last line of a chunk (it stays with the
/// text of its section) unless the first word after it does not fit in the same chunk; chunks are trimmed and never empty.
/// </summary>
public sealed partial class RecursiveTextSplitter
{
    private const int SectionLevel = 0;
    private const int ParagraphLevel = 1;
    private const int SentenceLevel = 2;
    private const int WordLevel = 3;

    private readonly int _maxChars;
    private readonly int _overlapChars;

    /// <summary>Creates a splitter.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Options out of range (see <see cref="ChunkingOptions.Validate"/>).</exception>
    public RecursiveTextSplitter(ChunkingOptions options)
    {
        options.Validate();
        _maxChars = options.MaxChunkChars;
        _overlapChars = options.OverlapChars;
    }

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
        if (text.Length <= _maxChars || level > WordLevel)
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

    // Greedy packing: consecutive pieces share a chunk while they fit. After a chunk is emitted, the next
    // one starts with the previous chunk's trailing whole words, up to the overlap budget.
    private void Pack(List<string> pieces, int level, List<string> chunks)
    {
        var window = new System.Text.StringBuilder();
        var hasNewText = false;

        void Emit()
        {
            if (!hasNewText)
            {
                return;
            }

            var text = window.ToString();
            AddChunk(text, chunks);
            window.Clear().Append(OverlapTail(text));
            hasNewText = false;
        }

        foreach (var piece in pieces)
        {
            if (piece.Length > _maxChars)
            {
                Emit();
                window.Clear();
                SplitInto(piece, level + 1, chunks);
                continue;
            }

            if (window.Length + piece.Length > _maxChars)
            {
                Emit();
                if (window.Length + piece.Length > _maxChars)
                {
                    window.Clear();
                }
            }

            window.Append(piece);
            hasNewText = true;
        }

        Emit();
    }

    // The longest end of the text that starts at a word and whose trimmed length fits the overlap budget.
    private string OverlapTail(string text)
    {
        if (_overlapChars == 0)
        {
            return "";
        }

        var end = text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        var best = end;
        for (var start = end - 1; start > 0 && end - start <= _overlapChars; start--)
        {
            if (char.IsWhiteSpace(text[start - 1]) && !char.IsWhiteSpace(text[start]))
            {
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
