using MassTransit;
using Microsoft.Extensions.Options;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.EmbedWorker.Consumers;

/// <summary>
/// Endpoint settings of <see cref="EmbedChunkBatchConsumer"/>: queue <c>embed-chunk</c>, batch limits,
/// prefetch (message limit × concurrency, so that batches can fill) and exponential retry.
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
