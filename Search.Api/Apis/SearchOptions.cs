namespace VectorPipeline.Search.Apis;

/// <summary>The <c>Search</c> configuration section (environment form <c>Search__EfSearch</c>, ...).</summary>
public sealed class SearchOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Search";

    /// <summary>Default HNSW <c>ef_search</c> (candidate list size; higher = better recall, slower), 1..1000; 100 by default. Raised to topK when smaller; a request may set its own.</summary>
    public int EfSearch { get; set; } = 100;

    /// <summary>
    /// Default IVFFlat <c>ivfflat.probes</c> (lists scanned per query), 1..32768, capped at the index's lists;
    /// null (the default) = √lists. A request may set its own (<c>probes</c>). Only for models indexed with IVFFlat.
    /// </summary>
    public int? IvfflatProbes { get; set; }

    /// <summary>Largest <c>topK</c> a request may ask for, 1..1000; 100 by default.</summary>
    public int MaxTopK { get; set; } = 100;

    /// <summary>Longest query, in characters; 4000 by default.</summary>
    public int MaxQueryChars { get; set; } = 4000;

    /// <summary>PostgreSQL text-search configuration of keyword search (<c>english</c>, <c>simple</c>, <c>german</c>, ...); <c>english</c> by default. Its GIN index is built at start.</summary>
    public string TextSearchConfiguration { get; set; } = "english";

    /// <summary>Candidates each list contributes to hybrid fusion, at least topK; 50 by default.</summary>
    public int HybridCandidates { get; set; } = 50;

    /// <summary>
    /// Hybrid fusion's default weight of the vector list, 0..100; 1 by default. A request's <c>weights</c> win.
    /// </summary>
    public double HybridVectorWeight { get; set; } = 1;

    /// <summary>
    /// Hybrid fusion's default weight of the keyword list, 0..100; 0.05 by default: chosen on the SQuAD Super Bowl 50 set
    /// with the built-in arctic-embed-xs (docs/search-quality.md), where any larger weight lowered MRR@10 below vector
    /// search alone and 0.05 (the keyword list breaking near ties of the vector ranking) put hybrid at or above vector
    /// on recall@5 and MRR@10. A request's <c>weights</c> win; with a lexical model equal weights do better.
    /// </summary>
    public double HybridKeywordWeight { get; set; } = 0.05;

    /// <summary>
    /// Bearer key that <c>POST /retrieval</c> (Dify's External Knowledge API) requires in
    /// <c>Authorization: Bearer {key}</c>; compared in constant time and never logged. Not set (the default): the
    /// endpoint answers every request with error 1002 (HTTP 403) and the service logs one warning at start.
    /// Environment form <c>Search__RetrievalApiKey</c>.
    /// </summary>
    public string? RetrievalApiKey { get; set; }

    /// <summary>
    /// The <c>knowledge_id</c> values <c>POST /retrieval</c> accepts; any other answers error 2001 (HTTP 404).
    /// <c>*</c> searches all documents; any other id searches the documents whose <c>source</c> equals it.
    /// Not set (the default): <c>["*"]</c>. Environment form <c>Search__RetrievalKnowledgeIds__0=*</c>,
    /// <c>Search__RetrievalKnowledgeIds__1=wiki</c>, ...
    /// </summary>
    public string[]? RetrievalKnowledgeIds { get; set; }

    /// <summary>
    /// The tenant whose documents <c>POST /retrieval</c> searches (its Dify key belongs to no API key, so to no
    /// tenant); empty or not set = the default tenant. Environment form <c>Search__RetrievalTenant</c>.
    /// </summary>
    public string? RetrievalTenant { get; set; }

    /// <summary>Search mode of <c>POST /retrieval</c>: <c>vector</c>, <c>keyword</c> or <c>hybrid</c>; <c>hybrid</c> by default.</summary>
    public string RetrievalMode { get; set; } = "hybrid";
}
