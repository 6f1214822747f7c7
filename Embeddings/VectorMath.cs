namespace VectorPipeline.Embeddings;

/// <summary>Small vector helpers shared by every embedding provider.</summary>
public static class VectorMath
{
    /// <summary>Euclidean (L2) norm, accumulated in double precision.</summary>
    public static double Norm(ReadOnlySpan<float> vector)
    {
        double sum = 0;
        foreach (var value in vector)
        {
            sum += (double)value * value;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales <paramref name="vector"/> in place to unit L2 norm, so that cosine similarity equals the
    /// dot product and cosine distance (pgvector <c>&lt;=&gt;</c>) is 1 − dot.
    /// </summary>
    /// <exception cref="ArgumentException">The vector is all zeros or holds NaN/infinity: it has no direction.</exception>
    public static void L2Normalize(Span<float> vector)
    {
        var norm = Norm(vector);
        if (norm == 0 || !double.IsFinite(norm))
        {
            throw new ArgumentException($"A vector with norm {norm} cannot be normalised.", nameof(vector));
        }

        var scale = (float)(1.0 / norm);
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] *= scale;
        }
    }

    /// <summary>Cosine similarity of two vectors of equal length, in [−1, 1].</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public static double CosineSimilarity(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors have {a.Length} and {b.Length} dimensions.");
        }

        double dot = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
        }

        return dot / (Norm(a) * Norm(b));
    }
}
