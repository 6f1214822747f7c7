using System.Text.Json;

namespace VectorPipeline.Search.Apis;

/// <summary>Body of <c>POST /search</c>.</summary>
/// <param name="Query">The text to search for (required, not blank).</param>
/// <param name="TopK">Number of chunks to return, 1..<c>Search:MaxTopK</c>; 10 by default.</param>
/// <param name="MinScore">Smallest cosine similarity to return, −1..1; none by default.</param>
/// <param name="Mode"><c>vector</c> (the default and, in this build, the only mode).</param>
/// <param name="Model">
/// The embedding model to search: its key <c>{name}@{dimensions}</c> (as <c>GET /models</c> and this response
/// name it), its id, or its name when unambiguous. Absent: the active model. The query is embedded with the
/// same model, so one search never mixes models.
/// </param>
public sealed record SearchRequest(string? Query, int? TopK, double? MinScore, string? Mode, string? Model = null);

/// <summary>One result of <c>POST /search</c>.</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">The document's client key.</param>
/// <param name="Title">Document title, if any.</param>
/// <param name="Text">Chunk text.</param>
/// <param name="Score">Cosine similarity to the query (1 − cosine distance), higher is closer.</param>
/// <param name="Metadata">The document's metadata object.</param>
public sealed record SearchResult(long ChunkId, string DocumentId, string? Title, string Text, double Score, JsonElement Metadata);

/// <summary>Answer of <c>POST /search</c>: results best first.</summary>
/// <param name="Results">At most topK results, by descending score.</param>
/// <param name="Model">The embedding model searched, <c>{name}@{dimensions}</c>.</param>
public sealed record SearchResponse(IReadOnlyList<SearchResult> Results, string Model);
