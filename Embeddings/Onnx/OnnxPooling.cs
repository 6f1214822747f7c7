namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// How a sentence-transformers model turns its token vectors (<c>last_hidden_state</c>, [batch, tokens, dimensions])
/// into one vector per text; the modes of the library's <c>Pooling</c> module that this provider implements.
/// </summary>
public enum OnnxPooling
{
    /// <summary>The vector of the first token, <c>[CLS]</c> (<c>pooling_mode_cls_token</c>).</summary>
    Cls,

    /// <summary>The mean of the token vectors where the attention mask is 1 (<c>pooling_mode_mean_tokens</c>).</summary>
    Mean,
}

/// <summary>Pooling of one text's token vectors.</summary>
public static class OnnxPoolingMath
{
    /// <summary>Parses <c>cls</c> or <c>mean</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other value.</exception>
    public static OnnxPooling Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "cls" => OnnxPooling.Cls,
        "mean" => OnnxPooling.Mean,
        _ => throw new ArgumentException($"Unknown pooling '{value}'; use cls or mean."),
    };

    /// <summary>
    /// Pools text <paramref name="row"/> of a batch: <paramref name="hidden"/> is the row-major
    /// [batch, <paramref name="sequenceLength"/>, <paramref name="dimensions"/>] output, the text's real tokens are
    /// the first <paramref name="tokens"/> (the rest is padding, attention mask 0).
    /// </summary>
    /// <returns>A new vector of <paramref name="dimensions"/> floats (not normalised).</returns>
    public static float[] Pool(OnnxPooling pooling, ReadOnlySpan<float> hidden, int row, int sequenceLength, int dimensions, int tokens)
    {
        var vector = new float[dimensions];
        var start = row * sequenceLength * dimensions;
        if (pooling == OnnxPooling.Cls)
        {
            hidden.Slice(start, dimensions).CopyTo(vector);
            return vector;
        }

        for (var t = 0; t < tokens; t++)
        {
            var token = hidden.Slice(start + t * dimensions, dimensions);
            for (var d = 0; d < dimensions; d++)
            {
                vector[d] += token[d];
            }
        }

        var scale = 1f / Math.Max(tokens, 1);
        for (var d = 0; d < dimensions; d++)
        {
            vector[d] *= scale;
        }

        return vector;
    }
}
