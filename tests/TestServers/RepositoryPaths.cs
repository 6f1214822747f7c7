namespace VectorPipeline.TestServers;

/// <summary>Where the checkout, its scripts and the shared sample data are.</summary>
public static class RepositoryPaths
{
    /// <summary>The checkout root (the folder holding VectorPipeline.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The sample data folder: <c>VECTORPIPELINE_SAMPLE_DATA</c> when set, else <c>../shared/data</c> beside the checkout.</summary>
    public static string SampleData =>
        Environment.GetEnvironmentVariable("VECTORPIPELINE_SAMPLE_DATA") is { Length: > 0 } configured
            ? configured
            : Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    /// <summary>Path of a script in <c>eng/</c>.</summary>
    public static string EngScript(string name) => Path.Combine(Root, "eng", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VectorPipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No VectorPipeline.sln above {AppContext.BaseDirectory}.");
    }
}
