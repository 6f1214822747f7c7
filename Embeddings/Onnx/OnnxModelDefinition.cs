namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// One <c>onnx</c> model, checked and resolved from configuration: where its files are, how to tokenise, pool and
/// normalise, and how ONNX Runtime runs it. Built by <see cref="Resolve"/>; two definitions with the same
/// <see cref="SessionKey"/> share one <see cref="OnnxModelSession"/> in the process.
/// </summary>
public sealed class OnnxModelDefinition
{
    /// <summary>Provider name: <c>onnx</c>.</summary>
    public const string ProviderName = "onnx";

    private OnnxModelDefinition()
    {
    }

    /// <summary>Model name (a built-in name, or the configured name of a folder model).</summary>
    public required string Name { get; init; }

    /// <summary>Vector length.</summary>
    public required int Dimensions { get; init; }

    /// <summary>Pooling of the token vectors.</summary>
    public required OnnxPooling Pooling { get; init; }

    /// <summary>L2-normalise the pooled vector.</summary>
    public required bool Normalize { get; init; }

    /// <summary>Longest input in word pieces, special tokens and prefix included.</summary>
    public required int MaxSequenceLength { get; init; }

    /// <summary>The built-in model, or null for a folder model.</summary>
    public BuiltInOnnxModel? BuiltIn { get; init; }

    /// <summary>The ONNX file of a folder model (null for a built-in one).</summary>
    public string? ModelFile { get; init; }

    /// <summary>The <c>vocab.txt</c> or <c>tokenizer.json</c> of a folder model (null for a built-in one).</summary>
    public string? TokenizerFile { get; init; }

    /// <summary>Lower-case before WordPiece (<c>vocab.txt</c> only).</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>ONNX Runtime intra-op threads.</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Inference runs at once per process (<see cref="OnnxModelOptions.MaxConcurrentRuns"/> resolved), ≥ 1.</summary>
    public int MaxConcurrentRuns { get; init; } = 1;

    /// <summary>Texts per inference run.</summary>
    public int RunBatchSize { get; init; } = 16;

    /// <summary>Run on the GPU (CUDA execution provider) instead of the CPU.</summary>
    public bool UseCuda { get; init; }

    /// <summary>CUDA device ordinal.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>Configuration path of the <c>Onnx</c> settings, for messages (for example <c>Embedding:Onnx</c>).</summary>
    public string SettingsPath { get; init; } = "Embedding:Onnx";

    /// <summary>Identity of the loaded session: the model's files and how it runs.</summary>
    public string SessionKey => $"{BuiltIn?.Name ?? Path.GetFullPath(ModelFile!)}|{(UseCuda ? $"cuda:{CudaDeviceId}" : "cpu")}|{IntraOpThreads}";

    /// <summary>Identity of the tokenizer: its vocabulary, case and limit.</summary>
    public string TokenizerKey => $"{BuiltIn?.Name ?? Path.GetFullPath(TokenizerFile!)}|{LowerCase}|{MaxSequenceLength}";

