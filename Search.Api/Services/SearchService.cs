using System.Text.Json;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Search.Apis;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Indexing;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Search.Services;

/// <summary>What <see cref="SearchService.SearchAsync"/> answered.</summary>
public abstract record SearchOutcome
{
    /// <summary>The search ran.</summary>
    /// <param name="Response">Results best first, the model and the mode.</param>
    public sealed record Found(SearchResponse Response) : SearchOutcome;

    /// <summary>The request is invalid.</summary>
    /// <param name="Errors">One or more messages per request field (JSON path, for example <c>filter.metadata.gte</c>).</param>
    public sealed record Invalid(Dictionary<string, string[]> Errors) : SearchOutcome;

    /// <summary>The search could not run (no model, model server down).</summary>
    /// <param name="Status">HTTP status to answer: 502 or 503.</param>
    /// <param name="Title">Problem title.</param>
    /// <param name="Detail">What went wrong and what to do.</param>
    public sealed record Failed(int Status, string Title, string Detail) : SearchOutcome;
}

/// <summary>
/// Runs one search request end to end: validation, model choice, query embedding, vector / keyword /
/// hybrid retrieval with filters. Shared by every endpoint that searches (<c>/search</c> and the ones
/// built on it).
/// </summary>
public sealed class SearchService(EmbeddingModelCatalog catalog, EmbeddingModelStore models, ChunkSearch search, IOptions<SearchOptions> options)
{
    // The embedder of the model the last search without a model found active (see SearchAsync).
    private volatile ModelEmbedder? _lastActive;

    /// <summary>The search modes.</summary>
    public static readonly IReadOnlyList<string> Modes = ["vector", "keyword", "hybrid"];

