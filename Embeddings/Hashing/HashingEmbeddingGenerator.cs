using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings.Hashing;

/// <summary>
/// The built-in embedder: needs no server and no download, and gives the same vector for the same
/// text on every machine. It is <b>lexical, not semantic</b>: feature hashing ("the hashing trick",
/// Weinberger et al., 2009) of words, word bigrams and character trigrams into a fixed number of
/// dimensions, with a sign hash to cancel collisions on average, sublinear term frequency
/// (1 + ln tf), common English stop words left out, and the result L2-normalised. Texts that share
/// words or word pieces score high; synonyms and paraphrases do not. Use a real model (Ollama,
/// OpenAI-compatible) for semantic search.
/// </summary>
public sealed class HashingEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Provider name recorded in <c>embedding_models.provider</c>.</summary>
    public const string ProviderName = "hashing";

    /// <summary>Model name recorded in <c>embedding_models.name</c>; bump it when the features change.</summary>
    public const string ModelName = "hashing-ngram-v1";

    private const float WordWeight = 1.0f;
    private const float BigramWeight = 0.7f;
    private const float TrigramWeight = 0.3f;

    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates the embedder.</summary>
    /// <param name="dimensions">Vector length, 16..2000 (384 by default).</param>
    /// <exception cref="ArgumentOutOfRangeException">Dimensions outside 16..2000.</exception>
    public HashingEmbeddingGenerator(int dimensions = 384)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimensions, 2000);
        Dimensions = dimensions;
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, null, ModelName, dimensions);
    }

    /// <summary>Vector length of every embedding this instance produces.</summary>
    public int Dimensions { get; }

    /// <summary>Embeds each text; output order = input order. CPU only, no I/O.</summary>
    /// <exception cref="ArgumentException"><c>options.Dimensions</c> asks for a length other than <see cref="Dimensions"/>.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } asked && asked != Dimensions)
        {
            throw new ArgumentException($"The hashing embedder was configured for {Dimensions} dimensions; {asked} were asked for.", nameof(options));
        }

        var now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result.Add(new Embedding<float>(Embed(value)) { ModelId = ModelName, CreatedAt = now });
        }

        return Task.FromResult(result);
    }

    /// <summary>Embeds one text into a unit-length vector of <see cref="Dimensions"/> floats.</summary>
    public float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenize(text);
        var content = tokens.Where(t => !StopWords.Contains(t)).ToList();
        if (content.Count == 0)
        {
            content = tokens;
        }

        var features = new Dictionary<ulong, (float Weight, int Count)>();
        void Add(ulong hash, float weight)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(features, hash, out _);
            entry = (weight, entry.Count + 1);
        }

        if (content.Count == 0)
        {
            // Nothing alphanumeric: hash the raw text so that the vector still has a direction.
            Add(Fnv1a(text.AsSpan(), Seed('r')), WordWeight);
        }

        for (var i = 0; i < content.Count; i++)
        {
            var token = content[i];
            Add(Fnv1a(token, Seed('w')), WordWeight);
            if (i > 0)
            {
                Add(Fnv1a(token, Fnv1a(" ", Fnv1a(content[i - 1], Seed('b')))), BigramWeight);
            }

            var padded = $"<{token}>";
            for (var start = 0; start + 3 <= padded.Length; start++)
            {
                Add(Fnv1a(padded.AsSpan(start, 3), Seed('c')), TrigramWeight);
            }
        }

        var vector = new float[Dimensions];
        foreach (var (hash, (weight, count)) in features)
        {
            var index = (int)(hash % (ulong)Dimensions);
            var sign = (hash >> 63) == 0 ? 1f : -1f;
            vector[index] += sign * weight * (1f + MathF.Log(count));
        }

        if (VectorMath.Norm(vector) == 0)
        {
            // Every feature cancelled out (possible for tiny inputs): fall back to one stable component.
            vector[(int)(Fnv1a(text.AsSpan(), Seed('z')) % (ulong)Dimensions)] = 1f;
        }

        VectorMath.L2Normalize(vector);
        return vector;
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

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>Lower-cased runs of letters and digits, in order.</summary>
    internal static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var span = text.AsSpan();
        var start = -1;
        for (var i = 0; i <= span.Length; i++)
        {
            var isWordChar = i < span.Length && char.IsLetterOrDigit(span[i]);
            if (isWordChar && start < 0)
            {
                start = i;
            }
            else if (!isWordChar && start >= 0)
            {
                tokens.Add(span[start..i].ToString().ToLowerInvariant());
                start = -1;
            }
        }

        return tokens;
    }

    private static ulong Seed(char kind) => Fnv1a([kind], 14695981039346656037UL);

    // FNV-1a, 64-bit (Fowler, Noll, Vo): stable across runs and machines, unlike string.GetHashCode.
    private static ulong Fnv1a(ReadOnlySpan<char> text, ulong hash)
    {
        foreach (var c in text)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }

        // Final avalanche (from MurmurHash3's fmix64) so that low bits used by the modulo mix well.
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        return hash;
    }

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
        "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
        "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
        "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not",
        "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "s",
        "same", "she", "should", "so", "some", "such", "t", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
        "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
        "with", "would", "you", "your", "yours", "yourself", "yourselves",
    };
}
