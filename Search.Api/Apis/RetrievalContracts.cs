using System.Text.Json;
using System.Text.Json.Serialization;

namespace VectorPipeline.Search.Apis;

/// <summary>
/// Body of <c>POST /retrieval</c>, Dify's External Knowledge API (protocol: Dify documentation, "External
/// Knowledge API"). Property names are snake_case, exactly as Dify sends them.
/// </summary>
/// <param name="KnowledgeId">
/// <c>knowledge_id</c> (required): the "External Knowledge ID" entered in Dify. It must be one of
/// <c>Search:RetrievalKnowledgeIds</c> (else error 2001): <c>*</c> searches all documents, any other id the
/// documents whose <c>source</c> equals it.
/// </param>
/// <param name="Query"><c>query</c> (required): the text to search for, at most <c>Search:MaxQueryChars</c> characters.</param>
/// <param name="RetrievalSetting"><c>retrieval_setting</c> (required): <c>top_k</c> and <c>score_threshold</c>.</param>
/// <param name="MetadataCondition"><c>metadata_condition</c> (optional): conditions on the document metadata.</param>
public sealed record RetrievalRequest(
    [property: JsonPropertyName("knowledge_id")] string? KnowledgeId,
    [property: JsonPropertyName("query")] string? Query,
    [property: JsonPropertyName("retrieval_setting")] RetrievalSetting? RetrievalSetting,
    [property: JsonPropertyName("metadata_condition")] RetrievalMetadataCondition? MetadataCondition = null);

/// <summary>The <c>retrieval_setting</c> object of <c>POST /retrieval</c>.</summary>
/// <param name="TopK"><c>top_k</c> (required): most records to return, 1..<c>Search:MaxTopK</c>.</param>
/// <param name="ScoreThreshold">
/// <c>score_threshold</c>: smallest record <c>score</c> to return (Dify: 0..1, 0.0 when the threshold is
/// switched off). 0 or less, or absent, returns records of any score. Compared with the same score the
/// records carry (see <see cref="RetrievalRecord.Score"/>).
/// </param>
public sealed record RetrievalSetting(
    [property: JsonPropertyName("top_k")] int? TopK,
    [property: JsonPropertyName("score_threshold")] double? ScoreThreshold);

/// <summary>The <c>metadata_condition</c> object of <c>POST /retrieval</c>.</summary>
/// <param name="LogicalOperator"><c>logical_operator</c>: <c>and</c> (default) or <c>or</c>, joining the conditions.</param>
/// <param name="Conditions"><c>conditions</c> (required, 1..20): the conditions.</param>
public sealed record RetrievalMetadataCondition(
    [property: JsonPropertyName("logical_operator")] string? LogicalOperator,
    [property: JsonPropertyName("conditions")] IReadOnlyList<RetrievalCondition>? Conditions);

/// <summary>
/// One entry of <c>metadata_condition.conditions</c>. Supported operators: <c>is</c>, <c>is not</c>,
/// <c>=</c>, <c>≠</c>, <c>&gt;</c>, <c>&lt;</c>, <c>≥</c>, <c>≤</c> (also <c>!=</c>, <c>&gt;=</c>,
/// <c>&lt;=</c>), <c>before</c>, <c>after</c>, <c>in</c>, <c>not in</c>, <c>empty</c>, <c>not empty</c>,
/// <c>null</c>, <c>not null</c>. <c>contains</c>, <c>not contains</c>, <c>start with</c> and <c>end with</c>
/// are answered with error 4001 (no substring matching on metadata).
/// </summary>
/// <param name="Name">
/// <c>name</c> (required): a metadata field name (dots address nested objects, <c>team.name</c>), or an
/// array of 1..10 names; with several names the condition holds when it holds for at least one of them.
/// </param>
/// <param name="ComparisonOperator"><c>comparison_operator</c> (required): one of the operators above.</param>
/// <param name="Value">
/// <c>value</c>: a string or number (an array for <c>in</c> / <c>not in</c>); omitted for <c>empty</c>,
/// <c>not empty</c>, <c>null</c> and <c>not null</c>. <c>=</c>, <c>≠</c> and the ranges take a number or a
/// numeric string; <c>before</c> / <c>after</c> an ISO 8601 date or Unix seconds.
/// </param>
public sealed record RetrievalCondition(
    [property: JsonPropertyName("name")] JsonElement? Name,
    [property: JsonPropertyName("comparison_operator")] string? ComparisonOperator,
    [property: JsonPropertyName("value")] JsonElement? Value = null);

/// <summary>Answer of <c>POST /retrieval</c> (HTTP 200): <c>{"records": [...]}</c>, best first; empty when nothing matches.</summary>
/// <param name="Records"><c>records</c>: at most <c>top_k</c> chunks, by descending score.</param>
public sealed record RetrievalResponse([property: JsonPropertyName("records")] IReadOnlyList<RetrievalRecord> Records);

/// <summary>One record of <c>POST /retrieval</c>: one chunk.</summary>
/// <param name="Content"><c>content</c>: the chunk text.</param>
/// <param name="Score">
/// <c>score</c>: higher is closer. Hybrid (the default <c>Search:RetrievalMode</c>): the reciprocal rank fusion
/// score divided by its largest possible value 2 / 61, so 0..1 (1 = first in both the vector and the keyword
/// list). Vector: cosine similarity (−1..1). Keyword: <c>ts_rank_cd</c> (≥ 0, not bounded by 1).
/// </param>
/// <param name="Title"><c>title</c>: the document title, or its id when it has none.</param>
/// <param name="Metadata">
/// <c>metadata</c>: the document's metadata object plus <c>document_id</c> (the document's client key) and
/// <c>chunk_id</c>, which replace metadata fields of those names; always an object, never null.
/// </param>
public sealed record RetrievalRecord(
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, JsonElement> Metadata);

/// <summary>
/// Error answer of <c>POST /retrieval</c>, Dify's shape <c>{"error_code", "error_msg"}</c>. Codes: 1001
/// invalid <c>Authorization</c> header format (HTTP 403), 1002 authorization failed (HTTP 403), 2001 the
/// knowledge does not exist (HTTP 404) — these three are Dify's; this service adds 4001 invalid request
/// (HTTP 400) and 5001 search unavailable (HTTP 502 or 503).
/// </summary>
/// <param name="ErrorCode"><c>error_code</c>: 1001, 1002, 2001, 4001 or 5001.</param>
/// <param name="ErrorMsg"><c>error_msg</c>: what went wrong, for people.</param>
public sealed record RetrievalError(
    [property: JsonPropertyName("error_code")] int ErrorCode,
    [property: JsonPropertyName("error_msg")] string ErrorMsg);
