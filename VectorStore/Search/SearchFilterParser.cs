using System.Globalization;
using System.Text.Json;

namespace VectorPipeline.VectorStore.Search;

/// <summary>
/// Reads the <c>filter</c> object of a search request into a <see cref="SearchFilter"/>, collecting one
/// error per bad part, keyed by its JSON path (for example <c>filter.metadata.and[1].gte</c>). Shape:
/// <code>
/// { "documentIds": ["a", "b"], "source": "wiki" | ["wiki", "docs"], "metadata": CONDITION }
/// CONDITION = { "and": [CONDITION, ...] } | { "or": [CONDITION, ...] } | { "not": CONDITION }
///           | { "field": "author.name", "eq" | "ne": VALUE } | { "field": "tags", "in": [VALUE, ...] }
///           | { "field": "year", "gte" | "gt" | "lte" | "lt": NUMBER | "ISO 8601 date", ... }
///           | { "field": "draft", "exists": true | false }
///           | { "season": 2015, "lang": "en" }   (shorthand: every property equals)
/// </code>
/// </summary>
public static class SearchFilterParser
{
    /// <summary>Most conditions in one filter (all levels together).</summary>
    public const int MaxConditions = 100;

    /// <summary>Deepest nesting of and / or / not.</summary>
    public const int MaxDepth = 8;

    private static readonly string[] Comparisons = ["eq", "ne", "in", "gt", "gte", "lt", "lte", "exists"];

