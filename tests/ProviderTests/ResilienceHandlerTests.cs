using System.Net;
using System.Net.Http.Headers;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.ProviderTests;

public sealed class ResilienceHandlerTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static HttpResponseMessage Answer(HttpStatusCode status, Action<HttpResponseHeaders>? headers = null)
    {
        var response = new HttpResponseMessage(status);
        headers?.Invoke(response.Headers);
        return response;
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests, 7, 7)]
    [InlineData(HttpStatusCode.ServiceUnavailable, 0, 0)]
    [InlineData(HttpStatusCode.TooManyRequests, 3600, 60)]
    public void Retry_After_in_delta_seconds_is_used_and_capped_at_60_s(HttpStatusCode status, int seconds, int expected)
    {
        using var response = Answer(status, h => h.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds)));

        Assert.Equal(TimeSpan.FromSeconds(expected), EmbeddingResilienceHandler.RetryAfterDelay(response, new FixedClock(Now)));
    }

    [Theory]
    [InlineData(12, 12)]
    [InlineData(-30, 0)]
    [InlineData(600, 60)]
    public void Retry_After_as_an_http_date_counts_from_now(int secondsAhead, int expected)
    {
        using var response = Answer(HttpStatusCode.ServiceUnavailable, h => h.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(secondsAhead)));

        Assert.Equal(TimeSpan.FromSeconds(expected), EmbeddingResilienceHandler.RetryAfterDelay(response, new FixedClock(Now)));
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    public void Retry_After_is_ignored_on_other_statuses(HttpStatusCode status)
    {
        using var response = Answer(status, h => h.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(5)));

        Assert.Null(EmbeddingResilienceHandler.RetryAfterDelay(response, new FixedClock(Now)));
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(413, false)]
    [InlineData(422, false)]
    [InlineData(501, false)]
    public void Transient_statuses(int status, bool transient)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);

        Assert.Equal(transient, EmbeddingResilienceHandler.IsTransientFailure(Polly.Outcome.FromResult(response)));
    }

    [Fact]
    public void Response_excerpts_are_short_single_line_and_mask_the_key()
    {
        var body = System.Text.Encoding.UTF8.GetBytes("{\n  \"error\": \"bad key sk-abc\",\n  \"padding\": \"" + new string('p', 1000) + "\"\n}");

        var excerpt = EmbeddingProviderException.Excerpt(body, "sk-abc");

        Assert.StartsWith("{ \"error\": \"bad key ***\", \"padding\"", excerpt);
        Assert.Equal(EmbeddingProviderException.MaxBodyExcerptChars + 1, excerpt.Length);
        Assert.EndsWith("…", excerpt);
        Assert.DoesNotContain("\n", excerpt);
    }
}
