using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace VectorPipeline.DeploymentTests;

/// <summary>
/// The Aspire manifest (the input aspirate reads) written by the real AppHost:
/// <c>dotnet run --project AppHost -- --publisher manifest --output-path FILE</c>, once per test run.
/// </summary>
public static class AppHostManifest
{
    private static readonly Lazy<JsonDocument> Document = new(Generate);

    /// <summary>The manifest's <c>resources</c> object.</summary>
    public static JsonElement Resources => Document.Value.RootElement.GetProperty("resources");

    /// <summary>The project resources (<c>type</c> <c>project.v0</c> or <c>project.v1</c>) by name.</summary>
    public static Dictionary<string, JsonElement> Projects =>
        Resources.EnumerateObject().Where(r => r.Value.GetProperty("type").GetString()!.StartsWith("project.", StringComparison.Ordinal))
            .ToDictionary(r => r.Name, r => r.Value, StringComparer.Ordinal);

    /// <summary>The environment the manifest gives a project.</summary>
    public static Dictionary<string, string> Environment(string project) =>
        Projects[project].GetProperty("env").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString()!, StringComparer.Ordinal);

    private static JsonDocument Generate()
    {
        var output = Path.Combine(Path.GetTempPath(), $"vp-manifest-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        try
        {
            var file = Path.Combine(output, "manifest.json");
            var configuration = typeof(AppHostManifest).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Repository.Root,
            };
            foreach (var argument in new[] { "run", "--project", Repository.Path("AppHost"), "-c", configuration, "--no-build", "--",
                         "--publisher", "manifest", "--output-path", file })
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("the AppHost did not write its manifest within 3 minutes");
            }

            if (process.ExitCode != 0 || !File.Exists(file))
            {
                throw new InvalidOperationException($"the AppHost's manifest publisher failed ({process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
            }

            return JsonDocument.Parse(File.ReadAllText(file));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