    /// <summary>Parses <paramref name="filter"/>; returns null and fills <paramref name="errors"/> when it is malformed, null when absent.</summary>
    public static SearchFilter? Parse(JsonElement? filter, Dictionary<string, string[]> errors)
    {
        if (filter is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            errors["filter"] = ["Filter must be a JSON object."];
            return null;
        }

        if (!IsReadable(element))
        {
            errors["filter"] = [NotText];
            return null;
        }

        IReadOnlyList<string>? documentIds = null, sources = null;
        MetadataCondition? metadata = null;
        var count = 0;
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "documentIds":
                    documentIds = Strings(property.Value, "filter.documentIds", errors);
                    break;
                case "source":
                    sources = property.Value.ValueKind == JsonValueKind.String ? [property.Value.GetString()!] : Strings(property.Value, "filter.source", errors);
                    break;
                case "metadata":
                    metadata = Condition(property.Value, "filter.metadata", 0, ref count, errors);
                    break;
                default:
                    errors[$"filter.{property.Name}"] = ["Unknown filter property; use documentIds, source or metadata."];
                    break;
            }
        }

        return errors.Keys.Any(k => k.StartsWith("filter", StringComparison.Ordinal)) ? null : new SearchFilter(documentIds, sources, metadata);
    }

    /// <summary>The error for a filter holding a name or string that is not text.</summary>
    public const string NotText = "Filter names and strings must be valid UTF-8 and must not contain unpaired UTF-16 surrogates (\\ud800).";

    /// <summary>
    /// Whether every property name and string in <paramref name="element"/> reads as text. The body's JSON is read
    /// without decoding its strings, so invalid UTF-8 or an escaped unpaired surrogate inside one is found only when it
    /// is read, which then throws; callers check first and answer 400.
    /// </summary>
    public static bool IsReadable(JsonElement element)
    {
        try
        {
            return element.ValueKind switch
            {
                JsonValueKind.Object => element.EnumerateObject().All(p => p.Name is not null && IsReadable(p.Value)),
                JsonValueKind.Array => element.EnumerateArray().All(IsReadable),
                JsonValueKind.String => element.GetString() is not null,
                _ => true,
            };
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static List<string>? Strings(JsonElement value, string path, Dictionary<string, string[]> errors)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is 0 or > 1000 || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            errors[path] = ["Must be an array of 1 to 1000 strings."];
            return null;
        }

        return value.EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    private static MetadataCondition? Condition(JsonElement value, string path, int depth, ref int count, Dictionary<string, string[]> errors)
    {
        if (++count > MaxConditions || depth > MaxDepth)
        {
            errors[path] = [$"Filter too large: at most {MaxConditions} conditions nested at most {MaxDepth} deep."];
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object || !value.EnumerateObject().Any())
        {
            errors[path] = ["Must be a non-empty JSON object (and, or, not, field, or field: value pairs)."];
            return null;
        }

        if (value.TryGetProperty("and", out var and) || value.TryGetProperty("or", out and))
        {
            var name = value.TryGetProperty("and", out _) ? "and" : "or";
            if (and.ValueKind != JsonValueKind.Array || and.GetArrayLength() == 0 || value.EnumerateObject().Count() != 1)
            {
                errors[$"{path}.{name}"] = ["Must be the only property, holding a non-empty array of conditions."];
                return null;
            }

            var parts = new List<MetadataCondition>();
            var i = 0;
            foreach (var item in and.EnumerateArray())
            {
                var part = Condition(item, $"{path}.{name}[{i++}]", depth + 1, ref count, errors);
                if (part is not null)
                {
                    parts.Add(part);
                }
            }

            return name == "and" ? new AllOf(parts) : new AnyOf(parts);
        }

        if (value.TryGetProperty("not", out var not))
        {
            if (value.EnumerateObject().Count() != 1)
            {
                errors[$"{path}.not"] = ["Must be the only property."];
                return null;
            }

            var inner = Condition(not, $"{path}.not", depth + 1, ref count, errors);
            return inner is null ? null : new NoneOf(inner);
        }

        if (value.TryGetProperty("field", out var field))
        {
            return Comparison(value, field, path, errors);
        }

        // Shorthand: { "season": 2015, "lang": "en" } — every property equals its value.
        var equals = value.EnumerateObject()
            .Select(p => (MetadataCondition)new FieldCondition(p.Name.Split('.'), FieldOperator.Eq, p.Value.Clone())).ToList();
        return equals.Count == 1 ? equals[0] : new AllOf(equals);
    }

    private static MetadataCondition? Comparison(JsonElement value, JsonElement field, string path, Dictionary<string, string[]> errors)
    {
        if (field.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(field.GetString()) || field.GetString()!.Length > 200)
        {
            errors[$"{path}.field"] = ["Must be a field name (dots for nesting), 1 to 200 characters."];
            return null;
        }

        var fieldPath = field.GetString()!.Split('.');
        var conditions = new List<MetadataCondition>();
        foreach (var property in value.EnumerateObject().Where(p => p.Name != "field"))
        {
            var at = $"{path}.{property.Name}";
            if (!Comparisons.Contains(property.Name))
            {
                errors[at] = [$"Unknown comparison; use one of {string.Join(", ", Comparisons)}."];
                continue;
            }

            var op = Enum.Parse<FieldOperator>(property.Name, ignoreCase: true);
            var operand = property.Value;
            var valid = op switch
            {
                FieldOperator.In => operand.ValueKind == JsonValueKind.Array && operand.GetArrayLength() is > 0 and <= 1000,
                FieldOperator.Exists => operand.ValueKind is JsonValueKind.True or JsonValueKind.False,
                FieldOperator.Eq or FieldOperator.Ne => true,
                _ => operand.ValueKind == JsonValueKind.Number && operand.TryGetDecimal(out _)
                    || operand.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(operand.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            };
            if (!valid)
            {
                errors[at] = [op switch
                {
                    FieldOperator.In => "Must be an array of 1 to 1000 values.",
                    FieldOperator.Exists => "Must be true or false.",
                    _ => "Must be a number or an ISO 8601 date string.",
                }];
                continue;
            }

            conditions.Add(new FieldCondition(fieldPath, op, operand.Clone()));
        }

        if (conditions.Count == 0)
        {
            errors.TryAdd(path, ["A field condition needs a comparison: eq, ne, in, gt, gte, lt, lte or exists."]);
            return null;
        }

        return conditions.Count == 1 ? conditions[0] : new AllOf(conditions);
    }
}
