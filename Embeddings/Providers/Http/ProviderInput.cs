namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>Input checks shared by the providers.</summary>
internal static class ProviderInput
{
    /// <summary>The texts as a list, read once.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is null.</exception>
    /// <exception cref="ArgumentException">A text is null.</exception>
    public static IReadOnlyList<string> Materialize(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var list = values as IReadOnlyList<string> ?? values.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
            {
                throw new ArgumentException($"Text {i} of {list.Count} is null.", nameof(values));
            }
        }

        return list;
    }
}
