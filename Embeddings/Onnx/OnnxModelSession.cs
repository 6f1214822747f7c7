using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// One loaded model: its ONNX Runtime <see cref="InferenceSession"/>, the inputs it declares and the output that holds
/// the token vectors. There is one per process per <see cref="OnnxModelDefinition.SessionKey"/> (<see cref="Get"/>),
/// loaded on first use and kept for the life of the process; <see cref="InferenceSession.Run(IReadOnlyCollection{NamedOnnxValue})"/>
/// is thread-safe, so every request of every generator of the model shares it.
/// </summary>
public sealed class OnnxModelSession
{
    private static readonly ConcurrentDictionary<string, Lazy<OnnxModelSession>> Sessions = new();
    private static readonly ConcurrentDictionary<string, Lazy<OnnxTokenizer>> Tokenizers = new();

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string _outputName;
    private readonly SemaphoreSlim _runs;
    private int _running;
    private int _peakRunning;

    private OnnxModelSession(InferenceSession session, TimeSpan loadTime, int maxConcurrentRuns)
    {
        _session = session;
        LoadTime = loadTime;
        MaxConcurrentRuns = maxConcurrentRuns;
        _runs = new SemaphoreSlim(maxConcurrentRuns, maxConcurrentRuns);
        var inputs = session.InputMetadata.Keys.ToArray();
        foreach (var required in new[] { "input_ids", "attention_mask" })
        {
            if (!inputs.Contains(required))
            {
                throw new InvalidOperationException($"The model declares the inputs {string.Join(", ", inputs)}; a BERT-family export needs input_ids and attention_mask.");
            }
        }

        HasTokenTypeIds = inputs.Contains("token_type_ids");
        _inputNames = HasTokenTypeIds ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"];
        var outputs = session.OutputMetadata;
        _outputName = new[] { "last_hidden_state", "token_embeddings" }.FirstOrDefault(outputs.ContainsKey)
            ?? outputs.FirstOrDefault(o => o.Value.Dimensions.Length == 3).Key
            ?? throw new InvalidOperationException($"The model has no output of token vectors [batch, tokens, dimensions] (outputs: {string.Join(", ", outputs.Keys)}).");
        Dimensions = outputs[_outputName].Dimensions[^1];
    }

    /// <summary>Whether the model takes <c>token_type_ids</c> (all zeros: one segment).</summary>
    public bool HasTokenTypeIds { get; }

    /// <summary>Length of the token vectors the model declares (−1 when symbolic).</summary>
    public int Dimensions { get; }

    /// <summary>
    /// Runs of this session at once, at most (<see cref="OnnxModelDefinition.MaxConcurrentRuns"/> of the definition that
    /// loaded it); further callers wait. A worker embeds several batches at once so that database work overlaps the
    /// model, but more CPU-bound runs than cores only share the cores and thrash their caches.
    /// </summary>
    public int MaxConcurrentRuns { get; }

    /// <summary>The most runs that were in progress at once since the session was loaded (≤ <see cref="MaxConcurrentRuns"/>).</summary>
    public int PeakConcurrentRuns => Volatile.Read(ref _peakRunning);

    /// <summary>How long creating the session took.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>The session of <paramref name="definition"/>, loading it (once per process) if needed.</summary>
    /// <exception cref="InvalidOperationException">The model cannot be loaded, or CUDA was asked for and cannot start; the message names the setting.</exception>
    public static OnnxModelSession Get(OnnxModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var lazy = Sessions.GetOrAdd(definition.SessionKey, _ => new Lazy<OnnxModelSession>(() => Load(definition), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed load is not cached: the next call tries again (for example after a file appeared).
            Sessions.TryRemove(new KeyValuePair<string, Lazy<OnnxModelSession>>(definition.SessionKey, lazy));
            throw;
        }
    }

    /// <summary>Whether the session of <paramref name="definition"/> is loaded in this process.</summary>
    public static bool IsLoaded(OnnxModelDefinition definition) =>
        Sessions.TryGetValue(definition.SessionKey, out var lazy) && lazy.IsValueCreated;

    /// <summary>The tokenizer of <paramref name="definition"/> (one per process per vocabulary and limit); reads only the vocabulary, not the model.</summary>
    /// <exception cref="InvalidOperationException">The vocabulary cannot be read.</exception>
    public static OnnxTokenizer GetTokenizer(OnnxModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Tokenizers.GetOrAdd(definition.TokenizerKey, _ => new Lazy<OnnxTokenizer>(() => LoadTokenizer(definition))).Value;
    }

    /// <summary>
    /// Builds ONNX Runtime's session options for <paramref name="definition"/>: <see cref="OnnxModelDefinition.IntraOpThreads"/>
    /// intra-op threads without spinning (idle threads sleep, so that workers sharing cores do not take each other's
    /// time), one inter-op thread, every graph optimisation, and for CUDA the CUDA execution provider and nothing to
    /// fall back to silently.
    /// </summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for and this ONNX Runtime cannot provide it.</exception>
    public static SessionOptions CreateOptions(OnnxModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var options = new SessionOptions
        {
            IntraOpNumThreads = definition.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (definition.UseCuda)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(definition.CudaDeviceId);
                // Nodes that CUDA cannot run would otherwise go to the CPU without a word.
                options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                options.Dispose();
                throw CudaFailure(definition, e);
            }
        }

        return options;
    }

