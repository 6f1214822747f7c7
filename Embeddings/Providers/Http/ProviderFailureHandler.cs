using Polly.CircuitBreaker;
using Polly.Timeout;

namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// The outermost handler of <see cref="EmbeddingHttpClient"/>: what the resilience pipeline gives up on becomes an
/// <see cref="EmbeddingProviderException"/> naming provider, model, request and attempts: an open circuit
/// (<see cref="EmbeddingProviderException.IsCircuitOpen"/>, with the rest of the break as
/// <see cref="EmbeddingProviderException.RetryAfter"/>), the attempt or total timeout, a server that cannot be reached
/// and, when <c>throwOnErrorStatus</c> is set, a final error status with the first characters of its body (API key
/// masked). The caller's cancellation stays an <see cref="OperationCanceledException"/>. Libraries above this handler
/// (OllamaSharp, the OpenAI client) let the exception through unchanged.
/// </summary>
internal sealed class ProviderFailureHandler(string provider, string model, EmbeddingModelOptions options, bool throwOnErrorStatus) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var describe = EmbeddingProviderException.Describe(request.Method, request.RequestUri);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BrokenCircuitException broken)
        {
            var wait = broken.RetryAfter is { } after ? $" for another {Math.Max(0, after.TotalSeconds):0.#} s" : "";
            throw new EmbeddingProviderException(provider, model,
                $"{describe} was not sent: the circuit breaker is open after repeated failures of the server, so calls fail fast{wait}.", innerException: broken)
            { IsCircuitOpen = true, IsTransient = true, RetryAfter = broken.RetryAfter };
        }
        catch (TimeoutRejectedException timeout)
        {
            var which = timeout.Timeout == TimeSpan.FromSeconds(options.TimeoutSeconds) && options.TimeoutSeconds != options.TotalTimeoutSeconds
                ? $"{options.TimeoutSeconds} s attempt timeout"
                : $"{options.TotalTimeoutSeconds} s total timeout";
            throw new EmbeddingProviderException(provider, model, $"{describe} got no answer within the {which} ({AttemptsText(request)}).", innerException: timeout)
            { IsTransient = true };
        }
        catch (HttpRequestException http)
        {
            throw new EmbeddingProviderException(provider, model, $"{describe} failed ({AttemptsText(request)}): {http.Message}", (int?)http.StatusCode, http)
            { IsTransient = true };
        }

        if (!throwOnErrorStatus || response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            throw EmbeddingProviderException.FromStatus(provider, model, describe, response.StatusCode, body, AttemptHandler.Attempts(request), options.ApiKey);
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Embedding providers send asynchronously only.");

    private static string AttemptsText(HttpRequestMessage request) => AttemptHandler.Attempts(request) is 1 ? "1 attempt" : $"{AttemptHandler.Attempts(request)} attempts";
}
