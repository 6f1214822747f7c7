using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// Disposes the <see cref="HttpClient"/> that a library's generator was given (OllamaSharp and the OpenAI client leave a
/// client they did not create open) together with that generator.
/// </summary>
internal sealed class HttpClientOwner(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, HttpClient httpClient)
    : DelegatingEmbeddingGenerator<string, Embedding<float>>(innerGenerator)
{
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            httpClient.Dispose();
        }

        base.Dispose(disposing);
    }
}
