using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.Playwright;
using VectorPipeline.TestServers;

namespace VectorPipeline.AppHost.Tests;

/// <summary>
/// `dotnet run --project AppHost` on the local kind with the launch profile's settings (plain http, dashboard without
/// login) on free ports, seen in Debian's chromium through Playwright: the resources page lists every resource running and healthy;
/// after one document is ingested the traces page shows its trace with spans of ingest-api and embed-worker; Search.Api's
/// API reference loads. Screenshots go to docs/images/.
/// </summary>
public sealed class BrowserTests(ITestOutputHelper output)
{
    private static readonly string Dashboard = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
    private static readonly string IngestApi = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
    private static readonly string SearchApi = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
    private static readonly string EmbedWorker = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private static readonly string[] ChromiumFlags =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    [Fact]
    public async Task Dashboard_shows_every_resource_healthy_a_document_trace_and_the_API_reference()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.True(File.Exists("/usr/bin/chromium"), "chromium missing: run eng/install-prereqs.sh --with-browser");
        using var run = new LocalAppHost(workerReplicas: 2);
        var images = Path.Combine(RepositoryPaths.Root, "docs", "images");
        Directory.CreateDirectory(images);
        using var appHost = StartAppHost(run);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            foreach (var url in new[] { IngestApi, SearchApi, EmbedWorker })
            {
                await WaitForAsync(async () =>
                {
                    if (appHost.Process.HasExited)
                    {
                        Assert.Fail($"the AppHost exited ({appHost.Process.ExitCode}):\n{appHost.StandardOutputTail()}");
                    }

                    return (await http.GetAsync($"{url}/health", cancellationToken)).IsSuccessStatusCode;
                }, StartTimeout, $"{url}/health");
            }

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ChromiumFlags });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1600, Height = 900 } });

            // Resources: every resource listed, none still starting or unhealthy.
            await page.GotoAsync(Dashboard);
            var names = new[] { ResourceNames.Prerequisites, ResourceNames.Postgres, ResourceNames.VectorDb, ResourceNames.Messaging,
                ResourceNames.IngestApi, ResourceNames.EmbedWorker, ResourceNames.SearchApi };
            // The page is reloaded every 15 s while it waits: the dashboard's Blazor circuit can die of its own error
            // (a CI run logged an ObjectDisposedException in its Virtualize component), and a dead circuit stops updating.
            var reloadAt = DateTime.UtcNow.AddSeconds(15);
            var shown = "";
            var resources = WaitForAsync(async () =>
            {
                var text = shown = await page.InnerTextAsync("body");
                var ready = names.All(n => text.Contains(n, StringComparison.Ordinal))
                       && !text.Contains("Unhealthy", StringComparison.Ordinal) && !text.Contains("Starting", StringComparison.Ordinal)
                       && text.Contains("Running", StringComparison.Ordinal);
                if (!ready && DateTime.UtcNow > reloadAt)
                {
                    await page.ReloadAsync();
                    reloadAt = DateTime.UtcNow.AddSeconds(15);
                }

                return ready;
            }, TimeSpan.FromMinutes(2), "the resources page with every resource running and healthy");
            try
            {
                await resources;
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; the page showed:\n{shown[..Math.Min(shown.Length, 3000)]}", ex);
            }

            await page.ScreenshotAsync(new() { Path = Path.Combine(images, "dashboard-resources.png"), FullPage = true });

            // One document, then its trace: ingest-api's request and embed-worker's batch in one trace.
            var id = $"browser-{Guid.NewGuid():N}";
            using (var posted = await http.PostAsJsonAsync($"{IngestApi}/documents",
                       new { id, title = "Super Bowl 50", text = "Super Bowl 50 was played at Levi's Stadium. The Denver Broncos defeated the Carolina Panthers 24-10." },
                       cancellationToken))
            {
                Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
            }

            await WaitForAsync(async () =>
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync($"{IngestApi}/documents/{id}", cancellationToken));
                return status.RootElement.GetProperty("status").GetString() == "ready";
            }, TimeSpan.FromMinutes(2), $"document {id} ready");

            await page.GotoAsync($"{Dashboard}/traces");
            // The trace's name is its root span's, "ingest-api: POST /documents"; its row lists the resources with spans in it.
            var row = page.Locator("[role=row]")
                .Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex($"{ResourceNames.IngestApi}: POST /documents") })
                .Filter(new() { HasText = ResourceNames.EmbedWorker });
            await WaitForAsync(async () =>
            {
                if (await row.CountAsync() > 0)
                {
                    return true;
                }

                await page.ReloadAsync();
                return false;
            }, TimeSpan.FromMinutes(1), "a POST trace with embed-worker spans on the traces page");
            var rowText = await row.First.InnerTextAsync();
            Assert.Contains(ResourceNames.IngestApi, rowText, StringComparison.Ordinal);
            // The list filtered to the document's trace, for the screenshot.
            await page.Locator("input[name=traces-search]").FillAsync("POST /documents");
            await row.First.WaitForAsync(new() { Timeout = 30_000 });
            await page.ScreenshotAsync(new() { Path = Path.Combine(images, "dashboard-traces.png") });

            // Search.Api's API reference (Scalar over /openapi/v1.json).
            await page.GotoAsync($"{SearchApi}/scalar/v1");
            await WaitForAsync(async () => (await page.InnerTextAsync("body")).Contains("/search", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the Scalar page listing /search");
            await page.ScreenshotAsync(new() { Path = Path.Combine(images, "search-api-reference.png") });
        }
        finally
        {
            Stop(appHost);
            output.WriteLine(appHost.StandardOutputTail());
        }

        IReadOnlyList<string> left = [];
        for (var i = 0; i < 60 && (left = run.Leftovers([])).Count > 0; i++)
        {
            await Task.Delay(500, CancellationToken.None);
        }

        Assert.True(left.Count == 0, "left running:\n" + string.Join("\n", left));
    }

    private static AppHostProcess StartAppHost(LocalAppHost run)
    {
        var configuration = typeof(BrowserTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The launch profile's variables (AppHost/Properties/launchSettings.json), on free ports instead of its fixed ones.
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_URLS"] = Dashboard;
        start.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
        start.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{ProcessRunner.FreePort()}";
        start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        start.Environment["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] = "true";
        foreach (var argument in new[] { "run", "--project", Path.Combine(RepositoryPaths.Root, "AppHost"), "-c", configuration, "--no-build", "--no-launch-profile", "--" }
                     .Concat(run.Arguments)
                     .Concat([$"--Parameters:ingest-api-port={new Uri(IngestApi).Port}", $"--Parameters:search-api-port={new Uri(SearchApi).Port}",
                         $"--Parameters:embed-worker-port={new Uri(EmbedWorker).Port}"]))
        {
            start.ArgumentList.Add(argument);
        }

        return new AppHostProcess(Process.Start(start)!);
    }

    /// <summary>SIGINT, as Ctrl-C sends it, to `dotnet run` and the AppHost under it; waits up to a minute.</summary>
    private static void Stop(AppHostProcess appHost)
    {
        foreach (var pid in Descendants(appHost.Process.Id).Prepend(appHost.Process.Id).Reverse())
        {
            _ = Kill(pid, 2);
        }

        if (!appHost.Process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            appHost.Process.Kill(entireProcessTree: true);
        }
    }

    private static IEnumerable<int> Descendants(int pid) =>
        File.Exists($"/proc/{pid}/task/{pid}/children")
            ? File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)
                .Where(child => File.Exists($"/proc/{child}/cmdline") && File.ReadAllText($"/proc/{child}/cmdline").Contains("AppHost", StringComparison.Ordinal))
            : [];

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // A request timed out; try again.
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        throw new TimeoutException($"waited {timeout} for {what}");
    }

    /// <summary>The AppHost process with the last lines of its output kept for the test log.</summary>
    private sealed class AppHostProcess : IDisposable
    {
        private readonly Queue<string> tail = new();

        public AppHostProcess(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => Keep(e.Data);
            process.ErrorDataReceived += (_, e) => Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string StandardOutputTail()
        {
            lock (tail)
            {
                return string.Join("\n", tail);
            }
        }

        public void Dispose() => Process.Dispose();

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (tail)
            {
                tail.Enqueue(line);
                while (tail.Count > 40)
                {
                    tail.Dequeue();
                }
            }
        }
    }
}
