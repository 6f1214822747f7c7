using System.Text.Json;

namespace VectorPipeline.Search.Apis;

/// <summary>
/// Body of <c>POST /search/context</c>: the fields of <c>POST /search</c> (same meaning and limits, see
/// <see cref="SearchRequest"/>) plus the size of the context to build.
/// </summary>
/// <param name="Query">The text to search for (required, not blank, at most <c>Search:MaxQueryChars</c>).</param>
/// <param name="TopK">Most chunks to consider, 1..<c>Search:MaxTopK</c>; 10 by default.</param>
/// <param name="Mode"><c>vector</c> (default), <c>keyword</c> or <c>hybrid</c>.</param>
/// <param name="Model">The embedding model to search (key, id or unambiguous name); the active model by default.</param>
/// <param name="Filter">Documents to search: <c>documentIds</c>, <c>source</c>, <c>metadata</c> (as <c>POST /search</c>).</param>
/// <param name="MinScore">Smallest score to use, compared with the mode's score (as <c>POST /search</c>).</param>
/// <param name="MaxChars">
/// Longest <c>context</c>, in UTF-16 characters (what .NET and JavaScript count as string length),
/// <see cref="ContextApi.MinMaxChars"/>..<see cref="ContextApi.MaxMaxChars"/>; <see cref="ContextApi.DefaultMaxChars"/> by default.
/// </param>
public sealed record ContextRequest(string? Query, int? TopK = null, string? Mode = null, string? Model = null,
    JsonElement? Filter = null, double? MinScore = null, int? MaxChars = null);

/// <summary>One numbered source of a <c>POST /search/context</c> answer.</summary>
/// <param name="Number">Its number in the context, <c>[1]</c>, <c>[2]</c>, ...: the result's rank.</param>
/// <param name="DocumentId">The document's client key.</param>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="Title">Document title, if any (the context shows the document id instead when it has none).</param>
/// <param name="Score">The search score (the mode's score, as <c>POST /search</c>).</param>
public sealed record ContextSource(int Number, string DocumentId, long ChunkId, string? Title, double Score);

/// <summary>Answer of <c>POST /search/context</c>: the top chunks as one prompt-ready text with numbered sources.</summary>
/// <param name="Context">
/// <c>[1] Title\nchunk text\n\n[2] Title\nchunk text...</c> in rank order, at most <c>maxChars</c> characters;
/// empty when nothing matched.
/// </param>
/// <param name="Sources">The sources in <paramref name="Context"/>, by number; a source whose text was cut is included.</param>
/// <param name="Model">The embedding model searched, <c>{name}@{dimensions}</c>; absent in keyword mode.</param>
/// <param name="Mode">The mode that answered.</param>
/// <param name="Truncated">
/// True when a result did not fit whole: the last text was cut at a word boundary and ends with <c>…</c>, or
/// later results were left out.
/// </param>
public sealed record ContextResponse(string Context, IReadOnlyList<ContextSource> Sources, string? Model, string Mode, bool Truncated);
