using System.Net;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.ProviderTests;

/// <summary>What the resilience pipeline counts as worth retrying, and how answers are quoted in errors.</summary>
public sealed class ResiliencePolicyTests
{
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

        Assert.Equal(transient, EmbeddingHttpClient.IsTransientFailure(Polly.Outcome.FromResult(response)));
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
