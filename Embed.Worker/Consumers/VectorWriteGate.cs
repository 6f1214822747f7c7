using Microsoft.Extensions.Options;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Lets at most <see cref="EmbedBatchOptions.WriteConcurrency"/> batches of this process write their vectors at once,
/// while the other batches in flight keep embedding. Each write inserts into the model's HNSW index, and concurrent
/// inserters contend for the index's pages: with 4 writers per worker on 2 cores, PostgreSQL spent about 1.5× the CPU
/// per chunk that 1 writer needs (docs/benchmarks.md, part 1, "One vector writer per worker"). One instance per process.
/// </summary>
public sealed class VectorWriteGate(IOptions<EmbedBatchOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _writers = new(options.Value.WriteConcurrency, options.Value.WriteConcurrency);

    /// <summary>Writers at once, at most (<see cref="EmbedBatchOptions.WriteConcurrency"/>).</summary>
    public int Limit { get; } = options.Value.WriteConcurrency;

    /// <summary>Waits, without holding a thread, until this batch may write; dispose the result when the write ends.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _writers.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Release(_writers);
    }

    /// <inheritdoc />
    public void Dispose() => _writers.Dispose();

    private sealed class Release(SemaphoreSlim writers) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                writers.Release();
            }
        }
    }
}
