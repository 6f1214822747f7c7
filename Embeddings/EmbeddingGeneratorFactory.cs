using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.Embeddings.Onnx;
using VectorPipeline.Embeddings.Pipeline;
using VectorPipeline.Embeddings.Providers.CustomHttp;
using VectorPipeline.Embeddings.Providers.Http;
using VectorPipeline.Embeddings.Providers.Ollama;
using VectorPipeline.Embeddings.Providers.OpenAI;

namespace VectorPipeline.Embeddings;

/// <summary>
/// Builds the embedding generator of one model: the provider (the in-process ONNX model (<see cref="OnnxModelDefinition"/>), <see cref="HashingEmbeddingGenerator"/>,
/// OllamaSharp's client (<see cref="OllamaProvider"/>), the OpenAI client (<see cref="OpenAIProvider"/>) or
/// <see cref="CustomHttpEmbeddingGenerator"/>), wrapped as OpenTelemetry(<see cref="EmbeddingTelemetry"/>(
/// <see cref="ValidatingEmbeddingGenerator"/>(<see cref="BatchingEmbeddingGenerator"/>(provider)))): Microsoft.Extensions.AI's
/// <c>UseOpenTelemetry()</c> makes one <c>embeddings {model}</c> span per call with the GenAI semantic conventions. HTTP
/// providers get their own <see cref="HttpClient"/> from <see cref="EmbeddingHttpClient.Create"/> (retry, circuit
/// breaker, attempt and total timeouts). Disposing the returned generator disposes that client.
/// </summary>
public static class EmbeddingGeneratorFactory
{
    /// <summary>Configuration section whose keys are named in validation messages by <see cref="Create(EmbeddingModelOptions, ILoggerFactory, TimeProvider?)"/>.</summary>
    public const string DefaultSettingsPrefix = "Embedding";

    /// <summary>Provider names <see cref="Create(EmbeddingModelOptions, ILoggerFactory, TimeProvider?)"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Providers =
        [OnnxModelDefinition.ProviderName, HashingEmbeddingGenerator.ProviderName, OllamaProvider.ProviderName, OpenAIProvider.ProviderName, CustomHttpEmbeddingGenerator.ProviderName];

    /// <summary>Logger category of retry and circuit-breaker events.</summary>
    public const string LoggerCategory = "VectorPipeline.Embeddings.Resilience";

    /// <summary>
    /// Validates <paramref name="options"/> and builds the generator, naming settings as <c>Embedding:Key</c>.
    /// See <see cref="Create(EmbeddingModelOptions, string, ILoggerFactory, TimeProvider?)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is missing or out of range; the message names it.</exception>
    public static IEmbeddingGenerator<string, Embedding<float>> Create(
        EmbeddingModelOptions options, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null) =>
        Create(options, DefaultSettingsPrefix, loggerFactory, timeProvider);

    /// <summary>
    /// Validates <paramref name="options"/> and builds validating(batching(provider)).
    /// <see cref="IEmbeddingGenerator.GetService"/> for <see cref="EmbeddingGeneratorMetadata"/> on the result gives
    /// ProviderName = provider, DefaultModelId = model, DefaultModelDimensions = dimensions and ProviderUri = endpoint
    /// (null for <c>hashing</c>).
    /// </summary>
    /// <param name="options">
    /// <see cref="EmbeddingModelOptions.Provider"/> lower-case, one of <c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c>, <c>http</c>.
    /// <c>onnx</c>: see <see cref="OnnxModelDefinition.Resolve"/> (built-in or folder model; <c>Onnx</c> settings); Endpoint ignored.
    /// <c>hashing</c>: Model null or <c>hashing-ngram-v1</c>, Dimensions 16..2000 (384 when null); Endpoint ignored.
    /// Others: Model required, Dimensions 1..2000 required, Endpoint an absolute http(s) URL. Ranges:
    /// MaxBatchItems 1..2048, MaxBatchChars 1..10,000,000, MaxBatchTokens null or 1..10,000,000, TimeoutSeconds 1..600, TotalTimeoutSeconds TimeoutSeconds..3600,
    /// MaxRetries 0..10, RetryBaseDelayMs 1..60,000, BreakDurationSeconds 1..3600; ApiKey and KeepAlive without line breaks.
    /// </param>
    /// <param name="settingsPrefix">Configuration path named in messages, for example <c>Embedding</c> or <c>Embedding:Models:next</c>.</param>
    /// <param name="loggerFactory">Source of the logger for retries (Warning) and circuit open (Error) / close (Information).</param>
    /// <param name="timeProvider">Clock of the retry delays, timeouts and circuit breaker; null = <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="InvalidOperationException">A setting is missing or out of range; the message names it (for example
    /// "Embedding:MaxBatchItems must be between 1 and 2048; it is 0.").</exception>
    public static IEmbeddingGenerator<string, Embedding<float>> Create(
        EmbeddingModelOptions options, string settingsPrefix, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(settingsPrefix);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var (provider, model, dimensions, endpoint) = Validate(options, settingsPrefix);

        IEmbeddingGenerator<string, Embedding<float>> inner;
        Func<string, long>? countTokens = null;
        if (provider == OnnxModelDefinition.ProviderName)
        {
            var definition = OnnxModelDefinition.Resolve(options, settingsPrefix);
            OnnxModelSession.CreateOptions(definition).Dispose(); // a build without CUDA stops the service here, not at the first text
            var onnx = new OnnxEmbeddingGenerator(definition);
            inner = onnx;
            countTokens = text => onnx.Tokenizer.CountTokens(text);
        }
        else if (provider == HashingEmbeddingGenerator.ProviderName)
        {
            inner = new HashingEmbeddingGenerator(dimensions);
        }
        else
        {
            // The custom provider reads error answers itself (a 404 of /batch_embed means "use /embed").
            var httpClient = EmbeddingHttpClient.Create(provider, model, options, endpoint!, throwOnErrorStatus: provider != CustomHttpEmbeddingGenerator.ProviderName,
                loggerFactory.CreateLogger(LoggerCategory), timeProvider, OpenAIProvider.ProtocolHandler(provider, model));
            inner = provider switch
            {
                OllamaProvider.ProviderName => OllamaProvider.Create(httpClient, options),
                OpenAIProvider.ProviderName => OpenAIProvider.Create(httpClient, options),
                _ => new CustomHttpEmbeddingGenerator(httpClient, options, disposeHttpClient: true),
            };
        }

        var batching = new BatchingEmbeddingGenerator(inner, options.MaxBatchItems, options.MaxBatchChars, options.MaxBatchTokens, countTokens);
        return new ValidatingEmbeddingGenerator(batching, provider, model, dimensions, endpoint).AsBuilder()
            // The first layer added is the outermost: the span, then the layer that tags it.
            .UseOpenTelemetry(loggerFactory, EmbeddingTelemetry.SourceName)
            .Use(inner => new EmbeddingTelemetry(inner))
            .Build();
    }

