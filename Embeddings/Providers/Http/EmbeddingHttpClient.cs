using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;

namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// The <see cref="HttpClient"/> of one HTTP embedding model. Handlers, from the outside in:
/// <see cref="ProviderFailureHandler"/> (what the resilience pipeline gives up on becomes an
/// <see cref="EmbeddingProviderException"/>), Microsoft.Extensions.Http.Resilience's <see cref="ResilienceHandler"/>
/// running <see cref="CreatePipeline"/>, <see cref="AttemptHandler"/> (counts attempts, reads each whole body inside
/// its attempt) and a <see cref="SocketsHttpHandler"/> (pooled connections renewed every
/// <see cref="PooledConnectionLifetime"/>, so that DNS changes are seen). <see cref="HttpClient.BaseAddress"/> is the
/// endpoint and <see cref="HttpClient.Timeout"/> is infinite: the pipeline's timeouts and the caller's token bound a call.
/// </summary>
public static class EmbeddingHttpClient
{
    /// <summary>How long a pooled connection lives before it is replaced: 2 minutes.</summary>
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(2);

    /// <summary>Longest wait between two attempts, computed backoff or <c>Retry-After</c>: 60 s.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);

    /// <summary>Share of failed attempts within <see cref="CircuitSamplingDuration"/> that opens the circuit: 0.5.</summary>
    public const double CircuitFailureRatio = 0.5;

    /// <summary>Attempts within <see cref="CircuitSamplingDuration"/> needed before the circuit can open: 10.</summary>
    public const int CircuitMinimumThroughput = 10;

    /// <summary>Window over which the failure ratio is measured: 30 s.</summary>
    public static readonly TimeSpan CircuitSamplingDuration = TimeSpan.FromSeconds(30);

