using System.Text.Json;
using System.Text.Json.Nodes;
using VectorPipeline.Embeddings.Providers.Http;

namespace VectorPipeline.Embeddings.Providers.OpenAI;

/// <summary>
/// OpenAI's answer lists <c>data</c> items each with the <c>index</c> of its input, and servers may list them in any
/// order; the OpenAI client returns them as listed, and Microsoft.Extensions.AI keeps no index. So this outermost
/// handler of the <c>openai</c> client checks a 2xx answer before the client reads it: the indexes must be exactly
/// 0..n−1 (a repeated, missing or out-of-range index is an <see cref="EmbeddingProviderException"/>, not retried), and
/// items out of order are put in index order. Other answers pass unchanged.
/// </summary>
internal sealed class OpenAIDataOrderHandler(string model) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return response;
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (JsonNode.Parse(bytes) is not JsonObject root || root["data"] is not JsonArray data)
        {
            return response;
        }

        var ordered = new JsonNode?[data.Count];
        var reordered = false;
        for (var position = 0; position < data.Count; position++)
        {
            var index = data[position]?["index"] is JsonValue value && value.TryGetValue<int>(out var i) ? i : -1;
            if (index < 0 || index >= data.Count)
            {
                throw Invalid(request, response, $"an item of data has index {(index < 0 ? "(missing)" : index)}, outside 0..{data.Count - 1}");
            }

            if (ordered[index] is not null)
            {
                throw Invalid(request, response, $"index {index} appears twice in data");
            }

            ordered[index] = data[position];
            reordered |= index != position;
        }

        if (reordered)
        {
            data.Clear();
            foreach (var item in ordered)
            {
                data.Add(item);
            }

            var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(root));
            foreach (var header in response.Content.Headers)
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            content.Headers.ContentLength = null;
            response.Content = content;
        }

        return response;
    }

    private EmbeddingProviderException Invalid(HttpRequestMessage request, HttpResponseMessage response, string problem)
    {
        var status = (int)response.StatusCode;
        response.Dispose();
        return new EmbeddingProviderException(OpenAIProvider.ProviderName, model,
            $"{EmbeddingProviderException.Describe(request.Method, request.RequestUri)} answered {status} but {problem}.", status);
    }
}
