using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace VectorPipeline.Embeddings.Providers.Http;

/// <summary>
/// Resilience for the HTTP calls of one embedding model, as an <see cref="HttpClient"/> message handler (the
/// same place Microsoft.Extensions.Http.Resilience's <c>AddResilienceHandler</c> puts its pipeline), built on a
/// Polly.Core 8 <see cref="ResiliencePipeline{T}"/> of <see cref="HttpResponseMessage"/>. From the outside in:
/// <list type="number">
/// <item><b>Retry</b>: up to <see cref="EmbeddingModelOptions.MaxRetries"/> retries of transient failures (status
/// 408, 429, 500, 502, 503, 504, <see cref="HttpRequestException"/>, attempt timeout) with exponential backoff from
/// <see cref="EmbeddingModelOptions.RetryBaseDelayMs"/> with jitter, capped at 60 s. On 429 and 503 a
/// <c>Retry-After</c> header (delta seconds or HTTP-date, RFC 9110 §10.2.3) replaces the backoff, capped at
/// <see cref="MaxRetryAfter"/>. Other statuses (400, 401, 403, 404, 413, 422, ...) are returned at once.</item>
/// <item><b>Circuit breaker</b>: when at least <see cref="CircuitFailureRatio"/> of at least
/// <see cref="CircuitMinimumThroughput"/> attempts within <see cref="CircuitSamplingDuration"/> failed transiently,
/// the circuit opens for <see cref="EmbeddingModelOptions.BreakDurationSeconds"/>: calls then fail at once without
/// touching the server; afterwards one probe call decides whether it closes again.</item>
/// <item><b>Attempt timeout</b>: each attempt (sending the request and reading the whole response body) gets
/// <see cref="EmbeddingModelOptions.TimeoutSeconds"/>.</item>
/// </list>
/// Failures that remain once the pipeline gives up surface as <see cref="EmbeddingProviderException"/>: open
/// circuit, last attempt timed out, or the server could not be reached. A final error <i>status</i> is returned as
/// the response (the provider reads its body for the message); the number of attempts made is stored in the
/// request's <see cref="HttpRequestMessage.Options"/> under <see cref="AttemptsKey"/>. Each retry is logged at
/// Warning (provider, model, request, status or error, delay), the circuit opening at Error, its closing at
/// Information. The request content must be re-readable (byte array or string content), as each attempt
/// sends it again. Only <see cref="SendAsync"/> is supported.
/// </summary>
public sealed class EmbeddingResilienceHandler : DelegatingHandler
{
    /// <summary>Longest wait a <c>Retry-After</c> header can impose before a retry: 60 s.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>Longest computed backoff delay between two attempts: 60 s.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    /// <summary>Share of failed attempts within <see cref="CircuitSamplingDuration"/> that opens the circuit: 0.5.</summary>
    public const double CircuitFailureRatio = 0.5;

    /// <summary>Attempts within <see cref="CircuitSamplingDuration"/> needed before the circuit can open: 10.</summary>
    public const int CircuitMinimumThroughput = 10;

    /// <summary>Window over which the failure ratio is measured: 30 s.</summary>
    public static readonly TimeSpan CircuitSamplingDuration = TimeSpan.FromSeconds(30);

    /// <summary>Request option holding how many attempts the last <see cref="SendAsync"/> of that request made (1 = no retry).</summary>
    public static readonly HttpRequestOptionsKey<int> AttemptsKey = new("VectorPipeline.Embeddings.Attempts");

    private static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new("VectorPipeline.Embeddings.Request");