    /// <summary>
    /// Vector and hybrid modes embed the query with the model they search (the one named by <c>model</c>, else
    /// the active model) and answer from that model's HNSW index only, so models are never mixed in one
    /// search. Without <c>model</c>, the query is embedded with the model the previous such search found active while
    /// the active model is read, so that the read's round trip overlaps the embedding; after a model change the first
    /// search of each replica embeds its query twice (once with the old model, then with the new one). Hybrid fuses
    /// the vector and keyword top candidates by reciprocal rank fusion. With <c>mmr</c>,
    /// vector and hybrid fetch <c>mmr.candidates</c> hits with their embeddings and keep topK of them chosen by
    /// <see cref="MaximalMarginalRelevance"/>; each result keeps the mode's score. With <c>exact</c> (vector
    /// mode), the search bypasses the HNSW index (<see cref="VectorSearchOptions.Exact"/>). Every mode searches only
    /// the documents of <paramref name="tenant"/> (<see cref="SearchFilter.Tenant"/>).
    /// </summary>
    /// <param name="request">The search.</param>
    /// <param name="tenant">The caller's tenant (empty = the default tenant); no other tenant's chunk is ever returned.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <param name="timings">Where each phase's wall time is recorded (for <c>Server-Timing</c>); null = nowhere the caller reads.</param>
    public async Task<SearchOutcome> SearchAsync(SearchRequest request, string tenant, CancellationToken cancellationToken, SearchTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        timings ??= new SearchTimings();
        var settings = options.Value;
        var errors = Validate(request, settings);
        var parsed = SearchFilterParser.Parse(request.Filter, errors);
        if (errors.Count > 0)
        {
            return new SearchOutcome.Invalid(errors);
        }

        var filter = (parsed ?? SearchFilter.ForTenant(tenant)) with { Tenant = tenant };

        var mode = (request.Mode ?? "vector").ToLowerInvariant();
        var topK = request.TopK ?? 10;
        if (mode == "keyword")
        {
            var keywordHits = await timings.MeasureAsync("keyword", () => search.KeywordSearchAsync(settings.TextSearchConfiguration, request.Query!, topK, request.MinScore, filter, cancellationToken));
            return new SearchOutcome.Found(new SearchResponse(ToResults(keywordHits), null, mode));
        }

        // The active model's lookup (a round trip) runs while the query is embedded with the model the previous search
        // found active: in the steady state the lookup costs no time. Right after a model change the guess is wrong once
        // per replica and the query is embedded again with the new model.
        var guess = request.Model is null ? _lastActive : null;
        var lookup = timings.MeasureAsync("model", () => request.Model is null ? models.GetActiveAsync(cancellationToken) : models.FindAsync(request.Model, cancellationToken));
        var early = guess is null ? ((ReadOnlyMemory<float>, EmbeddingProviderException?)?)null : await EmbedQueryAsync(guess, request.Query!, timings, cancellationToken);
        EmbeddingModel? model;
        try
        {
            model = await lookup;
        }
        catch (ArgumentException ex)
        {
            return new SearchOutcome.Invalid(new Dictionary<string, string[]> { ["model"] = [ex.Message] });
        }

        if (model is null)
        {
            return request.Model is null
                ? new SearchOutcome.Failed(StatusCodes.Status503ServiceUnavailable, "No embedding model", "No embedding model is registered yet; start Embed.Worker or Ingest.Api first.")
                : new SearchOutcome.Invalid(new Dictionary<string, string[]> { ["model"] = [$"No registered model is named '{request.Model}'; GET /models on Ingest.Api lists them."] });
        }

        var embedder = catalog.Find(model);
        if (embedder is null)
        {
            return new SearchOutcome.Failed(StatusCodes.Status503ServiceUnavailable, "Model not configured in Search.Api",
                $"Model {model.Key} is registered but Search.Api has no configuration to embed queries with it; add it under Embedding or Embedding:Models:{{key}}.");
        }

        if (request.Model is null)
        {
            _lastActive = embedder;
        }

        var (vector, failure) = early is { } embedded && ReferenceEquals(guess, embedder) ? embedded : await EmbedQueryAsync(embedder, request.Query!, timings, cancellationToken);
        if (failure is not null)
        {
            // The model server, not this service, failed: 503 when it is down or overloaded (retry later), else 502.
            return new SearchOutcome.Failed(failure.IsTransient || failure.IsCircuitOpen ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway,
                "Embedding model unavailable", $"The query could not be embedded with {model.Key}: {failure.Message}");
        }

        var efSearch = request.EfSearch ?? settings.EfSearch;
        var probes = request.Probes ?? settings.IvfflatProbes;
        var mmr = request.Mmr;
        var lambda = mmr?.Lambda ?? MmrParameters.DefaultLambda;
        var mmrCandidates = mmr?.Candidates ?? Math.Max(topK, MmrParameters.DefaultCandidates);
        if (mode == "vector")
        {
            var vectorOptions = new VectorSearchOptions(Exact: request.Exact == true, IncludeEmbeddings: mmr is not null, Probes: probes);
            var hits = await timings.MeasureAsync("vector", () => search.SearchAsync(model, vector, mmr is null ? topK : mmrCandidates, request.MinScore, efSearch, filter, vectorOptions, cancellationToken));
            if (mmr is not null)
            {
                // Relevance = the hit's score, which in vector mode is the similarity to the query (cosine similarity by default).
                hits = MaximalMarginalRelevance.Rerank(hits, hits.Select(h => h.Score).ToList(), topK, lambda);
            }

            return new SearchOutcome.Found(new SearchResponse(ToResults(hits), model.Key, mode));
        }

        var fuseTo = mmr is null ? topK : mmrCandidates;
        var candidates = Math.Max(fuseTo, settings.HybridCandidates);
        var vectorHits = await timings.MeasureAsync("vector", () => search.SearchAsync(model, vector, candidates, null, efSearch, filter,
            new VectorSearchOptions(IncludeEmbeddings: mmr is not null, Probes: probes), cancellationToken));
        var textHits = await timings.MeasureAsync("keyword", () => search.KeywordSearchAsync(settings.TextSearchConfiguration, request.Query!, candidates, null, filter, cancellationToken));
        var fused = HybridFusion.Fuse(vectorHits, textHits, request.RrfK ?? HybridFusion.DefaultK,
            request.Weights?.Vector ?? settings.HybridVectorWeight, request.Weights?.Keyword ?? settings.HybridKeywordWeight, fuseTo);
        if (request.MinScore is { } minScore)
        {
            fused = fused.Where(h => h.Score >= minScore).ToList();
        }

        if (mmr is not null && fused.Count > 0)
        {
            fused = await WithEmbeddingsAsync(model, fused, cancellationToken);
            var best = fused.Max(h => h.Score);
            // Relevance = fused score / the best fused score, so it lies in (0, 1] like a cosine similarity.
            fused = MaximalMarginalRelevance.Rerank(fused, fused.Select(h => best > 0 ? h.Score / best : 0).ToList(), topK, lambda);
        }

        return new SearchOutcome.Found(new SearchResponse(ToResults(fused), model.Key, mode));
    }