    /// <summary>Builds the client.</summary>
    /// <param name="provider">Provider name for messages and logs (<c>ollama</c>, <c>openai</c>, <c>http</c>).</param>
    /// <param name="model">Model name for messages and logs.</param>
    /// <param name="options">Validated options (<see cref="EmbeddingGeneratorFactory"/>): timeouts, retries, break duration, API key.</param>
    /// <param name="endpoint">The base address.</param>
    /// <param name="throwOnErrorStatus">True for clients of third-party libraries: a final error status becomes an
    /// <see cref="EmbeddingProviderException"/> here, with the body excerpt; false when the provider reads error answers itself.</param>
    /// <param name="logger">Receives retries (Warning), the circuit opening (Error) and closing (Information).</param>
    /// <param name="timeProvider">Clock of delays, timeouts and the breaker; null = <see cref="TimeProvider.System"/>.</param>
    /// <param name="protocolHandler">A provider's check of successful answers, outermost (so its failures are not retried); null = none.</param>
    public static HttpClient Create(string provider, string model, EmbeddingModelOptions options, Uri endpoint, bool throwOnErrorStatus,
        ILogger logger, TimeProvider? timeProvider = null, DelegatingHandler? protocolHandler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sockets = new SocketsHttpHandler
        {
            PooledConnectionLifetime = PooledConnectionLifetime,
            ConnectTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
            AutomaticDecompression = DecompressionMethods.All,
        };
        var resilience = new ResilienceHandler(CreatePipeline(provider, model, options, logger, timeProvider ?? TimeProvider.System))
        {
            InnerHandler = new AttemptHandler { InnerHandler = sockets },
        };
        HttpMessageHandler outer = new ProviderFailureHandler(provider, model, options, throwOnErrorStatus) { InnerHandler = resilience };
        if (protocolHandler is not null)
        {
            protocolHandler.InnerHandler = outer;
            outer = protocolHandler;
        }

        return new HttpClient(outer, disposeHandler: true) { BaseAddress = endpoint, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// The resilience pipeline, from the outside in: total timeout (<see cref="EmbeddingModelOptions.TotalTimeoutSeconds"/>);
    /// retry of transient failures (<see cref="IsTransientFailure"/>) up to <see cref="EmbeddingModelOptions.MaxRetries"/>
    /// times, exponential backoff with jitter from <see cref="EmbeddingModelOptions.RetryBaseDelayMs"/>, a <c>Retry-After</c>
    /// header (delta seconds or HTTP-date, RFC 9110 §10.2.3) winning over the backoff, every wait capped at
    /// <see cref="MaxRetryDelay"/>; circuit breaker (open for <see cref="EmbeddingModelOptions.BreakDurationSeconds"/> once
    /// <see cref="CircuitFailureRatio"/> of at least <see cref="CircuitMinimumThroughput"/> attempts within
    /// <see cref="CircuitSamplingDuration"/> failed transiently); attempt timeout (<see cref="EmbeddingModelOptions.TimeoutSeconds"/>).
    /// </summary>
    internal static ResiliencePipeline<HttpResponseMessage> CreatePipeline(string provider, string model, EmbeddingModelOptions options,
        ILogger logger, TimeProvider clock)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = clock };
        builder.AddTimeout(new HttpTimeoutStrategyOptions { Name = "total", Timeout = TimeSpan.FromSeconds(options.TotalTimeoutSeconds) });
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
                MaxDelay = MaxRetryDelay,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(IsTransientFailure(args.Outcome)),
                OnRetry = args =>
                {
                    logger.LogWarning(
                        "Embedding provider {Provider} model {Model}: {Request} {Failure}; retry {Retry} of {MaxRetries} in {DelayMs} ms",
                        provider, model, DescribeRequest(args.Outcome), DescribeFailure(args.Outcome, options.TimeoutSeconds), args.AttemptNumber + 1,
                        options.MaxRetries, (long)args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            FailureRatio = CircuitFailureRatio,
            MinimumThroughput = CircuitMinimumThroughput,
            SamplingDuration = CircuitSamplingDuration,
            BreakDuration = TimeSpan.FromSeconds(options.BreakDurationSeconds),
            ShouldHandle = args => ValueTask.FromResult(IsTransientFailure(args.Outcome)),
            OnOpened = args =>
            {
                logger.LogError(
                    "Embedding provider {Provider} model {Model}: circuit opened for {BreakSeconds} s after repeated failures (last: {Request} {Failure}); calls fail fast meanwhile",
                    provider, model, args.BreakDuration.TotalSeconds, DescribeRequest(args.Outcome), DescribeFailure(args.Outcome, options.TimeoutSeconds));
                return default;
            },
            OnHalfOpened = _ =>
            {
                logger.LogInformation("Embedding provider {Provider} model {Model}: circuit half-open, the next call probes the server", provider, model);
                return default;
            },
            OnClosed = _ =>
            {
                logger.LogInformation("Embedding provider {Provider} model {Model}: circuit closed, the server answers again", provider, model);
                return default;
            },
        });
        builder.AddTimeout(new HttpTimeoutStrategyOptions { Name = "attempt", Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds) });
        return builder.Build();
    }

    /// <summary>
    /// Transient: status 408, 429, 500, 502, 503 or 504, an <see cref="HttpRequestException"/> or an attempt timeout.
    /// Other statuses (400, 401, 403, 404, 413, 422, 501, ...) will not change by retrying.
    /// </summary>
    internal static bool IsTransientFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || (outcome.Result is { } response && EmbeddingProviderException.IsTransientStatus((int)response.StatusCode));

    private static string DescribeRequest(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result?.RequestMessage is { } request ? EmbeddingProviderException.Describe(request.Method, request.RequestUri) : "request";

    private static string DescribeFailure(Outcome<HttpResponseMessage> outcome, int timeoutSeconds) => outcome switch
    {
        { Exception: TimeoutRejectedException } => $"got no answer within {timeoutSeconds} s",
        { Exception: { } e } => $"failed: {e.GetType().Name}: {e.Message}",
        { Result: { } r } => $"answered {(int)r.StatusCode} {r.StatusCode}",
        _ => "failed",
    };
}