    /// <summary>
    /// Checks the <c>onnx</c> settings of <paramref name="options"/>. <see cref="EmbeddingModelOptions.Model"/> null or
    /// blank means <c>arctic-embed-xs</c>; a built-in name takes the built-in model's pooling, sequence length and 384
    /// dimensions (a configured value must agree; MaxSequenceLength may be lower); any other name needs
    /// <c>Onnx:ModelPath</c>, <c>Onnx:Pooling</c> and <c>Dimensions</c>, and every file must exist. Reads no file.
    /// </summary>
    /// <param name="options">The model's options.</param>
    /// <param name="prefix">Configuration path of the model, for example <c>Embedding</c>.</param>
    /// <exception cref="InvalidOperationException">A setting is missing or out of range, or a file is missing; the message names the file and the key.</exception>
    public static OnnxModelDefinition Resolve(EmbeddingModelOptions options, string prefix)
    {
        ArgumentNullException.ThrowIfNull(options);
        var onnx = options.Onnx ?? new OnnxModelOptions();
        var path = $"{prefix}:Onnx";
        Range(path, nameof(onnx.IntraOpThreads), onnx.IntraOpThreads, 1, 64);
        Range(path, nameof(onnx.RunBatchSize), onnx.RunBatchSize, 1, 256);
        if (onnx.MaxConcurrentRuns is { } runs)
        {
            Range(path, nameof(onnx.MaxConcurrentRuns), runs, 1, 256);
        }

        var maxConcurrentRuns = onnx.MaxConcurrentRuns ?? Math.Max(1, Environment.ProcessorCount / onnx.IntraOpThreads);
        Range(path, nameof(onnx.CudaDeviceId), onnx.CudaDeviceId, 0, 63);
        var executionProvider = (onnx.ExecutionProvider ?? "cpu").Trim().ToLowerInvariant();
        if (executionProvider is not ("cpu" or "cuda"))
        {
            throw new InvalidOperationException($"{path}:ExecutionProvider must be cpu or cuda; it is '{onnx.ExecutionProvider}'.");
        }

        if (onnx.MaxSequenceLength is { } configuredLength)
        {
            Range(path, nameof(onnx.MaxSequenceLength), configuredLength, 8, 8192);
        }

        OnnxPooling? pooling = null;
        if (!string.IsNullOrWhiteSpace(onnx.Pooling))
        {
            try
            {
                pooling = OnnxPoolingMath.Parse(onnx.Pooling);
            }
            catch (ArgumentException)
            {
                throw new InvalidOperationException($"{path}:Pooling must be cls or mean; it is '{onnx.Pooling}'.");
            }
        }

        var name = string.IsNullOrWhiteSpace(options.Model) && string.IsNullOrWhiteSpace(onnx.ModelPath)
            ? BuiltInOnnxModels.ArcticEmbedXs.Name
            : options.Model?.Trim();
        var builtIn = BuiltInOnnxModels.Find(name);
        if (builtIn is not null)
        {
            if (!string.IsNullOrWhiteSpace(onnx.ModelPath) || !string.IsNullOrWhiteSpace(onnx.TokenizerPath))
            {
                throw new InvalidOperationException(
                    $"{prefix}:Model '{builtIn.Name}' is a built-in model; {path}:ModelPath and TokenizerPath are for a model from a folder (give it another name).");
            }

            if (options.Dimensions is { } dimensions && dimensions != builtIn.Dimensions)
            {
                throw new InvalidOperationException($"{prefix}:Dimensions is {dimensions}; the built-in model {builtIn.Name} produces {builtIn.Dimensions}.");
            }

            if (pooling is { } p && p != builtIn.Pooling)
            {
                throw new InvalidOperationException($"{path}:Pooling is {onnx.Pooling}; the built-in model {builtIn.Name} was trained with {builtIn.Pooling.ToString().ToLowerInvariant()} pooling.");
            }

            if (onnx.MaxSequenceLength > builtIn.MaxSequenceLength)
            {
                throw new InvalidOperationException($"{path}:MaxSequenceLength is {onnx.MaxSequenceLength}; the built-in model {builtIn.Name} takes at most {builtIn.MaxSequenceLength} word pieces.");
            }

            return new OnnxModelDefinition
            {
                Name = builtIn.Name,
                Dimensions = builtIn.Dimensions,
                Pooling = builtIn.Pooling,
                Normalize = onnx.Normalize,
                MaxSequenceLength = onnx.MaxSequenceLength ?? builtIn.MaxSequenceLength,
                BuiltIn = builtIn,
                IntraOpThreads = onnx.IntraOpThreads,
                RunBatchSize = onnx.RunBatchSize,
                MaxConcurrentRuns = maxConcurrentRuns,
                UseCuda = executionProvider == "cuda",
                CudaDeviceId = onnx.CudaDeviceId,
                SettingsPath = path,
            };
        }

        if (string.IsNullOrWhiteSpace(onnx.ModelPath))
        {
            throw new InvalidOperationException(
                $"{prefix}:Model '{name}' is not a built-in model ({string.Join(", ", BuiltInOnnxModels.All.Select(m => m.Name))}); a model from a folder needs {path}:ModelPath (its .onnx file or folder).");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw new InvalidOperationException($"{prefix}:Model is required for a model from a folder ({path}:ModelPath): the name its vectors are stored under.");
        }

        if (options.Dimensions is not { } folderDimensions)
        {
            throw new InvalidOperationException($"{prefix}:Dimensions is required for the model from {path}:ModelPath (the vector length of model '{name}').");
        }

        if (pooling is not { } folderPooling)
        {
            throw new InvalidOperationException($"{path}:Pooling is required for a model from a folder: cls or mean, as its 1_Pooling/config.json says.");
        }

        var modelFile = FindModelFile(onnx.ModelPath, $"{path}:ModelPath");
        var tokenizerFile = FindTokenizerFile(onnx.TokenizerPath, modelFile, $"{path}:TokenizerPath");
        return new OnnxModelDefinition
        {
            Name = name,
            Dimensions = folderDimensions,
            Pooling = folderPooling,
            Normalize = onnx.Normalize,
            MaxSequenceLength = onnx.MaxSequenceLength ?? 512,
            ModelFile = modelFile,
            TokenizerFile = tokenizerFile,
            LowerCase = onnx.LowerCase,
            IntraOpThreads = onnx.IntraOpThreads,
            RunBatchSize = onnx.RunBatchSize,
            MaxConcurrentRuns = maxConcurrentRuns,
            UseCuda = executionProvider == "cuda",
            CudaDeviceId = onnx.CudaDeviceId,
            SettingsPath = path,
        };
    }

    private static string FindModelFile(string configured, string key)
    {
        var full = Path.GetFullPath(configured);
        if (File.Exists(full))
        {
            return full;
        }

        if (Directory.Exists(full))
        {
            foreach (var candidate in new[] { Path.Combine(full, "model.onnx"), Path.Combine(full, "onnx", "model.onnx") })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException($"{key}: the folder {full} holds neither model.onnx nor onnx/model.onnx; name the .onnx file in {key}.");
        }

        throw new InvalidOperationException($"{key}: the model file {full} does not exist.");
    }

    private static string FindTokenizerFile(string? configured, string modelFile, string key)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var full = Path.GetFullPath(configured);
            return File.Exists(full) ? full : throw new InvalidOperationException($"{key}: the tokenizer file {full} does not exist.");
        }

        var folder = Path.GetDirectoryName(modelFile)!;
        var folders = Path.GetFileName(folder) == "onnx" ? new[] { folder, Path.GetDirectoryName(folder)! } : [folder];
        foreach (var name in new[] { "vocab.txt", "tokenizer.json" })
        {
            foreach (var candidate in folders.Select(f => Path.Combine(f, name)))
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException(
            $"{key}: no vocab.txt or tokenizer.json was found beside the model ({string.Join(", ", folders)}); set {key} to the model's vocab.txt or tokenizer.json.");
    }

    private static void Range(string path, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new InvalidOperationException($"{path}:{name} must be between {min} and {max}; it is {value}.");
        }
    }
}
