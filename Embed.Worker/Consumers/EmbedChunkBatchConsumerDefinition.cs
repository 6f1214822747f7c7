using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Endpoint settings of <see cref="EmbedChunkBatchConsumer"/>: queue <c>embed-chunk</c>, batch limits,
/// prefetch (message limit × concurrency, so that batches can fill) and exponential retry (200 ms doubling, at most
/// 30 s, <see cref="EmbedBatchOptions.RetryLimit"/> retries). Only transient failures reach the retry: the consumer
/// handles permanent provider errors itself (chunks marked failed at once, messages acknowledged). After the last
/// retry the chunks are marked failed and MassTransit moves the messages to <c>embed-chunk_error</c>.
/// </summary>
public sealed class EmbedChunkBatchConsumerDefinition : ConsumerDefinition<EmbedChunkBatchConsumer>
{
    private readonly EmbedBatchOptions _options;

    /// <summary>Creates the definition from validated options.</summary>
    public EmbedChunkBatchConsumerDefinition(IOptions<EmbedBatchOptions> options)
    {
        _options = options.Value;
        _options.Validate();
        EndpointName = EmbedChunk.QueueName;
    }

    /// <inheritdoc />
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<EmbedChunkBatchConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _options.PrefetchCount;
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(_options.BatchMessageLimit)
            .SetTimeLimit(TimeSpan.FromMilliseconds(_options.BatchTimeLimitMs))
            .SetConcurrencyLimit(_options.ConcurrencyLimit));
        consumerConfigurator.UseMessageRetry(retry => retry.Exponential(
            _options.RetryLimit, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(500)));
    }
}
