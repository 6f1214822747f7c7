namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// The innermost handler of <see cref="EmbeddingHttpClient"/>, run once per attempt of the resilience pipeline: it
/// counts the attempt in the request's <see cref="HttpRequestMessage.Options"/> (<see cref="AttemptsKey"/>) and reads
/// the whole response body before the attempt ends, so that the attempt timeout also covers a body that stalls after
/// its headers.
/// </summary>
internal sealed class AttemptHandler : DelegatingHandler
{
    /// <summary>Request option: attempts made for this request so far (1 = no retry).</summary>
    public static readonly HttpRequestOptionsKey<int> AttemptsKey = new("VectorPipeline.Embeddings.Attempts");

    /// <summary>Attempts made for <paramref name="request"/>; 1 when none was counted (no resilience in the chain).</summary>
    public static int Attempts(HttpRequestMessage request) => request.Options.TryGetValue(AttemptsKey, out var attempts) ? attempts : 1;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.Set(AttemptsKey, (request.Options.TryGetValue(AttemptsKey, out var attempts) ? attempts : 0) + 1);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
