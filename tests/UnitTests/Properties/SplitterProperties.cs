using System.Text;
using CsCheck;
using VectorPipeline.Ingest.Chunking;

namespace VectorPipeline.UnitTests.Properties;

/// <summary>
/// The splitter's promises checked on generated Markdown-like documents (headings, paragraphs, sentences, words too
/// long for a chunk) and settings: chunks cover the text in order, none exceeds the limit, no word is cut, overlap is
/// whole words within the configured budget, and no chunk ends with a heading.
/// </summary>
public class SplitterProperties
{
    private const long Iterations = 300;

    // A word gets a unique number, so that every chunk has one place in the text.
    private static readonly Gen<string> Stem = Gen.OneOf("pipeline", "vector", "chunk", "otter", "a", "be", "sea", "lighthouse", "Zürich", "naïve", "x");

    private static readonly Gen<string> LongStem = Gen.Char['a', 'z'].Array[60, 450].Select(chars => new string(chars));

    private static readonly Gen<string> AnyStem = Gen.Frequency((30, Stem), (1, LongStem));

    private static readonly Gen<string> Sentence =
        from words in AnyStem.List[1, 14]
        from end in Gen.OneOf(".", "?", "!", "", ".\"")
        select string.Join(' ', words) + end;

    private static readonly Gen<string> Paragraph =
        from sentences in Sentence.List[1, 6]
        from separator in Gen.OneOf(" ", "  ", "\n")
        select string.Join(separator, sentences);

    private static readonly Gen<string> Heading =
        from level in Gen.Int[1, 3]
        from words in Stem.List[1, 4]
        from end in Gen.OneOf("", "?", ":")
        select new string('#', level) + " " + string.Join(' ', words) + end;

    private static readonly Gen<string> Section =
        from heading in Gen.Frequency((2, Heading.Select(h => (string?)h)), (1, Gen.Const((string?)null)))
        from paragraphs in Paragraph.List[0, 4]
        from blank in Gen.OneOf("\n\n", "\n\n\n", "\n \n")
        select string.Join(blank, (heading is null ? [] : new[] { heading }).Concat(paragraphs));

    /// <summary>A document and splitter settings: max chunk chars 50..400, overlap 0..max/2.</summary>
    public static readonly Gen<(string Text, int Max, int Overlap)> Documents =
        from sections in Section.List[1, 5]
        from max in Gen.Int[50, 400]
        from overlapShare in Gen.Int[0, 50]
        select (Number(string.Join("\n\n", sections)), max, max * overlapShare / 100);

    [Fact]
    public void Chunks_cover_the_text_in_order_within_the_limit_without_cutting_words_and_overlap_within_the_budget() =>
        Documents.Sample(d => Check(d.Text, d.Max, d.Overlap), iter: Iterations, threads: 1, print: Print);

    [Fact]
    public void Without_overlap_no_chunk_repeats_text() =>
        Documents.Select(d => (d.Text, d.Max, Overlap: 0)).Sample(d => Check(d.Text, d.Max, 0), iter: Iterations, threads: 1, print: Print);

    private static string Print((string Text, int Max, int Overlap) d) =>
        $"max {d.Max}, overlap {d.Overlap}, text:\n{d.Text}";

    /// <summary>Checks every property of the chunks of <paramref name="text"/>; throws with the reason when one fails.</summary>
    internal static void Check(string text, int max, int overlap)
    {
        var chunks = new RecursiveTextSplitter(new ChunkingOptions { MaxChunkChars = max, OverlapChars = overlap }).Split(text);
        int previousStart = -1, previousEnd = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            Assert.True(chunk.Length > 0 && chunk == chunk.Trim(), $"chunk {i} is empty or not trimmed: '{chunk}'");
            Assert.True(chunk.Length <= max || !chunk.Any(char.IsWhiteSpace), $"chunk {i} has {chunk.Length} > {max} characters and more than one word");
            var start = Locate(text, chunk, previousStart + 1, previousEnd);
            Assert.True(start >= 0, $"chunk {i} is not the text's next run of whole words after chunk {i - 1} (a cut word, a gap or a reordering): '{chunk}'");
            var end = start + chunk.Length;
            Assert.True(end > previousEnd, $"chunk {i} adds no new text");
            if (start < previousEnd)
            {
                Assert.True(previousEnd - start <= overlap, $"chunk {i} repeats {previousEnd - start} characters of chunk {i - 1}; the overlap is {overlap}");
            }

            // A heading ends a chunk only at the end of the text, before another heading, or when the first word of
            // its section would not fit with it (counting the whitespace between them, which the chunk would keep).
            var lastLine = chunk[(chunk.LastIndexOf('\n') + 1)..];
            var rest = text[end..];
            var wordStart = rest.Length - rest.TrimStart().Length;
            var after = rest[wordStart..];
            var nextLine = after.Split('\n')[0];
            var nextWord = new string(after.TakeWhile(c => !char.IsWhiteSpace(c)).ToArray());
            Assert.False(IsHeading(lastLine) && nextWord.Length > 0 && !IsHeading(nextLine) && chunk.Length + wordStart + nextWord.Length <= max,
                $"chunk {i} ends with the heading '{lastLine}', away from its section (the heading and '{nextWord}' would have fitted in {max})");
            (previousStart, previousEnd) = (start, end);
        }

        Assert.True(string.IsNullOrWhiteSpace(text[previousEnd..]), $"text after the last chunk is lost: '{text[previousEnd..]}'");
    }

    // The first place at or after `from` where `chunk` stands at word boundaries with nothing but whitespace between
    // the previous chunk's end and it; -1 when there is none.
    private static int Locate(string text, string chunk, int from, int previousEnd)
    {
        for (var at = text.IndexOf(chunk, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(chunk, at + 1, StringComparison.Ordinal))
        {
            var end = at + chunk.Length;
            var boundaries = (at == 0 || char.IsWhiteSpace(text[at - 1])) && (end == text.Length || char.IsWhiteSpace(text[end]));
            var noGap = at <= previousEnd || string.IsNullOrWhiteSpace(text[previousEnd..at]);
            if (boundaries && noGap)
            {
                return at;
            }

            if (at > previousEnd)
            {
                break;
            }
        }

        return -1;
    }

    private static bool IsHeading(string line)
    {
        var hashes = line.TakeWhile(c => c == '#').Count();
        return hashes is >= 1 and <= 6 && (hashes == line.Length || line[hashes] is ' ' or '\t');
    }

    // Appends a number to every word (not to heading marks), so that each word is unique.
    private static string Number(string text)
    {
        var numbered = new StringBuilder(text.Length * 2);
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            numbered.Append(text[i]);
            var endOfWord = char.IsLetter(text[i]) && (i + 1 == text.Length || !char.IsLetter(text[i + 1]));
            if (endOfWord)
            {
                numbered.Append(n++);
            }
        }

        return numbered.ToString();
    }
}
