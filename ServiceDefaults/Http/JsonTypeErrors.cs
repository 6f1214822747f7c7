using System.Collections;
using System.Reflection;
using System.Text.Json;

namespace VectorPipeline.ServiceDefaults.Http;

/// <summary>A JSON value of the wrong type, said in the request's own terms.</summary>
/// <param name="Field">The field as the client wrote it (<c>text</c>, <c>filter.documentIds[0]</c>); empty for the body itself.</param>
/// <param name="Message">What the field must be, e.g. <c>Field 'text' must be a string.</c></param>
public sealed record JsonTypeError(string Field, string Message);

/// <summary>
/// Turns System.Text.Json's conversion errors ("The JSON value could not be converted to
/// VectorPipeline.Ingest.Apis.PostDocumentRequest. Path: $.text ...") into a message that names the field and the JSON
/// type it wants, without .NET type names. The field is read from <see cref="JsonException.Path"/>; the wanted type
/// from the request type's properties along that path (names matched without case, as the web defaults do).
/// </summary>
public static class JsonTypeErrors
{
    /// <summary>
    /// Describes <paramref name="exception"/> when it is a conversion error (the JSON is well formed but a value has
    /// the wrong type); null for syntax errors, whose own message says what is wrong and where.
    /// </summary>
    /// <param name="exception">The serializer's error.</param>
    /// <param name="requestType">The type the body was read into; null when unknown (the message then names the field only).</param>
    public static JsonTypeError? Describe(JsonException exception, Type? requestType)
    {
        if (exception.Path is not { } path || !exception.Message.StartsWith("The JSON value could not be converted to", StringComparison.Ordinal))
        {
            return null;
        }

        var segments = Parse(path);
        var field = Field(segments);
        var type = requestType;
        foreach (var segment in segments)
        {
            type = type is null ? null : segment.Index is null ? PropertyType(type, segment.Name!) : ElementType(type);
        }

        var wanted = type is null ? null : Wanted(type);
        var message = (field.Length == 0, wanted) switch
        {
            (true, null) => "The body has the wrong JSON type.",
            (true, _) => $"The body must be {wanted}.",
            (false, null) => $"Field '{field}' has the wrong JSON type.",
            _ => $"Field '{field}' must be {wanted}.",
        };
        return new JsonTypeError(field, message);
    }

    /// <summary>The JSON type a value of <paramref name="type"/> is written as: <c>a string</c>, <c>an integer</c>, <c>an array</c>...; null for any value.</summary>
    public static string? Wanted(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(Guid) || type == typeof(Uri) || type.IsEnum)
        {
            return "a string";
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return "a date-time string (RFC 3339)";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(uint) || type == typeof(ulong))
        {
            return "an integer";
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number";
        }

        if (type == typeof(JsonElement) || type == typeof(object))
        {
            return null;
        }

        if (typeof(IDictionary).IsAssignableFrom(type) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)))
        {
            return "an object";
        }

        if (ElementType(type) is { } element)
        {
            return Wanted(element) is { } item ? $"an array of {Plural(item)}" : "an array";
        }

        return "an object";
    }

    private static string Plural(string wanted) => wanted switch
    {
        "a string" => "strings",
        "an integer" => "integers",
        "a number" => "numbers",
        "true or false" => "booleans",
        "an object" => "objects",
        _ => "values",
    };

    private static Type? PropertyType(Type type, string name)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>))))
        {
            return type.GetGenericArguments()[^1];
        }

        return type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)?.PropertyType;
    }

    private static Type? ElementType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        return type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    private static string Field(IReadOnlyList<(string? Name, int? Index)> segments)
    {
        var field = new System.Text.StringBuilder();
        foreach (var (name, index) in segments)
        {
            if (index is { } i)
            {
                field.Append('[').Append(i).Append(']');
            }
            else
            {
                field.Append(field.Length == 0 ? "" : ".").Append(name);
            }
        }

        return field.ToString();
    }

    // JSONPath as System.Text.Json writes it: $, .name, ['name'], [index].
    private static List<(string? Name, int? Index)> Parse(string path)
    {
        var segments = new List<(string?, int?)>();
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add((path[(i + 1)..end], null));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                segments.Add((path[(i + 2)..end], null));
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add((null, int.TryParse(path.AsSpan(i + 1, end - i - 1), out var index) ? index : 0));
                i = end + 1;
            }
            else
            {
                break;
            }
        }

        return segments;
    }
}
