using System.Text;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Deterministic English-like text from a fixed vocabulary of made-up words (seeded), so every run embeds the same
/// texts and every chunk is distinct (no content-hash reuse hides an embedding call).
/// </summary>
public sealed class SyntheticCorpus
{
    private readonly string[] _words;
    private readonly Random _random;

    /// <summary>Creates a corpus generator with its own seed.</summary>
    public SyntheticCorpus(int seed)
    {
        var vocabulary = new Random(12345);
        const string consonants = "bcdfghklmnprstvwz";
        const string vowels = "aeiou";
        _words = new string[6000];
        for (var i = 0; i < _words.Length; i++)
        {
            var syllables = 1 + vocabulary.Next(3);
            var word = new StringBuilder();
            for (var s = 0; s < syllables; s++)
            {
                word.Append(consonants[vocabulary.Next(consonants.Length)]).Append(vowels[vocabulary.Next(vowels.Length)]);
                if (vocabulary.Next(3) == 0)
                {
                    word.Append(consonants[vocabulary.Next(consonants.Length)]);
                }
            }

            _words[i] = word.ToString();
        }

        _random = new Random(seed);
    }

    /// <summary>A word drawn with a Zipf-like skew (frequent words repeat, rare ones make texts distinct).</summary>
    public string Word()
    {
        var u = _random.NextDouble();
        return _words[(int)(Math.Pow(u, 2.2) * _words.Length)];
    }

    /// <summary>About <paramref name="chars"/> characters of sentences.</summary>
    public string Text(int chars)
    {
        var text = new StringBuilder(chars + 64);
        while (text.Length < chars)
        {
            var sentence = 6 + _random.Next(12);
            for (var i = 0; i < sentence; i++)
            {
                var word = Word();
                text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word).Append(i == sentence - 1 ? ". " : " ");
            }
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>A document of <paramref name="paragraphs"/> paragraphs of about <paramref name="paragraphChars"/> characters.</summary>
    public string Document(int paragraphs, int paragraphChars) =>
        string.Join("\n\n", Enumerable.Range(0, paragraphs).Select(_ => Text(paragraphChars)));

    /// <summary>A search query of 2..6 words.</summary>
    public string Query() => string.Join(' ', Enumerable.Range(0, 2 + _random.Next(5)).Select(_ => Word()));
}
