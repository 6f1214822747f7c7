using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.EmbedWorker.Consumers;

namespace VectorPipeline.IntegrationTests;

/// <summary>Embed.Worker's default of <c>Embedding:ConcurrencyLimit</c>: run slots + 1 with only in-process models, else 4.</summary>
public class BatchConcurrencyDefaultTests
{
    private static int Resolve(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var catalog = EmbeddingModelCatalog.FromConfiguration(configuration, NullLoggerFactory.Instance);
        var options = new EmbedBatchOptions();
        configuration.GetSection(EmbedBatchOptions.SectionName).Bind(options);
        new BatchConcurrencyDefault(configuration, catalog).PostConfigure(null, options);
        options.Validate();
        return options.ConcurrencyLimit;
    }

    [Theory]
    [InlineData("1", 2)]
    [InlineData("3", 4)]
    public void With_only_the_onnx_model_a_worker_holds_one_batch_per_run_slot_and_one_more(string runs, int expected) =>
        Assert.Equal(expected, Resolve(("Embedding:Onnx:MaxConcurrentRuns", runs)));

    [Fact]
    public void The_built_in_default_model_gets_the_cores_plus_one() =>
        Assert.Equal(Environment.ProcessorCount + 1, Resolve());

    [Fact]
    public void A_configured_limit_is_kept() =>
        Assert.Equal(6, Resolve(("Embedding:Onnx:MaxConcurrentRuns", "1"), ("Embedding:ConcurrencyLimit", "6")));

    [Fact]
    public void A_model_server_keeps_four_batches_in_flight_to_overlap_its_latency() =>
        Assert.Equal(4, Resolve(("Embedding:Provider", "ollama"), ("Embedding:Model", "nomic-embed-text"), ("Embedding:Endpoint", "http://127.0.0.1:1"), ("Embedding:Dimensions", "768")));
}
