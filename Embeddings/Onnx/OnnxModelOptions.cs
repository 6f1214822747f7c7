namespace VectorPipeline.Embeddings.Onnx;

/// <summary>
/// Settings of the <c>onnx</c> provider (section <c>Embedding:Onnx</c>, or <c>Embedding:Models:{key}:Onnx</c>): which
/// sentence-transformers ONNX export to run in-process and how. The built-in models need none of the file settings;
/// a model from a folder needs <see cref="ModelPath"/>, <see cref="TokenizerPath"/> (or the default file names beside
/// the model), <see cref="Pooling"/> and <c>Embedding:Dimensions</c>.
/// </summary>
public sealed class OnnxModelOptions
{
    /// <summary>
    /// The ONNX file of a model from a folder (for example <c>/models/bge-small/model.onnx</c>), or the folder itself
    /// (then <c>model.onnx</c>, else <c>onnx/model.onnx</c> inside it). Null for the built-in models.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>
    /// The WordPiece vocabulary of a model from a folder: a <c>vocab.txt</c> (one token per line, the line number is
    /// the id) or a Hugging Face <c>tokenizer.json</c> whose model is WordPiece. Null: <c>vocab.txt</c>, else
    /// <c>tokenizer.json</c>, in the model's folder (or its parent, for <c>onnx/model.onnx</c>).
    /// </summary>
    public string? TokenizerPath { get; set; }

    /// <summary>
    /// How token vectors become one sentence vector: <c>cls</c> (the first token's, for CLS-trained models such as
    /// snowflake-arctic-embed and BGE) or <c>mean</c> (the mean over the attention mask, for most sentence-transformers
    /// models such as all-MiniLM). Read it from the model's <c>1_Pooling/config.json</c>. Null: the built-in model's;
    /// required for a folder model.
    /// </summary>
    public string? Pooling { get; set; }

    /// <summary>L2-normalise the pooled vector (the model's <c>Normalize</c> module); true by default. Vectors are normalised again for storage either way.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>
    /// Longest input in word pieces, <c>[CLS]</c> and <c>[SEP]</c> and the prefix included (the model's
    /// <c>max_seq_length</c>); longer texts are cut. Null: the built-in model's (512 for arctic-embed-xs, 256 for
    /// all-minilm-l6-v2), 512 for a folder model. 8..8192.
    /// </summary>
    public int? MaxSequenceLength { get; set; }

    /// <summary>Lower-case (and strip accents) before WordPiece, as uncased BERT vocabularies need; true by default. Ignored for a <c>tokenizer.json</c>, which says so itself.</summary>
    public bool LowerCase { get; set; } = true;

    /// <summary>
    /// Threads one inference uses (ONNX Runtime intra-op threads), 1..64; 1 by default, so that one worker per core
    /// fills a machine without the workers' thread pools competing (see docs/benchmarks.md for 1 against 2).
    /// </summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>
    /// Inference runs of the model at once in one process, 1..256; the rest wait. Null (default): the machine's
    /// cores divided by <see cref="IntraOpThreads"/>, at least 1. With several workers on one machine, set it to their
    /// share of the cores (the AppHost does). Measured in docs/benchmarks-onnx.md (1, 2 and 4 runs at once on 2 cores).
    /// </summary>
    public int? MaxConcurrentRuns { get; set; }

    /// <summary>Texts per inference run, 1..256; 16 by default. Texts of similar length are grouped so that padding stays small.</summary>
    public int RunBatchSize { get; set; } = 16;

    /// <summary>
    /// <c>cpu</c> (default) or <c>cuda</c> (NVIDIA GPU through ONNX Runtime's CUDA execution provider; needs a build
    /// with <c>-p:OnnxRuntimeGpu=true</c>, the CUDA 12 runtime and cuDNN 9). A CUDA model that cannot start on the GPU
    /// stops the service; it never falls back to the CPU.
    /// </summary>
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>CUDA device ordinal for <c>cuda</c>, 0..63; 0 by default.</summary>
    public int CudaDeviceId { get; set; }
}
