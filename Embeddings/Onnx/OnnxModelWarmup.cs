using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VectorPipeline.Embeddings.Models;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// Loads the session of every configured <c>onnx</c> model when a service that embeds starts (Embed.Worker,
/// Search.Api), so that the first chunk or query does not wait about 2 s for the load and a model that cannot load
/// (a CUDA device that is missing, a broken file) stops the service at start. Services that only count tokens
/// (Ingest.Api) do not run it: they read the vocabulary, never the model.
/// </summary>
public sealed class OnnxModelWarmup(EmbeddingModelCatalog catalog, ILogger<OnnxModelWarmup> logger) : IHostedService
{
    /// <summary>Loads each <c>onnx</c> model's session (blocking; about 2 s per model on 2 cores) and logs the time it took.</summary>
    /// <exception cref="InvalidOperationException">A model cannot be loaded; the message names the setting.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var model in catalog.Models.Where(m => m.Provider == OnnxModelDefinition.ProviderName))
        {
            var generator = model.Generator.GetService<OnnxEmbeddingGenerator>()
                ?? throw new InvalidOperationException($"Model {model.Key} ({model.ConfigurationKey}) has no ONNX generator.");
            var alreadyLoaded = OnnxModelSession.IsLoaded(generator.Definition);
            var session = generator.WarmUp();
            logger.LogInformation("ONNX model {Model} ready ({Source}, {Provider}, {Threads} intra-op threads): {State} in {LoadMs} ms",
                model.Key, generator.Definition.ModelFile ?? "built in", generator.Definition.UseCuda ? "CUDA" : "CPU",
                generator.Definition.IntraOpThreads, alreadyLoaded ? "already loaded" : "loaded", (long)session.LoadTime.TotalMilliseconds);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