    // The query's vector, or the provider's failure (which becomes a 502 or 503).
    private static async Task<(ReadOnlyMemory<float> Vector, EmbeddingProviderException? Failure)> EmbedQueryAsync(
        ModelEmbedder embedder, string query, SearchTimings timings, CancellationToken cancellationToken)
    {
        try
        {
            return (await timings.MeasureAsync("embed", () => embedder.EmbedQueryAsync(query, cancellationToken)), null);
        }
        catch (EmbeddingProviderException ex)
        {
            return (default, ex);
        }
    }

    // Hybrid with MMR: keyword-only hits carry no embedding; read theirs, and drop any chunk that has none for the model.
    private async Task<IReadOnlyList<ChunkHit>> WithEmbeddingsAsync(EmbeddingModel model, IReadOnlyList<ChunkHit> hits, CancellationToken cancellationToken)
    {
        var missing = hits.Where(h => h.Embedding is null).Select(h => h.ChunkId).ToList();
        if (missing.Count == 0)
        {
            return hits;
        }

        var embeddings = await search.GetEmbeddingsAsync(model, missing, cancellationToken);
        return hits
            .Select(h => h.Embedding is not null ? h : embeddings.TryGetValue(h.ChunkId, out var e) ? h with { Embedding = e } : null)
            .OfType<ChunkHit>()
            .ToList();
    }

    internal static Dictionary<string, string[]> Validate(SearchRequest request, SearchOptions settings)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            errors["query"] = ["Query is required and must not be blank."];
        }
        else if (request.Query.Length > settings.MaxQueryChars)
        {
            errors["query"] = [$"Query must be at most {settings.MaxQueryChars} characters long."];
        }

        if (request.TopK is { } topK && (topK < 1 || topK > settings.MaxTopK))
        {
            errors["topK"] = [$"TopK must be between 1 and {settings.MaxTopK}."];
        }

        var mode = request.Mode?.ToLowerInvariant();
        if (mode is not null && !Modes.Contains(mode))
        {
            errors["mode"] = [$"Mode '{request.Mode}' is unknown; use one of: {string.Join(", ", Modes)}."];
        }

        if (request.MinScore is { } min && (!double.IsFinite(min) || (mode is null or "vector" && min is < -1 or > 1)))
        {
            errors["minScore"] = ["MinScore must be a finite number; in vector mode it is a similarity between -1 and 1 (cosine similarity for the default cosine distance)."];
        }

        if (request.EfSearch is < 1 or > 1000)
        {
            errors["efSearch"] = ["EfSearch must be between 1 and 1000."];
        }

        if (request.Probes is < 1 or > VectorIndexSettings.MaxIvfFlatLists)
        {
            errors["probes"] = [$"Probes must be between 1 and {VectorIndexSettings.MaxIvfFlatLists}."];
        }

        if (request.RrfK is < 1 or > 1000)
        {
            errors["rrfK"] = ["RrfK must be between 1 and 1000."];
        }

        if (request.Mmr is { } mmr)
        {
            var topKForMmr = request.TopK ?? 10;
            if (mode == "keyword")
            {
                errors["mmr"] = ["MMR is not available in keyword mode: it compares the results' embeddings; use mode vector or hybrid."];
            }

            if (mmr.Lambda is { } lambda && !(lambda is >= 0 and <= 1))
            {
                errors["mmr.lambda"] = ["Mmr.lambda must be between 0 (most diverse) and 1 (relevance only)."];
            }

            if (mmr.Candidates is { } candidates && (candidates < topKForMmr || candidates > MmrParameters.MaxCandidates))
            {
                errors["mmr.candidates"] = [$"Mmr.candidates must be between topK ({topKForMmr}) and {MmrParameters.MaxCandidates}."];
            }
        }

        if (request.Exact == true && mode is not (null or "vector"))
        {
            errors["exact"] = ["Exact search is available in vector mode only."];
        }

        if (request.Weights is { } weights && (weights.Vector is < 0 or > 100 || weights.Keyword is < 0 or > 100 || (weights.Vector == 0 && weights.Keyword == 0)))
        {
            errors["weights"] = ["Weights must be between 0 and 100 and not both 0."];
        }

        return errors;
    }

    private static List<SearchResult> ToResults(IReadOnlyList<ChunkHit> hits) =>
        hits.Select(h => new SearchResult(h.ChunkId, h.DocumentId, h.Title, h.Text, h.Score, ParseMetadata(h.MetadataJson))).ToList();

    private static JsonElement ParseMetadata(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
