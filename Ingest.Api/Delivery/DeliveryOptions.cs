namespace VectorPipeline.Ingest.Delivery;

/// <summary>The <c>Delivery</c> configuration section (environment form <c>Delivery__RedeliverAfterSeconds</c>, ...).</summary>
public sealed class DeliveryOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Delivery";

    /// <summary>
    /// False turns the redelivery sweep off in this process (another replica may still run it); true by default.
    /// Without any sweep, chunks whose messages were lost (crash between commit and publish, broker refusal) wait
    /// until their document is posted again or retried.
    /// </summary>
    public bool RedeliveryEnabled { get; set; } = true;

    /// <summary>
    /// How long a queued chunk may wait for its embedding before its message is published again, in seconds,
    /// 1..86,400; 300 by default. Set it above the time a message normally waits in the queue plus the worker's
    /// retries (a chunk still in a long backlog is published twice; harmless, the worker skips embedded chunks).
    /// </summary>
    public int RedeliverAfterSeconds { get; set; } = 300;

    /// <summary>How often the sweep looks for chunks still waiting, in ms, 100..3,600,000; 30,000 by default.</summary>
    public int SweepIntervalMs { get; set; } = 30_000;

    /// <summary>Chunks read and published per page (sweep and <c>POST /documents/retry-failed</c>), 1..10,000; 1,000 by default.</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>
    /// How long a publish of chunk messages may wait for the broker, in seconds, 1..300; 10 by default. With RabbitMQ
    /// down, <c>POST /documents</c> answers 503 after this long (the document stored, its chunks queued by the
    /// redelivery sweep once the broker is back); the sweep, backfill and retry give up after it too.
    /// </summary>
    public int PublishTimeoutSeconds { get; set; } = 10;

    /// <summary><see cref="PublishTimeoutSeconds"/> as a time span.</summary>
    public TimeSpan PublishTimeout => TimeSpan.FromSeconds(PublishTimeoutSeconds);

    /// <summary>Checks the ranges above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        Check(RedeliverAfterSeconds, 1, 86_400, nameof(RedeliverAfterSeconds));
        Check(SweepIntervalMs, 100, 3_600_000, nameof(SweepIntervalMs));
        Check(PageSize, 1, 10_000, nameof(PageSize));
        Check(PublishTimeoutSeconds, 1, 300, nameof(PublishTimeoutSeconds));
    }

    private static void Check(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{SectionName}:{name} must be between {min} and {max}.");
        }
    }
}
