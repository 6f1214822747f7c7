using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Embeddings.Onnx;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// The default of <see cref="EmbedBatchOptions.ConcurrencyLimit"/> when <c>Embedding:ConcurrencyLimit</c> is not
/// configured and every configured model is the in-process <c>onnx</c> provider: the session's run slots
/// (<see cref="OnnxModelDefinition.MaxConcurrentRuns"/>, the largest over the models) plus one. One batch per slot
/// keeps the model busy, and one more reads its chunks or writes its vectors meanwhile. Further batches only wait for a
/// slot, and their runs then alternate on it with the others'. Measured in part 7 (bench/onnx-notes.md, "Where the rest
/// of the cores go"): at 2 workers of 1 slot each, 4 batches in flight cost the workers 115-122 % of the raw process's
/// CPU for the same texts, 2 batches 100-104 %. With a model server among the models the limit stays 4, which overlaps
/// the server's latency (docs/benchmarks.md, model-bound efficiency).
/// </summary>
public sealed class BatchConcurrencyDefault(IConfiguration configuration, EmbeddingModelCatalog catalog) : IPostConfigureOptions<EmbedBatchOptions>
{
    /// <summary>Sets <see cref="EmbedBatchOptions.ConcurrencyLimit"/> as described above; leaves a configured value alone.</summary>
    public void PostConfigure(string? name, EmbedBatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(configuration[$"{EmbedBatchOptions.SectionName}:{nameof(EmbedBatchOptions.ConcurrencyLimit)}"]))
        {
            return;
        }

        var onnx = catalog.Models.Select(m => m.Generator.GetService<OnnxEmbeddingGenerator>()).ToList();
        if (onnx.Count > 0 && onnx.All(g => g is not null))
        {
            options.ConcurrencyLimit = Math.Min(64, onnx.Max(g => g!.Definition.MaxConcurrentRuns) + 1);
        }
    }
}
