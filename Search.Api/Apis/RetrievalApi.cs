using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using VectorPipeline.Search.Services;
using VectorPipeline.ServiceDefaults.Http;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Search.Apis;

/// <summary>
/// <c>POST /retrieval</c>: Dify's External Knowledge API (protocol: Dify documentation, "External Knowledge
/// API"), so a Dify knowledge base can be backed by this service. Authorization is
/// <c>Authorization: Bearer {Search:RetrievalApiKey}</c>, not the service's API keys; it searches the documents of
/// tenant <c>Search:RetrievalTenant</c> (the default tenant when not set). The search itself is <see cref="SearchService.SearchAsync"/>
/// in <c>Search:RetrievalMode</c> (hybrid by default).
/// </summary>
public static class RetrievalApi
{
    /// <summary>Dify error 1001: the <c>Authorization</c> header is missing or not <c>Bearer {key}</c> (HTTP 403).</summary>
    public const int InvalidAuthorizationHeader = 1001;

    /// <summary>Dify error 1002: the key is wrong, or no key is configured (HTTP 403).</summary>
    public const int AuthorizationFailed = 1002;

    /// <summary>Dify error 2001: <c>knowledge_id</c> is not one of <c>Search:RetrievalKnowledgeIds</c> (HTTP 404).</summary>
    public const int KnowledgeNotFound = 2001;

    /// <summary>This service's error 4001: the body is malformed, a field is invalid, or an operator is unsupported (HTTP 400).</summary>
    public const int InvalidRequest = 4001;

    /// <summary>This service's error 5001: the search could not run, e.g. the embedding model is down (HTTP 502 or 503).</summary>
    public const int SearchUnavailable = 5001;

    /// <summary>The <c>knowledge_id</c> that searches every document.</summary>
    public const string AllDocuments = "*";

    /// <summary>Most entries in <c>metadata_condition.conditions</c>.</summary>
    public const int MaxConditions = 20;

    /// <summary>Most names in one condition's <c>name</c> array.</summary>
    public const int MaxNames = 10;

