namespace VectorPipeline;

/// <summary>
/// Names of the resources the services reach, shared by the Aspire AppHost (which declares them) and the
/// services (which read the connection strings named after them). Aspire hands a referenced resource to a
/// project as <c>ConnectionStrings__{name}</c>; the Kubernetes manifests use the same keys.
/// </summary>
/// <remarks>
/// This file has no dependencies: AppHost compiles it through a linked <c>Compile</c> item, the service
/// libraries through the <c>ResourceNames</c> project. Resource names are lowercase with single hyphens.
/// </remarks>
public static class ResourceNames
{
    /// <summary>The AppHost's local-kind step that installs missing Debian packages (<c>eng/install-prereqs.sh</c>) before the servers start.</summary>
    public const string Prerequisites = "prerequisites";

    /// <summary>The PostgreSQL server (container <c>pgvector/pgvector:pg17</c>, or the local PostgreSQL 15 executable).</summary>
    public const string Postgres = "postgres";

    /// <summary>The PostgreSQL database with pgvector; connection string <c>ConnectionStrings:vectordb</c> (Npgsql format).</summary>
    public const string VectorDb = "vectordb";

    /// <summary>The RabbitMQ broker; connection string <c>ConnectionStrings:messaging</c> (<c>amqp://user:password@host:port</c>).</summary>
    public const string Messaging = "messaging";

    /// <summary>The Ollama server.</summary>
    public const string Ollama = "ollama";

    /// <summary>The primary embedding model; connection string <c>ConnectionStrings:embeddings</c> (<c>Endpoint=http://host:port;Model=name</c>).</summary>
    public const string Embeddings = "embeddings";

    /// <summary>The Ingest.Api project.</summary>
    public const string IngestApi = "ingest-api";

    /// <summary>The Embed.Worker project (several replicas).</summary>
    public const string EmbedWorker = "embed-worker";

    /// <summary>The Search.Api project.</summary>
    public const string SearchApi = "search-api";
}

/// <summary>
/// Configuration keys, in environment-variable form (<c>__</c> for <c>:</c>), that the AppHost and the
/// deployment manifests give the services beyond the connection strings.
/// </summary>
public static class ConfigurationKeys
{
    /// <summary>Prefix of a connection string in environment form; the key is the prefix plus the resource name.</summary>
    public const string ConnectionStringPrefix = "ConnectionStrings__";

    /// <summary>Vector length of the primary model; required for every provider except the built-in onnx and hashing ones.</summary>
    public const string EmbeddingDimensions = "Embedding__Dimensions";

    /// <summary>The primary model's provider; the AppHost sets it only when its parameter <c>embedding-provider</c> is set.</summary>
    public const string EmbeddingProvider = "Embedding__Provider";

    /// <summary>OTLP endpoint; the services export telemetry only when it is set (Aspire sets it to the dashboard).</summary>
    public const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The <c>service.name</c> of every signal (Aspire sets it to the resource name).</summary>
    public const string OtelServiceName = "OTEL_SERVICE_NAME";

    /// <summary>Extra resource attributes (Aspire sets <c>service.instance.id</c>, one per replica).</summary>
    public const string OtelResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES";

    /// <summary>The environment form of the connection string of <paramref name="resourceName"/>.</summary>
    public static string ConnectionString(string resourceName) => ConnectionStringPrefix + resourceName;
}

/// <summary>The Ollama embedding models the AppHost knows the dimensions of, and its default.</summary>
public static class OllamaEmbeddingModels
{
    /// <summary>The default model: small (about 46 MB) and quick to pull.</summary>
    public const string Default = "all-minilm";

    /// <summary>Vector length per Ollama model name; the services need it as <see cref="ConfigurationKeys.EmbeddingDimensions"/>.</summary>
    public static IReadOnlyDictionary<string, int> Dimensions { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["all-minilm"] = 384,
        ["nomic-embed-text"] = 768,
        ["mxbai-embed-large"] = 1024,
    };
}
