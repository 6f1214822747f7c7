namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Batching and retry settings of the chunk consumer, in the <c>Embedding</c> section
/// (environment form <c>Embedding__BatchMessageLimit</c>, ...).
/// </summary>
public sealed class EmbedBatchOptions
{
    /// <summary>Configuration section name (shared with the model settings).</summary>
    public const string SectionName = "Embedding";

    /// <summary>Most chunk messages per batch (one embedding call), 1..1000; 64 by default.</summary>
    public int BatchMessageLimit { get; set; } = 64;

    /// <summary>Longest wait for a batch to fill before it is processed anyway, in ms, 1..60000; 200 by default.</summary>
    public int BatchTimeLimitMs { get; set; } = 200;

    /// <summary>
    /// Batches processed at once by one worker, 1..64; 4 by default. More than the model server's parallelism, so that
    /// while some batches read chunks and write vectors (database work, half or more of a batch's time) others keep the
    /// model busy: measured in docs/benchmarks.md (model-bound efficiency). Not configured and with only in-process
    /// <c>onnx</c> models: the session's run slots + 1 (<see cref="BatchConcurrencyDefault"/>).
    /// </summary>
    public int ConcurrencyLimit { get; set; } = 4;

    /// <summary>
    /// Batches of one worker that write their vectors at once, 1..64; 1 by default. The others in flight keep embedding
    /// meanwhile; fewer concurrent inserts into the HNSW index cost PostgreSQL less CPU per chunk (<see cref="VectorWriteGate"/>).
    /// </summary>
    public int WriteConcurrency { get; set; } = 1;

    /// <summary>Retries of a failed batch (exponential backoff) before its chunks are marked failed and its messages dead-lettered, 0..20; 5 by default.</summary>
    public int RetryLimit { get; set; } = 5;

    /// <summary>RabbitMQ prefetch: enough unacknowledged messages for every concurrent batch to fill.</summary>
    public int PrefetchCount => BatchMessageLimit * ConcurrencyLimit;

    /// <summary>Checks the ranges above.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names the setting.</exception>
    public void Validate()
    {
        Check(BatchMessageLimit, 1, 1000, nameof(BatchMessageLimit));
        Check(BatchTimeLimitMs, 1, 60_000, nameof(BatchTimeLimitMs));
        Check(ConcurrencyLimit, 1, 64, nameof(ConcurrencyLimit));
        Check(WriteConcurrency, 1, 64, nameof(WriteConcurrency));
        Check(RetryLimit, 0, 20, nameof(RetryLimit));
    }

    private static void Check(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{SectionName}:{name} must be between {min} and {max}.");
        }
    }
}
