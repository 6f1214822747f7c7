namespace VectorPipeline.Embeddings;

/// <summary>
/// How to reach one embedding model and what it produces. The primary model is the <c>Embedding</c>
/// section itself (environment form <c>Embedding__Provider</c>, <c>Embedding__Model</c>, ...); further
/// models a process can embed with (during a model change) are <c>Embedding:Models:{key}</c> sections
/// with the same keys. See <see cref="Models.EmbeddingModelCatalog"/>.
/// </summary>
public sealed class EmbeddingModelOptions
{
    /// <summary>
    /// <c>onnx</c> (a sentence-transformers model in-process, the default), <c>hashing</c> (built in, lexical), <c>ollama</c> (<c>POST /api/embed</c>), <c>openai</c>
    /// (OpenAI-compatible <c>POST /v1/embeddings</c>) or <c>http</c> (custom <c>/embed</c>, <c>/batch_embed</c>).
    /// Empty: <c>ollama</c> when a connection string names an endpoint, else <c>onnx</c> (the built-in model).
    /// </summary>
    public string? Provider { get; set; }

    /// <summary>Model name as the server knows it (for example <c>nomic-embed-text</c>). Required except for <c>hashing</c> and <c>onnx</c> (<c>arctic-embed-xs</c> by default).</summary>
    public string? Model { get; set; }

    /// <summary>Vector length the model produces, 1..2000. Required except for <c>hashing</c> (384 by default) and the built-in <c>onnx</c> models (384).</summary>
    public int? Dimensions { get; set; }

    /// <summary>
    /// Base address of the model server (for <c>openai</c> the part before <c>/v1/embeddings</c>, for example
    /// <c>https://api.openai.com</c>; a trailing <c>/v1</c> is accepted too).
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// Aspire-style connection string <c>Endpoint=http://host:11434;Model=name</c>; its values fill
    /// <see cref="Endpoint"/> and <see cref="Model"/> when those are not set. For the primary model it comes
    /// from <c>ConnectionStrings:embeddings</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Bearer token sent as <c>Authorization: Bearer …</c> (<c>openai</c>, <c>http</c>); never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Text put before every query (for example <c>search_query: </c>). Null: the known default for the model, else none.</summary>
    public string? QueryPrefix { get; set; }

    /// <summary>Text put before every chunk (for example <c>search_document: </c>). Null: the known default for the model, else none.</summary>
    public string? DocumentPrefix { get; set; }

    /// <summary>Most texts in one request to the server, 1..2048; 64 by default.</summary>
    public int MaxBatchItems { get; set; } = 64;

    /// <summary>Most characters (all texts of one request together, prefixes included), 1..10,000,000; 60,000 by default.</summary>
    public int MaxBatchChars { get; set; } = 60_000;

    /// <summary>
    /// Most estimated tokens in one request (estimate: characters / 4, rounded up, per text); null = no token
    /// budget beyond <see cref="MaxBatchChars"/>.
    /// </summary>
    public int? MaxBatchTokens { get; set; }

    /// <summary>Time limit of one HTTP attempt, in seconds, 1..600; 30 by default.</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Time limit of one call, all attempts and the waits between them, in seconds, TimeoutSeconds..3600; 300 by default.</summary>
    public int TotalTimeoutSeconds { get; set; } = 300;

    /// <summary>Retries of a failed request (429, 5xx, timeout, connection error), 0..10; 4 by default.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay in milliseconds (then doubled with jitter), 1..60,000; 500 by default. <c>Retry-After</c> wins when the server sends it.</summary>
    public int RetryBaseDelayMs { get; set; } = 500;

    /// <summary>How long the circuit breaker stays open after too many failures, in seconds, 1..3600; 30 by default.</summary>
    public int BreakDurationSeconds { get; set; } = 30;

    /// <summary>Ollama only: let the server cut texts longer than the model's context (<c>truncate</c>); true by default.</summary>
    public bool Truncate { get; set; } = true;

    /// <summary>Ollama only: how long the server keeps the model loaded (<c>keep_alive</c>, for example <c>5m</c>); null = server default.</summary>
    public string? KeepAlive { get; set; }

    /// <summary>OpenAI only: send <c>dimensions</c> in the request (models that can shorten their vectors, such as text-embedding-3-*); false by default.</summary>
    public bool SendDimensions { get; set; }

    /// <summary>
    /// Distance the model's vectors are indexed and searched with: <c>cosine</c> (default), <c>l2</c> or
    /// <c>inner_product</c>. Vectors are unit length, so all three rank alike; the score differs
    /// (cosine similarity, 1 / (1 + L2 distance), inner product).
    /// </summary>
    public string Distance { get; set; } = "cosine";

    /// <summary>Index method: <c>hnsw</c> (default) or <c>ivfflat</c> (smaller and faster to build, lower recall).</summary>
    public string Index { get; set; } = "hnsw";

    /// <summary>HNSW <c>m</c> (links per node), 2..100; 16 by default.</summary>
    public int HnswM { get; set; } = VectorStore.Indexing.VectorIndexSettings.DefaultHnswM;

    /// <summary>HNSW <c>ef_construction</c> (candidate list while building), 4..1000 and at least 2 × m; 64 by default.</summary>
    public int HnswEfConstruction { get; set; } = VectorStore.Indexing.VectorIndexSettings.DefaultHnswEfConstruction;

    /// <summary>The <c>onnx</c> provider's model files and run settings (<c>Onnx</c> subsection); unused by the other providers.</summary>
    public Onnx.OnnxModelOptions Onnx { get; set; } = new();

    /// <summary>IVFFlat <c>lists</c>, 1..32768; null (default) = rows / 1000 up to 1M rows, √rows above, computed when the index is built.</summary>
    public int? IvfflatLists { get; set; }
}
