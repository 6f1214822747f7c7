using VectorPipeline.Fuzz;
using VectorPipeline.TestServers;

namespace VectorPipeline.UnitTests;

/// <summary>
/// CI does not fuzz; it replays the saved corpora (<c>fuzz/corpora/TARGET</c>, minimised by <c>fuzz/run.sh TARGET N
/// --save</c>) through the same target code in-process and asserts each target's invariant: no exception but the
/// documented 4xx rejections, accepted input gives well-formed results, and no input takes more than a few seconds.
/// </summary>
public class FuzzCorpusReplayTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static string Corpora => Path.Combine(RepositoryPaths.Root, "fuzz", "corpora");

    /// <summary>Every target, by the name of its corpus folder.</summary>
    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    [Fact]
    public void Every_target_has_a_corpus_and_every_corpus_a_target()
    {
        var folders = Directory.GetDirectories(Corpora).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), folders);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Every_saved_input_keeps_the_invariant(string target)
    {
        var files = Directory.GetFiles(Path.Combine(Corpora, target), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files)
        {
            var input = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            var run = Task.Run(() => FuzzTargets.Run(target, input), TestContext.Current.CancellationToken);
            if (await Task.WhenAny(run, Task.Delay(Deadline, TestContext.Current.CancellationToken)) != run)
            {
                failures.Add($"{Path.GetFileName(file)}: still running after {Deadline.TotalSeconds} s (a hang)");
                continue;
            }

            try
            {
                await run;
            }
            catch (InvariantViolationException ex)
            {
                failures.Add($"{Path.GetFileName(file)}: {ex.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Count} inputs of {target} break its invariant:\n{string.Join('\n', failures)}");
    }
}
