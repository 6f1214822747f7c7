using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using VectorPipeline.Search.Services;
using VectorPipeline.ServiceDefaults.Security;

namespace VectorPipeline.Search.Apis;

/// <summary>
/// <c>POST /search/context</c>: a search whose top results come back as one numbered, size-bounded text to put
/// in a prompt (RAG tools, low-code platforms), with the sources to cite.
/// </summary>
public static class ContextApi
{
    /// <summary>Default <c>maxChars</c>: 4000 characters.</summary>
    public const int DefaultMaxChars = 4000;

    /// <summary>Smallest <c>maxChars</c>: 100 characters.</summary>
    public const int MinMaxChars = 100;

    /// <summary>Largest <c>maxChars</c>: 100 000 characters.</summary>
    public const int MaxMaxChars = 100_000;

    /// <summary>Appended to a text that was cut.</summary>
    public const string Ellipsis = "…";

    private static readonly char[] Whitespace = [' ', '\t', '\n', '\r', '\f', '\v', '\u00A0'];

    /// <summary>Maps <c>POST /search/context</c>.</summary>
    public static IEndpointRouteBuilder MapContextApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/search/context", Context).RequireAuthorization(AuthPolicies.Search).WithName("SearchContext").WithTags("Search")
            .WithSummary("The top chunks for a query as one numbered context text within maxChars, with its sources: [1] Title\\ntext\\n\\n[2] ...");
        return app;
    }

    /// <summary>
    /// Handles <c>POST /search/context</c>: 200 with <see cref="ContextResponse"/>, 400 naming the field
    /// (<c>maxChars</c> or a search field), or 502/503 problem details when the search cannot run.
    /// </summary>
    public static async Task<Results<Ok<ContextResponse>, ValidationProblem, ProblemHttpResult>> Context(
        ContextRequest request, SearchService search, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var maxChars = request.MaxChars ?? DefaultMaxChars;
        if (maxChars is < MinMaxChars or > MaxMaxChars)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["maxChars"] = [$"MaxChars must be between {MinMaxChars} and {MaxMaxChars}."] });
        }

        var searchRequest = new SearchRequest(Query: request.Query, TopK: request.TopK, MinScore: request.MinScore, Mode: request.Mode,
            Model: request.Model, Filter: request.Filter);
        switch (await search.SearchAsync(searchRequest, user.GetTenant(), cancellationToken))
        {
            case SearchOutcome.Found found:
                var (context, sources, truncated) = Build(found.Response.Results, maxChars);
                return TypedResults.Ok(new ContextResponse(context, sources, found.Response.Model, found.Response.Mode, truncated));
            case SearchOutcome.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors);
            case SearchOutcome.Failed failed:
                return TypedResults.Problem(title: failed.Title, detail: failed.Detail, statusCode: failed.Status);
            default:
                throw new InvalidOperationException("Unknown search outcome.");
        }
    }

    /// <summary>
    /// Joins <paramref name="results"/> in rank order as <c>[n] Title\ntext</c> blocks separated by a blank line
    /// (the document id stands in for a missing title), stopping before <paramref name="maxChars"/> would be
    /// exceeded: the first result that does not fit whole is cut at the last word boundary that fits, followed
    /// by <see cref="Ellipsis"/> (left out when not even one word of it fits), and the rest are left out.
    /// </summary>
    /// <param name="results">Search results, best first.</param>
    /// <param name="maxChars">Largest context length in UTF-16 characters, ≥ 1.</param>
    /// <returns>The context (≤ <paramref name="maxChars"/> characters), its sources by number, and whether anything was cut or left out.</returns>
    public static (string Context, List<ContextSource> Sources, bool Truncated) Build(IReadOnlyList<SearchResult> results, int maxChars)
    {
        var context = new StringBuilder();
        var sources = new List<ContextSource>();
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            var header = $"{(i == 0 ? "" : "\n\n")}[{i + 1}] {result.Title ?? result.DocumentId}\n";
            var source = new ContextSource(i + 1, result.DocumentId, result.ChunkId, result.Title, result.Score);
            if (context.Length + header.Length + result.Text.Length <= maxChars)
            {
                context.Append(header).Append(result.Text);
                sources.Add(source);
                continue;
            }

            var room = maxChars - context.Length - header.Length - Ellipsis.Length;
            var cut = room > 0 ? CutAtWord(result.Text, room) : "";
            if (cut.Length > 0)
            {
                context.Append(header).Append(cut).Append(Ellipsis);
                sources.Add(source);
            }

            return (context.ToString(), sources, true);
        }

        return (context.ToString(), sources, false);
    }

    /// <summary>The longest start of <paramref name="text"/> (longer than <paramref name="room"/>) that ends at a word boundary and fits; a hard cut when the first word alone is too long.</summary>
    private static string CutAtWord(string text, int room)
    {
        var end = char.IsLowSurrogate(text[room]) ? room - 1 : room;
        var boundary = text.LastIndexOfAny(Whitespace, end);
        return (boundary > 0 ? text[..boundary] : text[..end]).TrimEnd();
    }
}
