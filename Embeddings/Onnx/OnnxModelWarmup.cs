using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VectorPipeline.Embeddings.Models;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// Loads the session of every configured <c>onnx</c> model as soon as a service that embeds has started (Embed.Worker,
/// Search.Api), in the background, so that the first chunk or query does not pay for the load (about 2 s on an idle
/// 2-core machine, much longer on a busy one) and <c>/health</c> answers meanwhile (a first request waits for the
/// load). A model that cannot load stops the service with exit code 1 and the reason in a critical log line; a build
/// without CUDA asked for <c>cuda</c> has already stopped it earlier, when the generator was built. Services that only
/// count tokens (Ingest.Api) do not run it: they read the vocabulary, never the model.
/// </summary>
public sealed class OnnxModelWarmup(EmbeddingModelCatalog catalog, IHostApplicationLifetime lifetime, ILogger<OnnxModelWarmup> logger) : IHostedService
{
    private Task? _loading;

    /// <summary>The background load (completed when every model is loaded or one failed); null before start.</summary>
    public Task? Loading => _loading;

    /// <summary>Starts loading each <c>onnx</c> model's session on a thread-pool thread and returns at once.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loading = Task.Run(Load, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Load()
    {
        foreach (var model in catalog.Models.Where(m => m.Provider == OnnxModelDefinition.ProviderName))
        {
            try
            {
                var generator = model.Generator.GetService<OnnxEmbeddingGenerator>()
                    ?? throw new InvalidOperationException($"Model {model.Key} ({model.ConfigurationKey}) has no ONNX generator.");
                var alreadyLoaded = OnnxModelSession.IsLoaded(generator.Definition);
                var session = generator.WarmUp();
                logger.LogInformation("ONNX model {Model} ready ({Source}, {Provider}, {Threads} intra-op threads): {State} in {LoadMs} ms",
                    model.Key, generator.Definition.ModelFile ?? "built in", generator.Definition.UseCuda ? "CUDA" : "CPU",
                    generator.Definition.IntraOpThreads, alreadyLoaded ? "already loaded" : "loaded", (long)session.LoadTime.TotalMilliseconds);
            }
            catch (Exception e)
            {
                logger.LogCritical(e, "ONNX model {Model} ({ConfigurationKey}) cannot be loaded; stopping: {Reason}", model.Key, model.ConfigurationKey, e.Message);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
        }
    }
}
