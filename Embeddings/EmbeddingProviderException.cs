using System.Net;
using System.Text;

namespace VectorPipeline.Embeddings;

/// <summary>
/// Any failure of an embedding provider: the server answered an error status (after the retries the
/// status allows), could not be reached, did not answer within the per-attempt timeout, sent a body that
/// is not the protocol's JSON, returned the wrong number of vectors or vectors of the wrong length, or the
/// circuit breaker is open. The message names the provider, the model, the request (method and URL without
/// query string or user info) and the status, followed by the first 300 characters of the response body;
/// the API key is never part of it (it is masked should the server echo it back).
/// </summary>
public sealed class EmbeddingProviderException : Exception
{
    /// <summary>Longest piece of a response body quoted in <see cref="Exception.Message"/>, in characters.</summary>
    public const int MaxBodyExcerptChars = 300;

    /// <summary>Creates the exception.</summary>
    /// <param name="provider">Provider name (<c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c>, <c>http</c>).</param>
    /// <param name="model">Model name as configured; null when unknown.</param>
    /// <param name="detail">What went wrong; the provider and model are put before it.</param>
    /// <param name="statusCode">HTTP status of the last answer, null when there was none.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public EmbeddingProviderException(string provider, string? model, string detail, int? statusCode = null, Exception? innerException = null)
        : base($"Embedding provider '{provider}', model '{model ?? "(unknown)"}': {detail}", innerException)
    {
        Provider = provider;
        Model = model;
        StatusCode = statusCode;
    }

    /// <summary>Provider name (<c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c>, <c>http</c>).</summary>
    public string Provider { get; }

    /// <summary>Model name as configured, null when unknown.</summary>
    public string? Model { get; }

    /// <summary>HTTP status code of the last answer (for example 500, 401), or null when no answer was received
    /// (connection error, timeout, open circuit) or the failure was not an HTTP one (bad vectors).</summary>
    public int? StatusCode { get; }

    /// <summary>True when the circuit breaker refused the call without contacting the server.</summary>
    public bool IsCircuitOpen { get; init; }

    /// <summary>
    /// When the failure is likely to go away by waiting (open circuit: the rest of the break duration), else null.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// True when a later attempt may succeed: 408, 429, 5xx, no answer, timeout or open circuit. False for
    /// answers that will not change by retrying (400, 401, 403, 404, 413, 422, bad vectors).
    /// </summary>
    public bool IsTransient { get; init; }

    /// <summary>Statuses worth retrying: 408, 429, 500, 502, 503, 504.</summary>
    internal static bool IsTransientStatus(int status) => status is 408 or 429 or 500 or 502 or 503 or 504;

    /// <summary>Request description for messages: method and absolute URL without user info and query string.</summary>
    internal static string Describe(HttpMethod method, Uri? uri)
    {
        if (uri is null)
        {
            return method.Method;
        }

        var safe = uri.IsAbsoluteUri ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : uri.OriginalString;
        return $"{method.Method} {safe}";
    }

    /// <summary>An error status from the server.</summary>
    internal static EmbeddingProviderException FromStatus(
        string provider, string? model, string request, HttpStatusCode status, ReadOnlySpan<byte> body, int attempts, string? apiKey)
    {
        var code = (int)status;
        var attemptText = attempts > 1 ? $" after {attempts} attempts" : "";
        var excerpt = Excerpt(body, apiKey);
        var detail = $"{request} answered {code} {status}{attemptText}" + (excerpt.Length == 0 ? " (empty body)." : $": {excerpt}");
        return new EmbeddingProviderException(provider, model, detail, code) { IsTransient = IsTransientStatus(code) };
    }

    /// <summary>
    /// The first <see cref="MaxBodyExcerptChars"/> characters of a response body, whitespace runs collapsed,
    /// <paramref name="apiKey"/> masked.
    /// </summary>
    internal static string Excerpt(ReadOnlySpan<byte> body, string? apiKey)
    {
        if (body.IsEmpty)
        {
            return "";
        }

        // Decode a little more than needed: multi-byte characters and collapsed whitespace shorten the text.
        var decodedBytes = Math.Min(body.Length, MaxBodyExcerptChars * 4);
        var text = Encoding.UTF8.GetString(body[..decodedBytes]);
        if (!string.IsNullOrEmpty(apiKey))
        {
            text = text.Replace(apiKey, "***", StringComparison.Ordinal);
        }

        var builder = new StringBuilder(Math.Min(text.Length, MaxBodyExcerptChars + 1));
        var lastWasSpace = false;
        foreach (var c in text)
        {
            var isSpace = char.IsWhiteSpace(c) || char.IsControl(c);
            if (isSpace && (lastWasSpace || builder.Length == 0))
            {
                continue;
            }

            if (builder.Length == MaxBodyExcerptChars)
            {
                return builder.ToString().TrimEnd() + "…";
            }

            builder.Append(isSpace ? ' ' : c);
            lastWasSpace = isSpace;
        }

        return builder.ToString().TrimEnd() + (decodedBytes < body.Length ? "…" : "");
    }
}
