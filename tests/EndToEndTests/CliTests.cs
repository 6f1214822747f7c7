using System.Diagnostics;
using System.Reflection;
using VectorPipeline.TestServers;

namespace VectorPipeline.EndToEndTests;

/// <summary>The <c>vp</c> command-line client driven against the real stack (PostgreSQL, RabbitMQ, Ingest.Api, a worker, Search.Api as processes).</summary>
public class CliTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Vp_ingests_the_pgai_docs_folder_until_every_document_is_ready_then_searches_and_shows_status()
    {
        Assert.SkipUnless(SampleData.Available, $"sample data not found under {RepositoryPaths.SampleData} (set VECTORPIPELINE_SAMPLE_DATA)");
        await using var postgres = await PostgresServer.StartAsync();
        await using var rabbit = await RabbitMqServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await postgres.CreateDatabaseAsync("vp_cli"),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
        };
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment);
        await using var worker = await ServiceProcess.StartAsync("embed-worker", "Embed.Worker", environment);
        await using var search = await ServiceProcess.StartAsync("search-api", "Search.Api", environment);
        string[] urls = ["--ingest-url", ingest.Url.ToString(), "--search-url", search.Url.ToString()];
        var markdownFiles = Directory.GetFiles(SampleData.PgaiFolder, "*.md").Length;

        var (exit, output) = await VpAsync(["ingest", SampleData.PgaiFolder, "--concurrency", "4", .. urls]);

        Assert.True(exit == 0, $"vp ingest exited with {exit}:\n{output}");
        Assert.True(output.Contains($"{markdownFiles} of {markdownFiles} documents ready, 0 failed, 0 not finished", StringComparison.Ordinal), output);
        Assert.Contains("Skipping 1 file(s) of other types", output); // LICENSE
        Assert.Matches(@"files \d+/\d+ sent \(0 rejected\); documents \d+/\d+ ready", output); // the plain progress lines
        (exit, output) = await VpAsync(["search", "How do I create a vectorizer?", "--top-k", "3", .. urls]);
        Assert.True(exit == 0, $"vp search exited with {exit}:\n{output}");
        Assert.Contains("vectorizer", output, StringComparison.OrdinalIgnoreCase);
        (exit, output) = await VpAsync(["status", .. urls]);
        Assert.True(exit == 0, $"vp status exited with {exit}:\n{output}");
        Assert.Contains("Queue embed-chunk: 0 messages waiting, 1 consumers", output);
        Assert.Contains($"Documents: {markdownFiles} ({markdownFiles} ready, 0 failed)", output);

        // A folder with a corrupt file: the others are ingested, the file is reported, and the exit code says so.
        var folder = ProcessRunner.CreateTempDirectory("vp-bad-");
        await File.WriteAllTextAsync(Path.Combine(folder, "good.md"), "# Good\n\nFine text.", Token);
        await File.WriteAllBytesAsync(Path.Combine(folder, "broken.docx"), [.. "PK\u0003\u0004"u8, 1, 2, 3], Token);
        (exit, output) = await VpAsync(["ingest", folder, .. urls]);
        Assert.True(exit == 1, $"vp ingest of a bad folder exited with {exit}:\n{output}");
        Assert.Contains("1 of 1 documents ready", output);
        Assert.Contains("could not be read as DOCX", output);
    }

    [Fact]
    public async Task Vp_says_unchanged_files_were_not_embedded_again_and_searches_in_keyword_mode()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var rabbit = await RabbitMqServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__vectordb"] = await postgres.CreateDatabaseAsync("vp_cli_again"),
            ["ConnectionStrings__messaging"] = rabbit.ConnectionString,
        };
        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", environment);
        await using var worker = await ServiceProcess.StartAsync("embed-worker", "Embed.Worker", environment);
        await using var search = await ServiceProcess.StartAsync("search-api", "Search.Api", environment);
        string[] urls = ["--ingest-url", ingest.Url.ToString(), "--search-url", search.Url.ToString()];
        var folder = ProcessRunner.CreateTempDirectory("vp-again-");
        await File.WriteAllTextAsync(Path.Combine(folder, "otters.md"), "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.", Token);
        await File.WriteAllTextAsync(Path.Combine(folder, "lamps.md"), "# Lamps\n\nA lighthouse lamp turns once every ten seconds above the harbour.", Token);

        var (exit, output) = await VpAsync(["ingest", folder, .. urls]);
        Assert.True(exit == 0, $"first vp ingest exited with {exit}:\n{output}");
        Assert.Contains("2 of 2 documents ready", output);
        Assert.Matches(@"; [1-9]\d* chunks embedded;", output);

        (exit, output) = await VpAsync(["ingest", folder, .. urls]);
        Assert.True(exit == 0, $"second vp ingest exited with {exit}:\n{output}");
        Assert.Contains("2 of 2 documents ready", output);
        Assert.Matches(@"; 0 chunks embedded, [1-9]\d* chunks unchanged \(already embedded, not embedded again\), 2 documents unchanged;", output);

        (exit, output) = await VpAsync(["search", "lighthouse", "--mode", "keyword", .. urls]);
        Assert.True(exit == 0, $"vp search --mode keyword exited with {exit}:\n{output}");
        Assert.DoesNotContain("Exception", output);
        Assert.Contains("lamps.md", output);
        Assert.Contains("keyword", output);
    }

    private static async Task<(int ExitCode, string Output)> VpAsync(string[] arguments)
    {
        var configuration = typeof(CliTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "tools", "vp", "bin", configuration, "net10.0", "vp.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var stderr = process.StandardError.ReadToEndAsync(Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
