using System.Text;
using System.Text.Json;
using VectorPipeline.Ingest.Apis;

namespace VectorPipeline.Ingest.Documents;

/// <summary>The field checks every document passes before anything is stored.</summary>
public static class DocumentValidator
{
    /// <summary>Last segments an id may not have: <c>GET /documents/{id}/events</c> and <c>POST /documents/{id}/retry</c> would read them as those endpoints.</summary>
    public static readonly IReadOnlyList<string> ReservedLastSegments = ["events", "retry"];

    /// <summary>
    /// Why <c>/documents/{id}</c> could not name the document with this id unambiguously, or null when it can. The
    /// rule: slashes separate segments, and no segment may be empty, <c>.</c> or <c>..</c> (clients and proxies
    /// normalise those paths); the last segment of an id with a slash may not be <c>events</c> or <c>retry</c>
    /// (<c>bar/events</c> would read as the events of <c>bar</c>); and <c>%2F</c> is refused, because the routes
    /// read it as an escaped slash.
    /// </summary>
    public static string? RouteConflict(string id)
    {
        var segments = id.Split('/');
        if (segments.Any(segment => segment is "" or "." or ".."))
        {
            return "Id must not start or end with '/', contain '//', or have '.' or '..' as a segment: /documents/{id} could not name it.";
        }

        if (segments.Length > 1 && ReservedLastSegments.Contains(segments[^1], StringComparer.Ordinal))
        {
            return $"Id must not end in '/{segments[^1]}': /documents/{{id}}/{segments[^1]} is the document's {segments[^1]} endpoint, so /documents/{id} would name another document's {segments[^1]}.";
        }

        return id.Contains("%2F", StringComparison.OrdinalIgnoreCase)
            ? "Id must not contain '%2F': the document routes read it as an escaped '/'."
            : null;
    }

    /// <summary>
    /// Checks a document's fields as every way in (<c>POST /documents</c> as JSON or upload, NDJSON batch lines,
    /// sync sources) needs them: text present and storable; id 1..256 characters without control characters that
    /// <c>/documents/{id}</c> can name (<see cref="RouteConflict"/>);
    /// title at most 1000 and source at most 2000 characters; metadata a JSON object within
    /// <see cref="DocumentLimitsOptions.MaxMetadataBytes"/> and <see cref="DocumentLimitsOptions.MaxMetadataDepth"/>.
    /// </summary>
    /// <returns>Errors by field name (camelCase, as in the request); empty when the document is valid.</returns>
    public static Dictionary<string, string[]> Validate(PostDocumentRequest request, DocumentLimitsOptions limits)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors["text"] = ["Text is required and must not be blank."];
        }
        else if (!IsStorableText(request.Text))
        {
            errors["text"] = ["Text must not contain NUL characters or unpaired UTF-16 surrogates."];
        }

        if (request.Id is not null)
        {
            if (request.Id.Length is 0 or > DocumentsApi.MaxIdLength)
            {
                errors["id"] = [$"Id must be 1 to {DocumentsApi.MaxIdLength} characters long."];
            }
            else if (request.Id.Any(char.IsControl))
            {
                errors["id"] = ["Id must not contain control characters."];
            }
            else if (string.IsNullOrWhiteSpace(request.Id) || !IsStorableText(request.Id))
            {
                errors["id"] = ["Id must not be blank or contain unpaired UTF-16 surrogates."];
            }
            else if (RouteConflict(request.Id) is { } conflict)
            {
                errors["id"] = [conflict];
            }
        }

        if (request.Title is { Length: > 1000 })
        {
            errors["title"] = ["Title must be at most 1000 characters long."];
        }
        else if (request.Title is not null && !IsStorableText(request.Title))
        {
            errors["title"] = ["Title must not contain NUL characters or unpaired UTF-16 surrogates."];
        }

        if (request.Source is { Length: > 2000 })
        {
            errors["source"] = ["Source must be at most 2000 characters long."];
        }
        else if (request.Source is not null && !IsStorableText(request.Source))
        {
            errors["source"] = ["Source must not contain NUL characters or unpaired UTF-16 surrogates."];
        }

        if (request.Metadata is { } metadata && metadata.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            errors["metadata"] = [$"Metadata must be a JSON object; got {metadata.ValueKind.ToString().ToLowerInvariant()}."];
        }
        else if (request.Metadata is { ValueKind: JsonValueKind.Object } value)
        {
            var bytes = Encoding.UTF8.GetByteCount(value.GetRawText());
            if (bytes > limits.MaxMetadataBytes)
            {
                errors["metadata"] = [$"Metadata is {bytes} bytes of JSON; at most {limits.MaxMetadataBytes} are accepted (Documents:MaxMetadataBytes)."];
            }
            else if (Depth(value) is var depth && depth > limits.MaxMetadataDepth)
            {
                errors["metadata"] = [$"Metadata nests objects and arrays {depth} deep; at most {limits.MaxMetadataDepth} levels are accepted (Documents:MaxMetadataDepth)."];
            }
            else if (!IsStorableJson(value))
            {
                errors["metadata"] = ["Metadata strings and names must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates."];
            }
        }

        return errors;
    }

    // PostgreSQL text and jsonb hold neither NUL nor unpaired surrogates (they are not UTF-8): refuse them here as a 400
    // rather than let the database fail the insert.
    private static bool IsStorableText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    private static bool IsStorableJson(JsonElement element)
    {
        try
        {
            return element.ValueKind switch
            {
                JsonValueKind.Object => element.EnumerateObject().All(p => IsStorableText(p.Name) && IsStorableJson(p.Value)),
                JsonValueKind.Array => element.EnumerateArray().All(IsStorableJson),
                JsonValueKind.String => IsStorableText(element.GetString()!),
                _ => true,
            };
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Nesting of objects and arrays: a scalar is 0, <c>{}</c> is 1, <c>{"a":{}}</c> is 2.</summary>
    private static int Depth(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => 1 + element.EnumerateObject().Select(p => Depth(p.Value)).DefaultIfEmpty(0).Max(),
        JsonValueKind.Array => 1 + element.EnumerateArray().Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };
}