    /// <summary>
    /// Runs the model on one batch of encoded texts (<c>[CLS] … [SEP]</c> ids, any lengths; shorter ones are padded
    /// with <paramref name="paddingId"/> and masked) and pools each text, once one of the
    /// <see cref="MaxConcurrentRuns"/> run slots is free. The wait for a slot holds no thread (a caller beyond the
    /// slots must not block a thread-pool thread: with a few of them blocked, a 2-core service's I/O completions wait
    /// for the pool to grow, seconds on the tail); the run itself is CPU-bound on the calling thread.
    /// </summary>
    /// <returns>One vector per text, in the order given, pooled with <paramref name="pooling"/> and not normalised.</returns>
    /// <exception cref="OnnxRuntimeException">The run failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for a slot.</exception>
    public async Task<float[][]> RunAsync(IReadOnlyList<int[]> batch, OnnxPooling pooling, int paddingId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _runs.WaitAsync(cancellationToken).ConfigureAwait(false);
        var running = Interlocked.Increment(ref _running);
        for (var peak = Volatile.Read(ref _peakRunning); running > peak; peak = Volatile.Read(ref _peakRunning))
        {
            Interlocked.CompareExchange(ref _peakRunning, running, peak);
        }

        try
        {
            return RunInSlot(batch, pooling, paddingId);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _runs.Release();
        }
    }

    private float[][] RunInSlot(IReadOnlyList<int[]> batch, OnnxPooling pooling, int paddingId)
    {
        var rows = batch.Count;
        var length = batch.Max(ids => ids.Length);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        for (var r = 0; r < rows; r++)
        {
            var text = batch[r];
            var offset = r * length;
            for (var t = 0; t < length; t++)
            {
                var real = t < text.Length;
                ids[offset + t] = real ? text[t] : paddingId;
                mask[offset + t] = real ? 1 : 0;
            }
        }

        long[] shape = [rows, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = HasTokenTypeIds ? OrtValue.CreateTensorValueFromMemory(new long[rows * length], shape) : null;
        var inputs = HasTokenTypeIds ? new[] { idsValue, maskValue, typesValue! } : new[] { idsValue, maskValue };
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, _inputNames, inputs, [_outputName]);
        var output = outputs[0];
        var outputShape = output.GetTensorTypeAndShape().Shape;
        var dimensions = (int)outputShape[^1];
        var hidden = output.GetTensorDataAsSpan<float>();
        var vectors = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            vectors[r] = OnnxPoolingMath.Pool(pooling, hidden, r, length, dimensions, batch[r].Length);
        }

        return vectors;
    }

    private static OnnxModelSession Load(OnnxModelDefinition definition)
    {
        using var options = CreateOptions(definition);
        var watch = Stopwatch.StartNew();
        InferenceSession session;
        try
        {
            if (definition.BuiltIn is { } builtIn)
            {
                byte[] model;
                using (var stream = builtIn.Open("model.onnx"))
                {
                    model = new byte[stream.Length];
                    stream.ReadExactly(model);
                }

                session = new InferenceSession(model, options);
            }
            else
            {
                session = new InferenceSession(definition.ModelFile!, options);
            }
        }
        catch (OnnxRuntimeException e) when (definition.UseCuda)
        {
            throw CudaFailure(definition, e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException(
                $"The ONNX model {definition.Name} ({definition.ModelFile ?? definition.BuiltIn!.AssemblyPath}) cannot be loaded: {e.Message}", e);
        }

        var loaded = new OnnxModelSession(session, watch.Elapsed, definition.MaxConcurrentRuns);
        if (loaded.Dimensions > 0 && loaded.Dimensions != definition.Dimensions)
        {
            session.Dispose();
            throw new InvalidOperationException(
                $"The ONNX model {definition.Name} produces {loaded.Dimensions} dimensions; the configuration says {definition.Dimensions} (Dimensions beside {definition.SettingsPath}).");
        }

        return loaded;
    }

    private static OnnxTokenizer LoadTokenizer(OnnxModelDefinition definition)
    {
        try
        {
            if (definition.BuiltIn is { } builtIn)
            {
                using var vocab = builtIn.Open("vocab.txt");
                return OnnxTokenizer.FromVocab(vocab, definition.MaxSequenceLength);
            }

            using var file = File.OpenRead(definition.TokenizerFile!);
            return definition.TokenizerFile!.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? OnnxTokenizer.FromTokenizerJson(file, definition.MaxSequenceLength)
                : OnnxTokenizer.FromVocab(file, definition.MaxSequenceLength, definition.LowerCase);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The tokenizer of {definition.Name} ({definition.TokenizerFile ?? definition.BuiltIn!.AssemblyPath}, {definition.SettingsPath}:TokenizerPath) cannot be read: {e.Message}", e);
        }
    }

    private static InvalidOperationException CudaFailure(OnnxModelDefinition definition, Exception e) => new(
        $"{definition.SettingsPath}:ExecutionProvider is cuda, but the CUDA execution provider cannot run model {definition.Name} on device {definition.CudaDeviceId}: {e.Message} " +
        "It needs a build with -p:OnnxRuntimeGpu=true (Microsoft.ML.OnnxRuntime.Gpu.Linux), an NVIDIA GPU with its driver, CUDA 12 and cuDNN 9; " +
        $"without them set {definition.SettingsPath}:ExecutionProvider to cpu. The service does not fall back to the CPU.", e);
}