    /// <summary>Checks every setting; returns provider, model, dimensions and the normalised endpoint (null for hashing and onnx).</summary>
    private static (string Provider, string Model, int Dimensions, Uri? Endpoint) Validate(EmbeddingModelOptions options, string prefix)
    {
        var provider = options.Provider;
        if (provider is null || !Providers.Contains(provider))
        {
            throw new InvalidOperationException(
                $"{prefix}:Provider must be one of {string.Join(", ", Providers)} (lower case); it is '{provider}'.");
        }

        Range(prefix, nameof(options.MaxBatchItems), options.MaxBatchItems, 1, 2048);
        Range(prefix, nameof(options.MaxBatchChars), options.MaxBatchChars, 1, 10_000_000);
        if (options.MaxBatchTokens is { } tokens)
        {
            Range(prefix, nameof(options.MaxBatchTokens), tokens, 1, 10_000_000);
        }

        Range(prefix, nameof(options.TimeoutSeconds), options.TimeoutSeconds, 1, 600);
        Range(prefix, nameof(options.TotalTimeoutSeconds), options.TotalTimeoutSeconds, options.TimeoutSeconds, 3600);
        Range(prefix, nameof(options.MaxRetries), options.MaxRetries, 0, 10);
        Range(prefix, nameof(options.RetryBaseDelayMs), options.RetryBaseDelayMs, 1, 60_000);
        Range(prefix, nameof(options.BreakDurationSeconds), options.BreakDurationSeconds, 1, 3600);
        SingleLine(prefix, nameof(options.ApiKey), options.ApiKey);
        SingleLine(prefix, nameof(options.KeepAlive), options.KeepAlive);

        if (provider == OnnxModelDefinition.ProviderName)
        {
            var definition = OnnxModelDefinition.Resolve(options, prefix);
            return (provider, definition.Name, definition.Dimensions, null);
        }

        if (provider == HashingEmbeddingGenerator.ProviderName)
        {
            if (options.Model is not null && options.Model != HashingEmbeddingGenerator.ModelName)
            {
                throw new InvalidOperationException(
                    $"{prefix}:Model must be empty or '{HashingEmbeddingGenerator.ModelName}' for the hashing provider; it is '{options.Model}'.");
            }

            var offlineDimensions = options.Dimensions ?? 384;
            Range(prefix, nameof(options.Dimensions), offlineDimensions, 16, 2000);
            return (provider, HashingEmbeddingGenerator.ModelName, offlineDimensions, null);
        }

        if (string.IsNullOrWhiteSpace(options.Model))
        {
            throw new InvalidOperationException($"{prefix}:Model is required for provider '{provider}' (the model name as the server knows it).");
        }

        if (options.Dimensions is not { } dimensions)
        {
            throw new InvalidOperationException($"{prefix}:Dimensions is required for provider '{provider}' (the vector length of model '{options.Model}').");
        }

        Range(prefix, nameof(options.Dimensions), dimensions, 1, 2000);
        if (string.IsNullOrWhiteSpace(options.Endpoint))
        {
            throw new InvalidOperationException($"{prefix}:Endpoint is required for provider '{provider}' (base URL of the model server).");
        }

        Uri endpoint;
        try
        {
            endpoint = provider == OpenAIProvider.ProviderName
                ? OpenAIProvider.ApiBase(options.Endpoint)
                : ProviderHttp.BaseAddress(options.Endpoint, nameof(options.Endpoint));
        }
        catch (ArgumentException)
        {
            throw new InvalidOperationException($"{prefix}:Endpoint must be an absolute http or https URL; it is '{options.Endpoint}'.");
        }

        if (!string.IsNullOrEmpty(endpoint.UserInfo))
        {
            throw new InvalidOperationException($"{prefix}:Endpoint must not carry user info; put a key in {prefix}:ApiKey.");
        }

        return (provider, options.Model, dimensions, endpoint);
    }

    private static void Range(string prefix, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new InvalidOperationException($"{prefix}:{name} must be between {min} and {max}; it is {value}.");
        }
    }

    private static void SingleLine(string prefix, string name, string? value)
    {
        if (value is not null && value.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new InvalidOperationException($"{prefix}:{name} must not contain line breaks.");
        }
    }
}
