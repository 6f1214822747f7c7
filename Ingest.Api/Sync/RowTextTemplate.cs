using System.Text.RegularExpressions;

namespace VectorPipeline.Ingest.Sync;

/// <summary>
/// How a row's text columns are combined into one text (<see cref="TableSyncOptions.TextTemplate"/>): a text with
/// placeholders <c>{column}</c> naming text columns (case-insensitive), for example
/// <c>"Question: {question}\n\nAnswer: {answer}"</c>. Filled in one pass (a value holding <c>{answer}</c> is put in
/// as it is), a NULL column as nothing, the result trimmed.
/// </summary>
public sealed partial class RowTextTemplate
{
    private readonly string _template;
    private readonly Dictionary<string, int> _columns;

    /// <summary>Parses and checks a template against the source's text columns.</summary>
    /// <param name="template">The template.</param>
    /// <param name="textColumns">The text columns, in the order <see cref="Fill"/> receives their values.</param>
    /// <param name="key">The configuration key, for messages.</param>
    /// <exception cref="InvalidOperationException">No placeholder, or a placeholder that names no text column; the message names the key and the placeholder.</exception>
    public RowTextTemplate(string template, IReadOnlyList<string> textColumns, string key)
    {
        _template = template;
        _columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < textColumns.Count; i++)
        {
            _columns.TryAdd(textColumns[i], i);
        }

        var placeholders = Placeholder().Matches(template).Select(m => m.Groups[1].Value).ToList();
        if (placeholders.Count == 0)
        {
            throw new InvalidOperationException($"{key} '{template}' has no placeholder; name text columns as {{column}}.");
        }

        var unknown = placeholders.Where(p => !_columns.ContainsKey(p)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"{key} names {string.Join(", ", unknown.Select(u => "{" + u + "}"))}, which is not a text column; the text columns are {string.Join(", ", textColumns)}.");
        }
    }

    /// <summary>The template with each placeholder replaced by its column's value (NULL as empty), trimmed.</summary>
    /// <param name="values">The text columns' values, in the constructor's order.</param>
    public string Fill(IReadOnlyList<string?> values) =>
        Placeholder().Replace(_template, match => values[_columns[match.Groups[1].Value]] ?? "").Trim();

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_$]*)\}")]
    private static partial Regex Placeholder();
}
