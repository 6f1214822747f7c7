using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace VectorPipeline.AppHost;

/// <summary>
/// The AppHost's parameters, read from the configuration section <c>Parameters</c> (command line
/// <c>--Parameters:name=value</c>, environment <c>Parameters__name</c>, appsettings.json or user secrets). They
/// are plain values because they decide the shape of the model (which resources exist, how many replicas).
/// Every bad value throws <see cref="AppHostConfigurationException"/> naming its key and what is allowed.
/// </summary>
public sealed record AppHostSettings
{
    /// <summary><c>Parameters:infrastructure</c>: <c>containers</c>, <c>local</c> or unset (probe).</summary>
    public string? Infrastructure { get; init; }

    /// <summary><c>Parameters:embed-worker-replicas</c>: Embed.Worker processes, 1 to 64; default 2.</summary>
    public int EmbedWorkerReplicas { get; init; } = 2;

    /// <summary><c>Parameters:embedding-provider</c>: passed to every service as <c>Embedding__Provider</c> when set.</summary>
    public string? EmbeddingProvider { get; init; }

    /// <summary><c>Parameters:embedding-model</c>: the Ollama model of the container kind; default <see cref="OllamaEmbeddingModels.Default"/>.</summary>
    public string EmbeddingModel { get; init; } = OllamaEmbeddingModels.Default;

    /// <summary><c>Parameters:embedding-dimensions</c>: the model's vector length; default from <see cref="OllamaEmbeddingModels.Dimensions"/>.</summary>
    public int EmbeddingDimensions { get; init; }

    /// <summary><c>Parameters:ollama-gpu</c>: <c>true</c> hands every GPU to the Ollama container (<c>--gpus all</c>); default false.</summary>
    public bool OllamaGpu { get; init; }

    /// <summary><c>Parameters:data-dir</c>: where the local kind keeps PostgreSQL and RabbitMQ data; default <c>.data</c> in the checkout.</summary>
    public required string DataDirectory { get; init; }

    /// <summary><c>Parameters:postgres-port</c>: the local PostgreSQL's port on 127.0.0.1; default 55432.</summary>
    public int PostgresPort { get; init; } = 55432;

    /// <summary><c>Parameters:messaging-port</c>: the local RabbitMQ's AMQP port on 127.0.0.1; default 55672 (its port mapper takes the next one).</summary>
    public int MessagingPort { get; init; } = 55672;

    /// <summary><c>Parameters:messaging-management-port</c>: the local RabbitMQ management UI's port; default 15672.</summary>
    public int MessagingManagementPort { get; init; } = 15672;

    /// <summary><c>Parameters:ingest-api-port</c>: default <see cref="StablePorts.IngestApi"/>.</summary>
    public int IngestApiPort { get; init; } = StablePorts.IngestApi;

    /// <summary><c>Parameters:search-api-port</c>: default <see cref="StablePorts.SearchApi"/>.</summary>
    public int SearchApiPort { get; init; } = StablePorts.SearchApi;

    /// <summary><c>Parameters:embed-worker-port</c>: default <see cref="StablePorts.EmbedWorker"/>.</summary>
    public int EmbedWorkerPort { get; init; } = StablePorts.EmbedWorker;

    /// <summary>Reads the settings; <paramref name="repositoryRoot"/> anchors the default data folder.</summary>
    public static AppHostSettings Read(IConfiguration configuration, string repositoryRoot)
    {
        var model = Text(configuration, "embedding-model") ?? OllamaEmbeddingModels.Default;
        var dimensions = Integer(configuration, "embedding-dimensions", 1, 65536)
            ?? (OllamaEmbeddingModels.Dimensions.TryGetValue(model, out var known)
                ? known
                : throw new AppHostConfigurationException(
                    $"The dimensions of the embedding model '{model}' are not known; set Parameters:embedding-dimensions."));
        return new AppHostSettings
        {
            Infrastructure = Text(configuration, "infrastructure"),
            EmbedWorkerReplicas = Integer(configuration, "embed-worker-replicas", 1, 64) ?? 2,
            EmbeddingProvider = Text(configuration, "embedding-provider"),
            EmbeddingModel = model,
            EmbeddingDimensions = dimensions,
            OllamaGpu = Boolean(configuration, "ollama-gpu") ?? false,
            DataDirectory = Path.GetFullPath(Text(configuration, "data-dir") ?? Path.Combine(repositoryRoot, ".data")),
            PostgresPort = Integer(configuration, "postgres-port", 1, 65535) ?? 55432,
            MessagingPort = Integer(configuration, "messaging-port", 1, 65534) ?? 55672,
            MessagingManagementPort = Integer(configuration, "messaging-management-port", 1, 65535) ?? 15672,
            IngestApiPort = Integer(configuration, "ingest-api-port", 1, 65535) ?? StablePorts.IngestApi,
            SearchApiPort = Integer(configuration, "search-api-port", 1, 65535) ?? StablePorts.SearchApi,
            EmbedWorkerPort = Integer(configuration, "embed-worker-port", 1, 65535) ?? StablePorts.EmbedWorker,
        };
    }

    private static string? Text(IConfiguration configuration, string name) =>
        configuration[$"Parameters:{name}"] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static int? Integer(IConfiguration configuration, string name, int min, int max)
    {
        if (Text(configuration, name) is not { } text)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new AppHostConfigurationException($"Parameters:{name} is '{text}'; allowed: a whole number from {min} to {max}.");
    }

    private static bool? Boolean(IConfiguration configuration, string name) => Text(configuration, name) switch
    {
        null => null,
        var text when bool.TryParse(text, out var value) => value,
        var text => throw new AppHostConfigurationException($"Parameters:{name} is '{text}'; allowed: true, false."),
    };
}
