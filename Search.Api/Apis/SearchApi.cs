using Microsoft.AspNetCore.Http.HttpResults;
using VectorPipeline.Search.Services;
using VectorPipeline.ServiceDefaults.Security;

namespace VectorPipeline.Search.Apis;

/// <summary>The <c>/search</c> endpoints of Search.Api.</summary>
public static class SearchApi
{
    /// <summary>Maps <c>POST /search</c> and <c>GET /search?q=...</c>.</summary>
    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/search", Search).RequireAuthorization(AuthPolicies.Search).WithName("Search").WithTags("Search")
            .WithSummary("Top-k chunks for a query: vector (HNSW, cosine), keyword (full-text) or hybrid (reciprocal rank fusion), with filters.");
        app.MapGet("/search", SearchByUrl)
            .RequireAuthorization(AuthPolicies.Search)
            .WithName("SearchByUrl").WithTags("Search")
            .WithSummary("The same search from a URL: /search?q=...&topK=...&mode=...&model=...&minScore=...");
        return app;
    }

    /// <summary>
    /// Handles <c>GET /search?q=...</c>: the same search as <see cref="Search"/>, its errors named by the URL's
    /// parameters (<c>q</c> for the query).
    /// </summary>
    public static async Task<Results<Ok<SearchResponse>, ValidationProblem, ProblemHttpResult>> SearchByUrl(
        string? q, int? topK, string? mode, string? model, double? minScore, SearchService search, HttpContext http, CancellationToken cancellationToken)
    {
        var answer = await Search(new SearchRequest(q, topK, minScore, mode, model), search, http, cancellationToken);
        if (answer.Result is ValidationProblem { ProblemDetails.Errors: var errors } && errors.Remove("query", out var messages))
        {
            errors["q"] = [.. messages.Select(m => m.Replace("Query ", "Parameter q (the query) ", StringComparison.Ordinal))];
        }

        return answer;
    }

    /// <summary>
    /// Handles <c>POST /search</c> (see <see cref="SearchService.SearchAsync"/>) in the caller's tenant: 200, 400 naming the
    /// field, or 502/503 problem details. Every answer after validation carries <c>Server-Timing</c> with the wall time
    /// of each phase that ran (<see cref="SearchTimings"/>).
    /// </summary>
    public static async Task<Results<Ok<SearchResponse>, ValidationProblem, ProblemHttpResult>> Search(
        SearchRequest request, SearchService search, HttpContext http, CancellationToken cancellationToken)
    {
        var timings = new SearchTimings();
        var outcome = await search.SearchAsync(request, http.User.GetTenant(), cancellationToken, timings);
        if (timings.Phases.Count > 0)
        {
            http.Response.Headers.Append(SearchTimings.HeaderName, timings.ToHeaderValue());
        }

        return outcome switch
        {
            SearchOutcome.Found found => TypedResults.Ok(found.Response),
            SearchOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            SearchOutcome.Failed failed => TypedResults.Problem(title: failed.Title, detail: failed.Detail, statusCode: failed.Status),
            _ => throw new InvalidOperationException("Unknown search outcome."),
        };
    }
}