    /// <summary>
    /// Maps <c>POST /retrieval</c>. Logs one warning when <c>Search:RetrievalApiKey</c> is not set (every request
    /// then gets error 1002).
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>Search:RetrievalMode</c> is not vector, keyword or hybrid.</exception>
    public static IEndpointRouteBuilder MapRetrievalApi(this IEndpointRouteBuilder app)
    {
        var settings = app.ServiceProvider.GetRequiredService<IOptions<SearchOptions>>().Value;
        if (!SearchService.Modes.Contains(settings.RetrievalMode.ToLowerInvariant()))
        {
            throw new InvalidOperationException($"Search:RetrievalMode '{settings.RetrievalMode}' is unknown; use one of: {string.Join(", ", SearchService.Modes)}.");
        }

        if (string.IsNullOrEmpty(settings.RetrievalApiKey))
        {
            app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RetrievalApi).FullName!)
                .LogWarning("Search:RetrievalApiKey is not set: POST /retrieval (Dify External Knowledge API) answers every request with error 1002 until it is.");
        }

        // Dify sends its own bearer key (Search:RetrievalApiKey), checked here: the API-key scheme does not apply.
        app.MapPost("/retrieval", Retrieve).AllowAnonymous().WithName("Retrieval").WithTags("Retrieval")
            .WithSummary("Dify External Knowledge API: top_k chunks of one knowledge id for a query, as {records: [{content, score, title, metadata}]}.")
            .Accepts<RetrievalRequest>("application/json")
            .Produces<RetrievalResponse>()
            .Produces<RetrievalError>(StatusCodes.Status400BadRequest)
            .Produces<RetrievalError>(StatusCodes.Status403Forbidden)
            .Produces<RetrievalError>(StatusCodes.Status404NotFound)
            .Produces<RetrievalError>(StatusCodes.Status502BadGateway)
            .Produces<RetrievalError>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>
    /// Handles <c>POST /retrieval</c>: checks the bearer key (1001, 1002), reads the body (4001), maps
    /// <c>knowledge_id</c> (2001) and <c>metadata_condition</c> (4001) to a search filter, searches, and answers
    /// <see cref="RetrievalResponse"/> or <see cref="RetrievalError"/>.
    /// </summary>
    public static async Task<IResult> Retrieve(HttpRequest request, SearchService search, IOptions<SearchOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (Authorize(request.Headers.Authorization, settings.RetrievalApiKey) is { } denied)
        {
            return denied;
        }

        var (searchRequest, scale, error) = await ReadAsync(request.Body, settings, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        return await search.SearchAsync(searchRequest!, settings.RetrievalTenant ?? "", cancellationToken) switch
        {
            SearchOutcome.Found found => TypedResults.Json(new RetrievalResponse(found.Response.Results.Select(r => ToRecord(r, scale)).ToList())),
            SearchOutcome.Invalid invalid => Error(StatusCodes.Status400BadRequest, InvalidRequest,
                string.Join(" ", invalid.Errors.Select(e => $"{DifyName(e.Key)}: {string.Join(" ", e.Value)}"))),
            SearchOutcome.Failed failed => Error(failed.Status, SearchUnavailable, $"{failed.Title}: {failed.Detail}"),
            _ => throw new InvalidOperationException("Unknown search outcome."),
        };
    }

    /// <summary>
    /// Reads a <c>POST /retrieval</c> body into the search it asks for: the request (query, top k, threshold scaled to
    /// the mode's scores, and a filter of source and metadata) with the factor that scales scores back, or the Dify
    /// error to answer instead (4001 malformed or invalid, 2001 unknown knowledge id). The search request is not yet
    /// validated: <see cref="SearchService.SearchAsync"/> does that.
    /// </summary>
    internal static async Task<(SearchRequest? Request, double Scale, IResult? Error)> ReadAsync(Stream stream, SearchOptions settings, CancellationToken cancellationToken)
    {
        RetrievalRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RetrievalRequest>(stream, JsonSerializerOptions.Web, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, 1, Error(StatusCodes.Status400BadRequest, InvalidRequest,
                $"The body is not a valid retrieval request: {(JsonTypeErrors.Describe(ex, typeof(RetrievalRequest)) is { } wrongType ? wrongType.Message : ex.Message)}"));
        }

        if (body is null)
        {
            return (null, 1, Error(StatusCodes.Status400BadRequest, InvalidRequest, "The body must be a JSON object with knowledge_id, query and retrieval_setting."));
        }

        var missing = new List<string>();
        if (string.IsNullOrEmpty(body.KnowledgeId))
        {
            missing.Add("knowledge_id is required.");
        }

        if (body.RetrievalSetting?.TopK is null)
        {
            missing.Add("retrieval_setting.top_k is required.");
        }

        if (body.RetrievalSetting?.ScoreThreshold is { } given && !double.IsFinite(given))
        {
            missing.Add("retrieval_setting.score_threshold must be a finite number.");
        }

        if (missing.Count > 0)
        {
            return (null, 1, Error(StatusCodes.Status400BadRequest, InvalidRequest, string.Join(" ", missing)));
        }

        var knowledgeIds = settings.RetrievalKnowledgeIds is { Length: > 0 } configured ? configured : [AllDocuments];
        if (!knowledgeIds.Contains(body.KnowledgeId, StringComparer.Ordinal))
        {
            return (null, 1, Error(StatusCodes.Status404NotFound, KnowledgeNotFound, $"The knowledge '{body.KnowledgeId}' does not exist."));
        }

        var conditionErrors = new List<string>();
        var metadata = ToFilterCondition(body.MetadataCondition, conditionErrors);
        if (conditionErrors.Count > 0)
        {
            return (null, 1, Error(StatusCodes.Status400BadRequest, InvalidRequest, string.Join(" ", conditionErrors)));
        }

        var filter = new JsonObject();
        if (body.KnowledgeId != AllDocuments)
        {
            filter["source"] = new JsonArray(body.KnowledgeId);
        }

        if (metadata is not null)
        {
            filter["metadata"] = metadata;
        }

        // Dify sends 0.0 when its threshold is off; that must not drop negative cosine similarities.
        var mode = settings.RetrievalMode.ToLowerInvariant();
        // A hybrid score is the weighted sum of reciprocal ranks: first in both lists scores (vector + keyword weight) / (k + 1).
        var scale = mode == "hybrid" ? (settings.HybridVectorWeight + settings.HybridKeywordWeight) / (HybridFusion.DefaultK + 1) : 1.0;
        var threshold = body.RetrievalSetting!.ScoreThreshold is > 0 and var t ? t * scale : (double?)null;
        var searchRequest = new SearchRequest(Query: body.Query, TopK: body.RetrievalSetting.TopK, MinScore: threshold, Mode: mode,
            Filter: filter.Count == 0 ? null : JsonSerializer.SerializeToElement(filter));
        return (searchRequest, scale, null);
    }

    /// <summary>
    /// Reads Dify's <c>metadata_condition</c> into a condition of the <c>filter.metadata</c> language of
    /// <c>/search</c> (parsed by <see cref="SearchFilterParser"/> into <see cref="FieldCondition"/>,
    /// <see cref="AllOf"/>, <see cref="AnyOf"/> and <see cref="NoneOf"/>). <c>and</c> / <c>or</c> join the
    /// conditions; <c>is</c> / <c>=</c> → <c>eq</c>, <c>is not</c> / <c>≠</c> → <c>ne</c>, <c>&gt;</c> <c>&lt;</c>
    /// <c>≥</c> <c>≤</c> → <c>gt</c> <c>lt</c> <c>gte</c> <c>lte</c>, <c>before</c> / <c>after</c> → <c>lt</c> /
    /// <c>gt</c> on a date, <c>in</c> → <c>in</c>, <c>not in</c> → <c>not in</c>, <c>empty</c> → missing, null,
    /// <c>""</c> or <c>[]</c>, <c>null</c> → missing or null, <c>not empty</c> / <c>not null</c> → their negation.
    /// </summary>
    /// <param name="condition">The Dify condition; null or no conditions → null (no restriction).</param>
    /// <param name="errors">Receives one message per bad part (unsupported operator, missing or wrong value).</param>
    /// <returns>The filter condition, or null when there is none or <paramref name="errors"/> got messages.</returns>
    public static JsonNode? ToFilterCondition(RetrievalMetadataCondition? condition, List<string> errors)
    {
        if (condition?.Conditions is not { Count: > 0 } conditions)
        {
            return null;
        }

        var joiner = condition.LogicalOperator?.Trim().ToLowerInvariant() ?? "and";
        if (joiner is not ("and" or "or"))
        {
            errors.Add($"metadata_condition.logical_operator '{condition.LogicalOperator}' is unknown; use and or or.");
        }

        if (conditions.Count > MaxConditions)
        {
            errors.Add($"metadata_condition.conditions may hold at most {MaxConditions} conditions.");
            return null;
        }

        var parts = new JsonArray();
        for (var i = 0; i < conditions.Count; i++)
        {
            if (ToFilterCondition(conditions[i], $"metadata_condition.conditions[{i}]", errors) is { } part)
            {
                parts.Add(part);
            }
        }

        if (errors.Count > 0)
        {
            return null;
        }

        return parts.Count == 1 ? parts[0]!.DeepClone() : new JsonObject { [joiner] = parts };
    }

    private static JsonNode? ToFilterCondition(RetrievalCondition? condition, string at, List<string> errors)
    {
        if (condition is null)
        {
            errors.Add($"{at} must be an object with name and comparison_operator.");
            return null;
        }

        if (condition.Name is { } rawName && !SearchFilterParser.IsReadable(rawName) || condition.Value is { } rawValue && !SearchFilterParser.IsReadable(rawValue))
        {
            errors.Add($"{at}: names and values must be valid UTF-8 text without unpaired UTF-16 surrogates.");
            return null;
        }

        var names = Names(condition.Name);
        if (names is null)
        {
            errors.Add($"{at}.name must be a field name or an array of 1 to {MaxNames} field names.");
            return null;
        }

        var op = condition.ComparisonOperator?.Trim().ToLowerInvariant();
        var value = condition.Value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } v ? v : (JsonElement?)null;
        var perName = new JsonArray();
        foreach (var name in names)
        {
            var node = op switch
            {
                "is" => Scalar(value) is { } scalar ? Compare(name, "eq", scalar) : Fail("a string or number"),
                "is not" => Scalar(value) is { } scalar ? Compare(name, "ne", scalar) : Fail("a string or number"),
                "=" => Number(value) is { } number ? Compare(name, "eq", number) : Fail("a number"),
                "≠" or "!=" => Number(value) is { } number ? Compare(name, "ne", number) : Fail("a number"),
                ">" => Number(value) is { } number ? Compare(name, "gt", number) : Fail("a number"),
                "<" => Number(value) is { } number ? Compare(name, "lt", number) : Fail("a number"),
                "≥" or ">=" => Number(value) is { } number ? Compare(name, "gte", number) : Fail("a number"),
                "≤" or "<=" => Number(value) is { } number ? Compare(name, "lte", number) : Fail("a number"),
                "before" => Date(value) is { } date ? Compare(name, "lt", date) : Fail("an ISO 8601 date or Unix seconds"),
                "after" => Date(value) is { } date ? Compare(name, "gt", date) : Fail("an ISO 8601 date or Unix seconds"),
                "in" => List(value) is { } list ? Compare(name, "in", list) : Fail("an array of 1 to 1000 strings or numbers"),
                "not in" => List(value) is { } list ? Not(Compare(name, "in", list)) : Fail("an array of 1 to 1000 strings or numbers"),
                "empty" => Empty(name),
                "not empty" => Not(Empty(name)),
                "null" => Null(name),
                "not null" => Not(Null(name)),
                "contains" or "not contains" or "start with" or "end with" => Unsupported(
                    $"{at}.comparison_operator '{condition.ComparisonOperator}' is not supported: metadata filters have no substring matching; use is, is not, in, not in, =, ≠, >, <, ≥, ≤, before, after, empty or not empty."),
                null or "" => Unsupported($"{at}.comparison_operator is required."),
                _ => Unsupported($"{at}.comparison_operator '{condition.ComparisonOperator}' is unknown; use is, is not, in, not in, =, ≠, >, <, ≥, ≤, before, after, empty or not empty."),
            };
            if (node is null)
            {
                return null;
            }

            perName.Add(node);
        }

        return perName.Count == 1 ? perName[0]!.DeepClone() : new JsonObject { ["or"] = perName };

        JsonNode? Fail(string what)
        {
            errors.Add($"{at}.value must be {what} for '{condition.ComparisonOperator}'.");
            return null;
        }

        JsonNode? Unsupported(string message)
        {
            errors.Add(message);
            return null;
        }
    }

    private static List<string>? Names(JsonElement? name)
    {
        if (name is { ValueKind: JsonValueKind.String } single)
        {
            return ValidName(single.GetString()) ? [single.GetString()!] : null;
        }

        if (name is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() is 0 or > MaxNames
            || array.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String || !ValidName(n.GetString())))
        {
            return null;
        }

        return array.EnumerateArray().Select(n => n.GetString()!).Distinct(StringComparer.Ordinal).ToList();

        static bool ValidName(string? value) => !string.IsNullOrWhiteSpace(value) && value.Length <= 200;
    }

    private static JsonObject Compare(string field, string comparison, JsonNode? operand) => new() { ["field"] = field, [comparison] = operand };

    private static JsonObject Not(JsonNode condition) => new() { ["not"] = condition };

    private static JsonObject Null(string field) => new()
    {
        ["or"] = new JsonArray(Compare(field, "exists", false), Compare(field, "eq", null)),
    };

    private static JsonObject Empty(string field) => new()
    {
        ["or"] = new JsonArray(Compare(field, "exists", false), Compare(field, "eq", null), Compare(field, "eq", ""), Compare(field, "eq", new JsonArray())),
    };

    private static JsonNode? Scalar(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } scalar ? JsonNode.Parse(scalar.GetRawText()) : null;

    private static JsonNode? Number(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.Number } number when number.TryGetDecimal(out var d) => JsonValue.Create(d),
        { ValueKind: JsonValueKind.String } text when decimal.TryParse(text.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
        _ => null,
    };

    private static JsonNode? Date(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } text when DateTimeOffset.TryParse(text.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _) => JsonValue.Create(text.GetString()),
        { ValueKind: JsonValueKind.Number } number when number.TryGetInt64(out var seconds) && seconds is > -62135596800 and < 253402300800 =>
            JsonValue.Create(DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        _ => null,
    };

    private static JsonArray? List(JsonElement? value)
    {
        if (value is { ValueKind: JsonValueKind.String or JsonValueKind.Number } single)
        {
            return [JsonNode.Parse(single.GetRawText())];
        }

        if (value is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() is 0 or > 1000
            || array.EnumerateArray().Any(e => e.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)))
        {
            return null;
        }

        return new JsonArray(array.EnumerateArray().Select(e => JsonNode.Parse(e.GetRawText())).ToArray());
    }

    private static IResult? Authorize(Microsoft.Extensions.Primitives.StringValues header, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return Error(StatusCodes.Status403Forbidden, AuthorizationFailed, "Authorization failed: this service has no retrieval API key configured (Search:RetrievalApiKey).");
        }

        const string scheme = "Bearer ";
        var value = header.Count == 1 ? header[0] : null;
        if (value is null || value.Length <= scheme.Length || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            || value.AsSpan(scheme.Length).ContainsAny(" \t\r\n"))
        {
            return Error(StatusCodes.Status403Forbidden, InvalidAuthorizationHeader, "Invalid Authorization header format; expected 'Bearer {api-key}'.");
        }

        // Hashing first gives both sides the same length, so the comparison time says nothing about the key.
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(value[scheme.Length..]));
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return CryptographicOperations.FixedTimeEquals(given, expected)
            ? null
            : Error(StatusCodes.Status403Forbidden, AuthorizationFailed, "Authorization failed.");
    }

    private static RetrievalRecord ToRecord(SearchResult result, double scale)
    {
        var metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (result.Metadata.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in result.Metadata.EnumerateObject())
            {
                metadata[property.Name] = property.Value.Clone();
            }
        }

        metadata["document_id"] = JsonSerializer.SerializeToElement(result.DocumentId);
        metadata["chunk_id"] = JsonSerializer.SerializeToElement(result.ChunkId);
        return new RetrievalRecord(result.Text, result.Score / scale, result.Title ?? result.DocumentId, metadata);
    }

    private static string DifyName(string field) => field switch
    {
        "topK" => "retrieval_setting.top_k",
        "minScore" => "retrieval_setting.score_threshold",
        _ when field.StartsWith("filter", StringComparison.Ordinal) => "metadata_condition",
        _ => field,
    };

    private static IResult Error(int status, int code, string message) => TypedResults.Json(new RetrievalError(code, message), statusCode: status);
}