    private readonly string _provider;
    private readonly string _model;
    private readonly int _timeoutSeconds;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    /// <summary>Creates the handler; set <see cref="DelegatingHandler.InnerHandler"/> (or pass it) before the first request.</summary>
    /// <param name="provider">Provider name for messages and logs (<c>ollama</c>, <c>openai</c>, <c>http</c>).</param>
    /// <param name="model">Model name for messages and logs.</param>
    /// <param name="options">Reads <see cref="EmbeddingModelOptions.MaxRetries"/> (0..10), <see cref="EmbeddingModelOptions.RetryBaseDelayMs"/>
    /// (≥ 1), <see cref="EmbeddingModelOptions.TimeoutSeconds"/> (≥ 1) and <see cref="EmbeddingModelOptions.BreakDurationSeconds"/> (≥ 1).</param>
    /// <param name="logger">Receives retry and circuit events; null = none.</param>
    /// <param name="timeProvider">Clock for delays, timeouts and the breaker; null = <see cref="TimeProvider.System"/>.</param>
    /// <param name="innerHandler">The handler that sends the request (for example a <see cref="SocketsHttpHandler"/>); null = set later.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside the range above.</exception>
    public EmbeddingResilienceHandler(
        string provider, string model, EmbeddingModelOptions options, ILogger? logger = null, TimeProvider? timeProvider = null, HttpMessageHandler? innerHandler = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetries);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxRetries, 10);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryBaseDelayMs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TimeoutSeconds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BreakDurationSeconds, 1);
        if (innerHandler is not null)
        {
            InnerHandler = innerHandler;
        }

        _provider = provider;
        _model = model;
        _timeoutSeconds = options.TimeoutSeconds;
        _logger = logger ?? NullLogger.Instance;
        var clock = timeProvider ?? TimeProvider.System;
        var maxRetries = options.MaxRetries;

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = clock };
        if (maxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
                MaxDelay = MaxBackoff,
                ShouldHandle = args => ValueTask.FromResult(IsTransientFailure(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfterDelay(args.Outcome.Result, clock)),
                OnRetry = args =>
                {
                    _logger.LogWarning(
                        "Embedding provider {Provider} model {Model}: {Request} {Failure}; retry {Retry} of {MaxRetries} in {DelayMs} ms",
                        _provider, _model, DescribeRequest(args.Context), DescribeFailure(args.Outcome), args.AttemptNumber + 1, maxRetries,
                        (long)args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            FailureRatio = CircuitFailureRatio,
            MinimumThroughput = CircuitMinimumThroughput,
            SamplingDuration = CircuitSamplingDuration,
            BreakDuration = TimeSpan.FromSeconds(options.BreakDurationSeconds),
            ShouldHandle = args => ValueTask.FromResult(IsTransientFailure(args.Outcome)),
            OnOpened = args =>
            {
                _logger.LogError(
                    "Embedding provider {Provider} model {Model}: circuit opened for {BreakSeconds} s after repeated failures (last: {Request} {Failure}); calls fail fast meanwhile",
                    _provider, _model, args.BreakDuration.TotalSeconds, DescribeRequest(args.Context), DescribeFailure(args.Outcome));
                return default;
            },
            OnHalfOpened = args =>
            {
                _logger.LogInformation("Embedding provider {Provider} model {Model}: circuit half-open, the next call probes the server", _provider, _model);
                return default;
            },
            OnClosed = args =>
            {
                _logger.LogInformation("Embedding provider {Provider} model {Model}: circuit closed, the server answers again", _provider, _model);
                return default;
            },
        });

        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds) });
        _pipeline = builder.Build();
    }

    /// <summary>
    /// Sends the request through retry, circuit breaker and attempt timeout. Returns the final response, which
    /// may carry an error status (non-retryable, or retries exhausted).
    /// </summary>
    /// <exception cref="EmbeddingProviderException">The circuit is open (<see cref="EmbeddingProviderException.IsCircuitOpen"/>), the
    /// last attempt timed out, or the server could not be reached.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RequestKey, request);
        var state = new AttemptState(this, request);
        Outcome<HttpResponseMessage> outcome;
        try
        {
            outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (ctx, s) =>
                {
                    s.Attempts++;
                    try
                    {
                        return Outcome.FromResult(await s.Handler.SendInnerAsync(s.Request, ctx.CancellationToken).ConfigureAwait(false));
                    }
                    catch (Exception e)
                    {
                        return Outcome.FromException<HttpResponseMessage>(e);
                    }
                },
                context,
                state).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        request.Options.Set(AttemptsKey, state.Attempts);
        if (outcome.Exception is null)
        {
            return outcome.Result!;
        }

        var describe = EmbeddingProviderException.Describe(request.Method, request.RequestUri);
        var attempts = state.Attempts == 1 ? "1 attempt" : $"{state.Attempts} attempts";
        switch (outcome.Exception)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                outcome.ThrowIfException();
                break;
            case BrokenCircuitException broken:
                var wait = broken.RetryAfter is { } after ? $" for another {Math.Max(0, after.TotalSeconds):0.#} s" : "";
                throw new EmbeddingProviderException(
                    _provider, _model,
                    $"{describe} was not sent: the circuit breaker is open after repeated failures of the server, so calls fail fast{wait}.",
                    innerException: broken)
                { IsCircuitOpen = true, IsTransient = true, RetryAfter = broken.RetryAfter };
            case TimeoutRejectedException timeout:
                throw new EmbeddingProviderException(
                    _provider, _model, $"{describe} got no answer within the {_timeoutSeconds} s attempt timeout ({attempts}).", innerException: timeout)
                { IsTransient = true };
            case HttpRequestException http:
                throw new EmbeddingProviderException(
                    _provider, _model, $"{describe} failed ({attempts}): {http.Message}", (int?)http.StatusCode, http)
                { IsTransient = true };
        }

        outcome.ThrowIfException();
        return outcome.Result!;
    }

    /// <summary>Not supported: embedding providers send asynchronously only.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The embedding resilience handler supports SendAsync only.");

    /// <summary>One attempt: send, then read the whole body, so that the attempt timeout also covers a body that stalls.</summary>
    private async Task<HttpResponseMessage> SendInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Transient: 408, 429, 500, 502, 503, 504, <see cref="HttpRequestException"/> or an attempt timeout.</summary>
    internal static bool IsTransientFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || (outcome.Result is { } response && EmbeddingProviderException.IsTransientStatus((int)response.StatusCode));

    /// <summary>
    /// The <c>Retry-After</c> wait of a 429 or 503 answer, capped at <see cref="MaxRetryAfter"/>; null when absent
    /// (or for other statuses), so that the exponential backoff applies.
    /// </summary>
    internal static TimeSpan? RetryAfterDelay(HttpResponseMessage? response, TimeProvider clock)
    {
        if (response is null || response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
        {
            return null;
        }

        var header = response.Headers.RetryAfter;
        TimeSpan? wait = header?.Delta ?? (header?.Date is { } date ? date - clock.GetUtcNow() : null);
        if (wait is not { } value)
        {
            return null;
        }

        return value < TimeSpan.Zero ? TimeSpan.Zero : value > MaxRetryAfter ? MaxRetryAfter : value;
    }

    private static string DescribeRequest(ResilienceContext context) =>
        context.Properties.TryGetValue(RequestKey, out var request) ? EmbeddingProviderException.Describe(request.Method, request.RequestUri) : "request";

    private string DescribeFailure(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: TimeoutRejectedException } => $"got no answer within {_timeoutSeconds} s",
        { Exception: { } e } => $"failed: {e.GetType().Name}: {e.Message}",
        { Result: { } r } => $"answered {(int)r.StatusCode} {r.StatusCode}",
        _ => "failed",
    };

    private sealed class AttemptState(EmbeddingResilienceHandler handler, HttpRequestMessage request)
    {
        public EmbeddingResilienceHandler Handler { get; } = handler;

        public HttpRequestMessage Request { get; } = request;

        public int Attempts { get; set; }
    }
}
