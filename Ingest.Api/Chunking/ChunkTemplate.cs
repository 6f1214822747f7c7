using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Chunking;

/// <summary>
/// What is embedded for a chunk (<c>Chunking:Template</c>): a text with the placeholders <c>{chunk}</c> (required),
/// <c>{title}</c> and <c>{source}</c>, for example <c>"{title}\n\n{chunk}"</c> so that every chunk keeps its
/// document's context. The default <c>{chunk}</c> embeds the chunk alone. Search still returns the chunk text; the
/// rendered text is what the model sees, and its hash decides when an embedding can be reused.
/// </summary>
public sealed partial class ChunkTemplate
{
    /// <summary>The template that embeds the chunk alone.</summary>
    public const string ChunkOnly = "{chunk}";

    /// <summary>Parses and checks a template.</summary>
    /// <exception cref="ArgumentException">No <c>{chunk}</c>, or an unknown placeholder; the message names it.</exception>
    public ChunkTemplate(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (!template.Contains("{chunk}", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Chunking:Template '{template}' has no {{chunk}} placeholder.", nameof(template));
        }

        var unknown = Placeholder().Matches(template).Select(m => m.Value).Where(p => p is not ("{chunk}" or "{title}" or "{source}")).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Chunking:Template has unknown placeholder(s) {string.Join(", ", unknown)}; use {{chunk}}, {{title}} and {{source}}.", nameof(template));
        }

        Text = template;
    }

    /// <summary>The template as configured.</summary>
    public string Text { get; }

    /// <summary>Whether the template embeds the chunk alone.</summary>
    public bool IsChunkOnly => Text == ChunkOnly;

    /// <summary>
    /// The texts to embed for a document's chunks: the template with <c>{title}</c> and <c>{source}</c> (empty when
    /// absent) and each chunk put in; leading and trailing whitespace trimmed (so a missing title leaves no blank lines).
    /// </summary>
    public IReadOnlyList<string> Render(string? title, string? source, IReadOnlyList<string> chunks)
    {
        if (IsChunkOnly)
        {
            return chunks;
        }

        // One pass over the template: a title or source that holds "{chunk}" or "{source}" is put in as it is, not
        // read as a placeholder (replacing one placeholder after another did, found by ContentHashProperties).
        return chunks.Select(chunk => Placeholder().Replace(Text, match => match.Value switch
        {
            "{chunk}" => chunk,
            "{title}" => title ?? "",
            "{source}" => source ?? "",
            _ => match.Value,
        }).Trim()).ToList();
    }

    [GeneratedRegex(@"\{[a-z_]+\}")]
    private static partial Regex Placeholder();
}
