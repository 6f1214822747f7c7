using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// The WordPiece tokenizer of a BERT-family model (<see cref="BertTokenizer"/> from Microsoft.ML.Tokenizers: basic
/// tokenisation, lower-casing and accent stripping for uncased vocabularies, greedy longest-match word pieces) with the
/// model's limit: every encoded text is <c>[CLS] pieces [SEP]</c> and at most <see cref="MaxSequenceLength"/> ids, cut
/// at the end as Hugging Face's <c>truncation=True</c> cuts. Thread-safe (the tokenizer holds no per-call state).
/// </summary>
public sealed class OnnxTokenizer
{
    private readonly BertTokenizer _tokenizer;

    private OnnxTokenizer(BertTokenizer tokenizer, int maxSequenceLength)
    {
        _tokenizer = tokenizer;
        MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>Longest encoded text in ids, special tokens included.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>Id of <c>[PAD]</c>, the padding of shorter texts in a batch.</summary>
    public int PaddingId => _tokenizer.PaddingTokenId;

    /// <summary>Reads a <c>vocab.txt</c> (one token per line; the line number, from 0, is its id).</summary>
    /// <param name="vocab">The file's bytes, UTF-8.</param>
    /// <param name="maxSequenceLength">Longest encoded text, 8..8192.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (uncased vocabularies).</param>
    /// <exception cref="ArgumentException">The vocabulary lacks <c>[CLS]</c>, <c>[SEP]</c>, <c>[PAD]</c> or <c>[UNK]</c>.</exception>
    public static OnnxTokenizer FromVocab(Stream vocab, int maxSequenceLength, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSequenceLength, 8192);
        var tokenizer = BertTokenizer.Create(vocab, new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = lowerCase,
        });
        return new OnnxTokenizer(tokenizer, maxSequenceLength);
    }

    /// <summary>
    /// Reads a Hugging Face <c>tokenizer.json</c> whose <c>model.type</c> is <c>WordPiece</c>: the vocabulary from
    /// <c>model.vocab</c> (token → id), lower-casing from the <c>BertNormalizer</c>'s <c>lowercase</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Not JSON, not a WordPiece model, or ids that are not 0..n−1.</exception>
    public static OnnxTokenizer FromTokenizerJson(Stream json, int maxSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"tokenizer.json is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("model", out var model) || !model.TryGetProperty("type", out var type) || type.GetString() != "WordPiece"
                || !model.TryGetProperty("vocab", out var vocabulary) || vocabulary.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("tokenizer.json must describe a WordPiece model (model.type \"WordPiece\" with a model.vocab object); other tokenizers are not supported.");
            }

            var tokens = new SortedDictionary<int, string>();
            foreach (var entry in vocabulary.EnumerateObject())
            {
                tokens[entry.Value.GetInt32()] = entry.Name;
            }

            if (tokens.Count == 0 || tokens.Keys.First() != 0 || tokens.Keys.Last() != tokens.Count - 1)
            {
                throw new ArgumentException("tokenizer.json: model.vocab ids must be 0..n-1 without gaps.");
            }

            var lowerCase = !(root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
                && normalizer.TryGetProperty("lowercase", out var lower) && lower.ValueKind == JsonValueKind.False);
            var lines = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', tokens.Values)));
            return FromVocab(lines, maxSequenceLength, lowerCase);
        }
    }

    /// <summary>Word pieces of <paramref name="text"/> without the limit, <c>[CLS]</c> and <c>[SEP]</c> included: what the text costs the model before it is cut.</summary>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text, addSpecialTokens: true).Count;
    }

    /// <summary>
    /// Encodes <paramref name="text"/> as <c>[CLS] pieces [SEP]</c>, cut to <see cref="MaxSequenceLength"/> ids.
    /// </summary>
    /// <param name="text">The text, prefix included.</param>
    /// <param name="fullLength">Ids the text would need without the limit (more than the returned length when it was cut).</param>
    public int[] Encode(string text, out int fullLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false);
        fullLength = pieces.Count + 2;
        var kept = Math.Min(pieces.Count, MaxSequenceLength - 2);
        var ids = new int[kept + 2];
        ids[0] = _tokenizer.ClassificationTokenId;
        for (var i = 0; i < kept; i++)
        {
            ids[i + 1] = pieces[i];
        }

        ids[kept + 1] = _tokenizer.SeparatorTokenId;
        return ids;
    }
}
