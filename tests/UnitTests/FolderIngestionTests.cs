using VectorPipeline.Cli;

namespace VectorPipeline.UnitTests;

public sealed class FolderIngestionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vp-walk-").FullName;

    [Fact]
    public void Folders_are_walked_in_path_order_with_relative_ids_skipping_hidden_folders_and_other_types()
    {
        foreach (var file in new[] { "b.md", "a/guide.html", "a/z.docx", "notes.txt", "data.ndjson", ".git/config.md", "image.png" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(_root, file))!);
            File.WriteAllText(Path.Combine(_root, file), "x");
        }

        var skipped = new List<string>();
        var files = FolderIngestion.Collect([_root], skipped);

        Assert.Equal(["a/guide.html", "a/z.docx", "b.md", "data.ndjson", "notes.txt"], files.Select(f => f.Id));
        Assert.Equal([false, false, false, true, false], files.Select(f => f.IsBatch));
        Assert.Equal([Path.Combine(_root, "image.png")], skipped);
    }

    [Fact]
    public void A_single_file_is_named_by_its_file_name_and_a_missing_path_is_an_error()
    {
        File.WriteAllText(Path.Combine(_root, "one.md"), "x");

        Assert.Equal("one.md", Assert.Single(FolderIngestion.Collect([Path.Combine(_root, "one.md")], [])).Id);
        Assert.Throws<FileNotFoundException>(() => FolderIngestion.Collect([Path.Combine(_root, "missing")], []));
    }

    [Fact]
    public void Progress_gives_the_rate_and_the_time_left()
    {
        var progress = new IngestProgress(10, 10, 0, 10, 4, 0, ChunksQueued: 300, ChunksEmbedded: 100, ChunksFailed: 20, TimeSpan.FromSeconds(4));

        Assert.Equal(25, progress.Rate);
        Assert.Equal(TimeSpan.FromSeconds(7.2), progress.Eta);
        Assert.Contains("chunks 100/300 embedded, 20 failed; 25.0 chunks/s; ETA 7 s", ProgressView.Line(progress));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
