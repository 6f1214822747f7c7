using System.Text;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// Deterministic English-like text from a fixed vocabulary of made-up words (seeded), so every run embeds the same
/// texts and every chunk is distinct (no content-hash reuse hides an embedding call). Without topics every word is
/// drawn from the whole vocabulary, which spreads the vectors nearly uniformly (the hardest case for a graph index).
/// With topics, each text belongs to one topic and <see cref="TopicShare"/> of its words come from that topic's own
/// small vocabulary, so chunks of a topic lie close together, as real documents about one subject do.
/// </summary>
public sealed class SyntheticCorpus
{
    /// <summary>Share of a topical text's words drawn from its topic's vocabulary.</summary>
    public const double TopicShare = 0.5;

    /// <summary>Words in each topic's vocabulary.</summary>
    public const int TopicWords = 60;

    private readonly string[] _words;
    private readonly string[][] _topics;
    private readonly Random _random;

    /// <summary>Creates a corpus generator with its own seed.</summary>
    /// <param name="seed">Seed of the texts drawn.</param>
    /// <param name="topics">Number of topics (0: none). Topic vocabularies depend only on this number, not on the seed.</param>
    public SyntheticCorpus(int seed, int topics = 0)
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

        _topics = new string[topics][];
        for (var t = 0; t < topics; t++)
        {
            var pick = new Random(100_000 + t);
            _topics[t] = Enumerable.Range(0, TopicWords).Select(_ => _words[pick.Next(_words.Length)]).ToArray();
        }

        _random = new Random(seed);
    }

    /// <summary>
    /// A word drawn with a Zipf-like skew (frequent words repeat, rare ones make texts distinct); for a topic, from the
    /// topic's vocabulary (same skew) with probability <see cref="TopicShare"/>.
    /// </summary>
    public string Word(int? topic = null)
    {
        if (topic is { } t && _random.NextDouble() < TopicShare)
        {
            var words = _topics[t];
            return words[(int)(Math.Pow(_random.NextDouble(), 1.5) * words.Length)];
        }

        var u = _random.NextDouble();
        return _words[(int)(Math.Pow(u, 2.2) * _words.Length)];
    }

    /// <summary>About <paramref name="chars"/> characters of sentences, of one topic picked at random (if the corpus has topics).</summary>
    public string Text(int chars) => Text(chars, NextTopic());

    private int? NextTopic() => _topics.Length == 0 ? null : _random.Next(_topics.Length);

    private string Text(int chars, int? topic)
    {
        var text = new StringBuilder(chars + 64);
        while (text.Length < chars)
        {
            var sentence = 6 + _random.Next(12);
            for (var i = 0; i < sentence; i++)
            {
                var word = Word(topic);
                text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word).Append(i == sentence - 1 ? ". " : " ");
            }
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>A document of <paramref name="paragraphs"/> paragraphs of about <paramref name="paragraphChars"/> characters.</summary>
    public string Document(int paragraphs, int paragraphChars)
    {
        var topic = NextTopic();
        return string.Join("\n\n", Enumerable.Range(0, paragraphs).Select(_ => Text(paragraphChars, topic)));
    }

    /// <summary>A search query of 2..6 words (of one topic picked at random, if the corpus has topics).</summary>
    public string Query()
    {
        var topic = NextTopic();
        return string.Join(' ', Enumerable.Range(0, 2 + _random.Next(5)).Select(_ => Word(topic)));
    }
}
