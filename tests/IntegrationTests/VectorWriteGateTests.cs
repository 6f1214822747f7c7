using Microsoft.Extensions.Options;
using VectorPipeline.EmbedWorker.Consumers;

namespace VectorPipeline.IntegrationTests;

/// <summary>The worker's vector write gate: at most <c>Embedding:WriteConcurrency</c> batches write at once.</summary>
public class VectorWriteGateTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_one_writer_a_second_batch_waits_until_the_first_write_ends()
    {
        using var gate = new VectorWriteGate(Options.Create(new EmbedBatchOptions()));
        Assert.Equal(1, gate.Limit);

        var first = await gate.EnterAsync(Token);
        var second = gate.EnterAsync(Token);
        await Task.Delay(100, Token);
        Assert.False(second.IsCompleted);

        first.Dispose();
        first.Dispose(); // a second dispose must not free a second slot
        using var entered = await second.WaitAsync(TimeSpan.FromSeconds(5), Token);
        var third = gate.EnterAsync(Token);
        await Task.Delay(100, Token);
        Assert.False(third.IsCompleted);
        entered.Dispose();
        (await third.WaitAsync(TimeSpan.FromSeconds(5), Token)).Dispose();
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_takes_no_slot()
    {
        using var gate = new VectorWriteGate(Options.Create(new EmbedBatchOptions { WriteConcurrency = 2 }));
        using var a = await gate.EnterAsync(Token);
        using var b = await gate.EnterAsync(Token);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.EnterAsync(cancel.Token));

        a.Dispose();
        (await gate.EnterAsync(Token).WaitAsync(TimeSpan.FromSeconds(5), Token)).Dispose();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void A_write_concurrency_out_of_range_is_refused_naming_the_setting(int value)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EmbedBatchOptions { WriteConcurrency = value }.Validate());
        Assert.Contains("Embedding:WriteConcurrency must be between 1 and 64", error.Message, StringComparison.Ordinal);
    }
}
