using System.Text.Json;

namespace VectorPipeline.Search.Apis;

/// <summary>Body of <c>POST /search</c>.</summary>
/// <param name="Query">The text to search for (required, not blank, at most <c>Search:MaxQueryChars</c>).</param>
/// <param name="TopK">Number of chunks to return, 1..<c>Search:MaxTopK</c>; 10 by default.</param>
/// <param name="MinScore">
/// Smallest score to return, compared with the mode's score (vector: by the model's distance, cosine
/// similarity −1..1, inner product −1..1 or 1 / (1 + L2 distance) 0..1; keyword: <c>ts_rank_cd</c> ≥ 0; hybrid:
/// fused score); none by default.
/// </param>
/// <param name="Mode"><c>vector</c> (default), <c>keyword</c> or <c>hybrid</c>.</param>
/// <param name="Model">
/// The embedding model to search: its key <c>{name}@{dimensions}</c> (as <c>GET /models</c> and this response
/// name it), its id, or its name when unambiguous. Absent: the active model. The query is embedded with the
/// same model, so one search never mixes models.
/// </param>
/// <param name="Filter">Documents to search: <c>documentIds</c>, <c>source</c>, <c>metadata</c> conditions (see README, "Search").</param>
/// <param name="EfSearch">HNSW <c>ef_search</c> for this request, 1..1000; <c>Search:EfSearch</c> by default. Ignored for IVFFlat models.</param>
/// <param name="Probes">
/// IVFFlat <c>ivfflat.probes</c> (lists scanned; more = better recall, slower) for this request, 1..32768,
/// capped at the index's lists; <c>Search:IvfflatProbes</c>, else √lists, by default. Ignored for HNSW models.
/// </param>
/// <param name="RrfK">Hybrid: the reciprocal rank fusion constant k, 1..1000; 60 by default.</param>
/// <param name="Weights">Hybrid: weight of each list in the fusion; by default <c>Search:HybridVectorWeight</c> (1) and <c>Search:HybridKeywordWeight</c> (0.05).</param>
/// <param name="Mmr">
/// Vector and hybrid: diversify the results by maximal marginal relevance (see <see cref="MmrParameters"/>);
/// absent: plain relevance order. Refused (400 <c>mmr</c>) in keyword mode, which has no vectors to compare.
/// </param>
/// <param name="Exact">
/// Vector mode only (400 <c>exact</c> otherwise): <c>true</c> searches without the model's index, an exact scan
/// of every embedding of the model that passes the filter (cost linear in their number). Meant for measuring the
/// index's recall and for very selective filters; <c>efSearch</c> and <c>probes</c> are then ignored.
/// <c>false</c> by default.
/// </param>
public sealed record SearchRequest(string? Query, int? TopK, double? MinScore, string? Mode, string? Model = null,
    JsonElement? Filter = null, int? EfSearch = null, int? RrfK = null, HybridWeights? Weights = null,
    MmrParameters? Mmr = null, bool? Exact = null, int? Probes = null);

/// <summary>
/// Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998): the search fetches <c>candidates</c> hits
/// with their embeddings, then picks topK of them one at a time, each time the hit with the largest
/// <c>λ·relevance − (1 − λ)·max cosine similarity to the hits already picked</c>. Relevance is the cosine
/// similarity to the query in vector mode, and the fused score divided by the largest fused score among the
/// candidates (0..1] in hybrid mode. Each result's <c>score</c> stays the mode's score; only the choice and the
/// order of the results change, so scores need not be descending.
/// </summary>
/// <param name="Lambda">λ, 0..1: 1 = relevance order only, 0 = as diverse as possible; 0.5 by default.</param>
/// <param name="Candidates">Hits to choose from, topK..1000; 50 (or topK when larger) by default.</param>
public sealed record MmrParameters(double? Lambda, int? Candidates)
{
    /// <summary>The default λ, 0.5.</summary>
    public const double DefaultLambda = 0.5;

    /// <summary>The default number of candidates, 50 (raised to topK when smaller).</summary>
    public const int DefaultCandidates = 50;

    /// <summary>The most candidates a request may ask for, 1000.</summary>
    public const int MaxCandidates = 1000;
}

/// <summary>Weights of the two ranked lists in hybrid search, each 0..100, not both 0.</summary>
/// <param name="Vector">Weight of the vector list; 1 by default.</param>
/// <param name="Keyword">Weight of the keyword list; 1 by default.</param>
public sealed record HybridWeights(double? Vector, double? Keyword);

/// <summary>One result of <c>POST /search</c>.</summary>
/// <param name="ChunkId">Chunk key.</param>
/// <param name="DocumentId">The document's client key.</param>
/// <param name="Title">Document title, if any.</param>
/// <param name="Text">Chunk text.</param>
/// <param name="Score">Higher is closer. Vector: cosine similarity (1 − cosine distance); keyword: <c>ts_rank_cd</c>; hybrid: Σ weight / (k + rank).</param>
/// <param name="Metadata">The document's metadata object.</param>
public sealed record SearchResult(long ChunkId, string DocumentId, string? Title, string Text, double Score, JsonElement Metadata);

/// <summary>Answer of <c>POST /search</c>: results best first.</summary>
/// <param name="Results">At most topK results, by descending score (with <c>mmr</c>: in MMR order).</param>
/// <param name="Model">The embedding model searched, <c>{name}@{dimensions}</c>; absent in keyword mode.</param>
/// <param name="Mode">The mode that answered.</param>
public sealed record SearchResponse(IReadOnlyList<SearchResult> Results, string? Model, string Mode);
