using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.Embeddings.Onnx;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.Embeddings.Models;

/// <summary>
/// The embedding models a process is configured to use, read identically by the three services:
/// the primary model from the <c>Embedding</c> section (with <c>ConnectionStrings:embeddings</c>), and
/// further models from <c>Embedding:Models:{key}</c> sections (with <c>ConnectionStrings:{key}</c>), which
/// is how a process serves two models while one replaces the other. Which model searches use by default
/// is not configuration but database state (<see cref="EmbeddingModelStore"/>); the primary model only
/// becomes the active one on a database that has none.
/// </summary>
public sealed class EmbeddingModelCatalog
{
    /// <summary>Section of the primary model.</summary>
    public const string SectionName = "Embedding";

    /// <summary>Connection string name of the primary model's server (Aspire Ollama model resource <c>embeddings</c>).</summary>
    public const string ConnectionStringName = ResourceNames.Embeddings;

    /// <summary>Provider names.</summary>
    public static readonly IReadOnlyList<string> Providers = [OnnxModelDefinition.ProviderName, HashingEmbeddingGenerator.ProviderName, "ollama", "openai", "http"];

    private EmbeddingModelCatalog(IReadOnlyList<ModelEmbedder> models) => Models = models;

    /// <summary>Every configured model; the first is the primary one.</summary>
    public IReadOnlyList<ModelEmbedder> Models { get; }

    /// <summary>The primary model (<c>Embedding</c> section).</summary>
    public ModelEmbedder Primary => Models[0];

    /// <summary>The configured model with this name and dimensions, or null when this process has none.</summary>
    public ModelEmbedder? Find(EmbeddingModel model) =>
        Models.FirstOrDefault(m => m.Name == model.Name && m.Dimensions == model.Dimensions);

    /// <summary>Reads and checks the models from configuration.</summary>
    /// <param name="configuration">Application configuration.</param>
    /// <param name="loggerFactory">For the generators' retry and circuit breaker logs.</param>
    /// <exception cref="InvalidOperationException">
    /// A model's settings are missing or contradictory (unknown provider, no model name, dimensions or
    /// endpoint for a server provider, two entries for the same model); the message names the keys.
    /// </exception>
    public static EmbeddingModelCatalog FromConfiguration(IConfiguration configuration, ILoggerFactory loggerFactory)
    {
        var models = new List<ModelEmbedder>
        {
            Resolve(SectionName, configuration.GetSection(SectionName), configuration.GetConnectionString(ConnectionStringName), loggerFactory),
        };
        foreach (var section in configuration.GetSection($"{SectionName}:Models").GetChildren())
        {
            models.Add(Resolve($"{SectionName}:Models:{section.Key}", section, configuration.GetConnectionString(section.Key), loggerFactory));
        }

        var duplicate = models.GroupBy(m => m.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Model {duplicate.Key} is configured twice ({string.Join(", ", duplicate.Select(m => m.ConfigurationKey))}); a model is its name and dimensions.");
        }

        return new EmbeddingModelCatalog(models);
    }

    private static ModelEmbedder Resolve(string key, IConfigurationSection section, string? connectionString, ILoggerFactory loggerFactory)
    {
        var options = section.Get<EmbeddingModelOptions>() ?? new EmbeddingModelOptions();
        options.ConnectionString ??= connectionString;
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var parsed = new DbConnectionStringBuilder { ConnectionString = options.ConnectionString };
            if (parsed.TryGetValue("Endpoint", out var endpoint))
            {
                options.Endpoint ??= endpoint?.ToString();
            }

            if (parsed.TryGetValue("Model", out var model))
            {
                options.Model ??= model?.ToString();
            }
        }

        options.Provider = string.IsNullOrWhiteSpace(options.Provider)
            ? string.IsNullOrWhiteSpace(options.Endpoint) ? OnnxModelDefinition.ProviderName : "ollama"
            : options.Provider.Trim().ToLowerInvariant();
        if (!Providers.Contains(options.Provider))
        {
            throw new InvalidOperationException($"{key}:Provider is '{options.Provider}'; use one of: {string.Join(", ", Providers)}.");
        }

        if (options.Provider == OnnxModelDefinition.ProviderName)
        {
            var definition = OnnxModelDefinition.Resolve(options, key);
            options.Model = definition.Name;
            options.Dimensions = definition.Dimensions;
        }
        else if (options.Provider == HashingEmbeddingGenerator.ProviderName)
        {
            if (options.Model is not null && options.Model != HashingEmbeddingGenerator.ModelName)
            {
                throw new InvalidOperationException($"The hashing provider has one model, '{HashingEmbeddingGenerator.ModelName}'; {key}:Model is '{options.Model}'.");
            }

            options.Model = HashingEmbeddingGenerator.ModelName;
            options.Dimensions ??= 384;
        }
        else
        {
            var missing = new List<string>();
            if (string.IsNullOrWhiteSpace(options.Model))
            {
                missing.Add($"{key}:Model");
            }

            if (options.Dimensions is null)
            {
                missing.Add($"{key}:Dimensions");
            }

            if (string.IsNullOrWhiteSpace(options.Endpoint))
            {
                missing.Add($"{key}:Endpoint");
            }

            if (missing.Count > 0)
            {
                throw new InvalidOperationException(
                    $"The {options.Provider} embedding model needs {string.Join(", ", missing)} (or a connection string 'Endpoint=...;Model=...').");
            }

            if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new InvalidOperationException($"{key}:Endpoint '{options.Endpoint}' is not an absolute http(s) URL.");
            }
        }

        if (options.Dimensions is < 1 or > EmbeddingModelStore.MaxIndexedDimensions)
        {
            throw new InvalidOperationException(
                $"{key}:Dimensions is {options.Dimensions}; it must be between 1 and {EmbeddingModelStore.MaxIndexedDimensions} (pgvector's HNSW limit for the vector type).");
        }

        var (queryPrefix, documentPrefix) = KnownModelPrefixes.For(options.Model!);
        return new ModelEmbedder(key, options, options.QueryPrefix ?? queryPrefix, options.DocumentPrefix ?? documentPrefix,
            () => EmbeddingGeneratorFactory.Create(options, key, loggerFactory), ResolveIndex(key, options));
    }

    private static VectorIndexSettings ResolveIndex(string key, EmbeddingModelOptions options)
    {
        VectorIndexSettings index;
        try
        {
            index = new VectorIndexSettings(VectorIndexSettings.ParseDistance(options.Distance ?? "cosine"),
                VectorIndexSettings.ParseMethod(options.Index ?? "hnsw"), options.HnswM, options.HnswEfConstruction, options.IvfflatLists);
        }
        catch (ArgumentException e)
        {
            var setting = e.Message.StartsWith("Unknown distance", StringComparison.Ordinal) ? "Distance" : "Index";
            throw new InvalidOperationException($"{key}:{setting}: {e.Message}", e);
        }

        try
        {
            return index.Validate();
        }
        catch (ArgumentException e)
        {
            var setting = e.ParamName switch
            {
                nameof(VectorIndexSettings.HnswM) => "HnswM",
                nameof(VectorIndexSettings.HnswEfConstruction) => "HnswEfConstruction",
                _ => "IvfflatLists",
            };
            throw new InvalidOperationException($"{key}:{setting}: {e.Message}", e);
        }
    }
}
