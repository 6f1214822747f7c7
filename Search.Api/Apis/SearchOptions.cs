namespace VectorPipeline.Search.Apis;

/// <summary>The <c>Search</c> configuration section (environment form <c>Search__EfSearch</c>, ...).</summary>
public sealed class SearchOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Search";

    /// <summary>Default HNSW <c>ef_search</c> (candidate list size; higher = better recall, slower), 1..1000; 100 by default. Raised to topK when smaller; a request may set its own.</summary>
    public int EfSearch { get; set; } = 100;

    /// <summary>Largest <c>topK</c> a request may ask for, 1..1000; 100 by default.</summary>
    public int MaxTopK { get; set; } = 100;

    /// <summary>Longest query, in characters; 4000 by default.</summary>
    public int MaxQueryChars { get; set; } = 4000;

    /// <summary>PostgreSQL text-search configuration of keyword search (<c>english</c>, <c>simple</c>, <c>german</c>, ...); <c>english</c> by default. Its GIN index is built at start.</summary>
    public string TextSearchConfiguration { get; set; } = "english";

    /// <summary>Candidates each list contributes to hybrid fusion, at least topK; 50 by default.</summary>
    public int HybridCandidates { get; set; } = 50;
}
