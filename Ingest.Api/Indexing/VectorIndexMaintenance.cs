using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.Ingest.Indexing;

/// <summary>
/// Keeps each model's vector index in line with its configuration (<c>Embedding:Distance</c>,
/// <c>Embedding:Index</c>, <c>Embedding:HnswM</c>, <c>Embedding:HnswEfConstruction</c>,
/// <c>Embedding:IvfflatLists</c>): at start and every <see cref="VectorIndexOptions.CheckIntervalSeconds"/>,
/// a model whose index was built with other settings, or whose IVFFlat lists no longer fit its row count,
/// gets a new index built beside the old one and switched to without a pause in searches
/// (<see cref="VectorIndexBuilder.RebuildIndexAsync(int, VectorIndexSettings, IndexBuild, string, CancellationToken)"/>). Runs in Ingest.Api, the service that administers
/// models, and in the background, so a long build never holds up start-up or health probes.
/// </summary>
public sealed partial class VectorIndexMaintenance(
    EmbeddingModelCatalog catalog,
    EmbeddingModelStore models,
    VectorIndexBuilder indexes,
    IOptions<VectorIndexOptions> options,
    ILogger<VectorIndexMaintenance> logger) : BackgroundService
{
    /// <summary>
    /// The settings the model's index should have: those configured for it in this process, or, for a model
    /// configured elsewhere, the ones it was built with (IVFFlat lists recomputed from the row count).
    /// </summary>
    public VectorIndexSettings DesiredSettings(EmbeddingModel model) =>
        catalog.Find(model)?.Index ?? (model.Index.Method == VectorIndexMethod.IvfFlat ? model.Index with { IvfFlatLists = null } : model.Index);

    /// <summary>
    /// Rebuilds one model's index with <see cref="DesiredSettings"/> now, even when it already matches
    /// (for example after a bulk load into an IVFFlat model); returns when the new index is in use.
    /// </summary>
    /// <exception cref="ArgumentException">The desired settings are out of range.</exception>
    public Task<IndexBuildOutcome> RebuildAsync(EmbeddingModel model, CancellationToken cancellationToken) =>
        indexes.RebuildIndexAsync(model.Id, DesiredSettings(model), IndexBuild.Always, options.Value.BuildMemory, cancellationToken);

    /// <summary>One pass: every configured and registered model whose index is outdated is rebuilt, one at a time.</summary>
    /// <returns>Models whose index was rebuilt.</returns>
    public async Task<IReadOnlyList<EmbeddingModel>> CheckAsync(CancellationToken cancellationToken)
    {
        var rebuilt = new List<EmbeddingModel>();
        foreach (var configured in catalog.Models)
        {
            var model = (await models.FindAsync(configured.Key, cancellationToken));
            if (model is null)
            {
                continue;
            }

            var reason = await indexes.GetBuildReasonAsync(model, configured.Index, IndexBuild.WhenOutdated, cancellationToken);
            if (reason is null)
            {
                continue;
            }

            LogRebuilding(model.Key, reason);
            if (await indexes.RebuildIndexAsync(model.Id, configured.Index, IndexBuild.WhenOutdated, options.Value.BuildMemory, cancellationToken) == IndexBuildOutcome.Built)
            {
                rebuilt.Add(model);
            }
        }

        return rebuilt;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.CheckIntervalSeconds));
        do
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogCheckFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilding the vector index of model {Model}: {Reason}")]
    private partial void LogRebuilding(string model, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Vector index check failed; retrying at the next interval")]
    private partial void LogCheckFailed(Exception exception);
}
