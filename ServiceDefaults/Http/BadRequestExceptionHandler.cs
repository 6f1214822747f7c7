using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace VectorPipeline.ServiceDefaults.Http;

/// <summary>
/// Turns the requests ASP.NET Core rejects while binding parameters (with <c>RouteHandlerOptions.ThrowOnBadRequest</c>)
/// into problem details that say what was wrong, instead of an empty 400: invalid JSON with its line, byte position
/// and path; invalid UTF-8; a content type other than JSON (415); a body over the size limit (413).
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        var status = bad.StatusCode;
        var json = Find<JsonException>(exception);
        // The endpoint's body type, for naming the JSON type a wrongly typed field wants (the exception handler has
        // cleared the request's endpoint; its feature keeps it).
        var wrongType = json is null ? null
            : JsonTypeErrors.Describe(json, (httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? httpContext.GetEndpoint())?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()
                .Select(accepts => accepts.RequestType).LastOrDefault(type => type is not null));
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = status,
            Title = status switch
            {
                StatusCodes.Status413PayloadTooLarge => "Request body too large",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported content type",
                _ when json is not null => "Invalid JSON",
                _ => "Bad request",
            },
            Detail = status switch
            {
                StatusCodes.Status415UnsupportedMediaType => $"Content type '{httpContext.Request.ContentType}' is not supported; send application/json.",
                _ when Find<DecoderFallbackException>(exception) is not null || json?.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase) == true =>
                    $"The body is not valid UTF-8: {json?.Message ?? exception.Message}",
                _ when wrongType is not null => $"{wrongType.Message} (line {json!.LineNumber + 1}, byte {json.BytePositionInLine + 1})",
                _ when json is not null => $"The body is not valid JSON: {json.Message}",
                _ => exception.Message,
            },
        };
        if (json is not null)
        {
            problem.Extensions["path"] = json.Path;
            problem.Extensions["line"] = json.LineNumber + 1;
            problem.Extensions["bytePositionInLine"] = json.BytePositionInLine + 1;
            if (wrongType is { Field.Length: > 0 })
            {
                problem.Extensions["errors"] = new Dictionary<string, string[]> { [wrongType.Field] = [wrongType.Message] };
            }
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found)
            {
                return found;
            }
        }

        return null;
    }
}
