using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace VectorPipeline.TestServers;

/// <summary>
/// One VectorPipeline service run as its own process (<c>dotnet Project.dll --urls ...</c>) from the build
/// output of the same configuration as the tests, with its console output kept for inspection.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(string name, Uri url, Process process)
    {
        Name = name;
        Url = url;
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>A label for messages (<c>embed-worker-1</c>).</summary>
    public string Name { get; }

    /// <summary>Base address the service listens on.</summary>
    public Uri Url { get; }

    /// <summary>The process id (of the <c>dotnet</c> host, which runs the service in-process).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the process wrote so far, line by line.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>
    /// Starts <paramref name="project"/> (folder and assembly name, e.g. <c>Ingest.Api</c>) and waits until <c>/health</c> answers 200
    /// from it (three tries, each on a new port, when another process took the port first).
    /// Without keys of its own in <paramref name="environment"/> the service runs with <c>Auth__Mode=none</c> and
    /// <c>RateLimit__PermitLimit=0</c> (no API keys, no rate limit); give <c>Auth__Mode=apikey</c> with keys to test them.
    /// It embeds with the hashing embedder (<c>Embedding__Provider=hashing</c>: fast, for tests of delivery) unless
    /// <paramref name="environment"/> names a provider (tests of meaning pass <c>onnx</c>, the services' own default).
    /// </summary>
    /// <exception cref="InvalidOperationException">The process exited or stayed unhealthy for 60 s; the message holds its output.</exception>
    public static async Task<ServiceProcess> StartAsync(string name, string project, IReadOnlyDictionary<string, string> environment)
    {
        for (var attempt = 1; ; attempt++)
        {
            var url = new Uri($"http://127.0.0.1:{ProcessRunner.FreePort()}");
            var service = Start(name, project, url, environment);
            var (healthy, portTaken) = await WaitUntilHealthyAsync(service, TimeSpan.FromSeconds(60));
            if (healthy)
            {
                return service;
            }

            var output = string.Join('\n', service.Output.TakeLast(40));
            await service.DisposeAsync();
            if (!portTaken || attempt == 3)
            {
                throw new InvalidOperationException($"{name} did not become healthy at {url}:\n{output}");
            }
        }
    }

    private static ServiceProcess Start(string name, string project, Uri url, IReadOnlyDictionary<string, string> environment)
    {
        var configuration = typeof(ServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var bin = Path.Combine(RepositoryPaths.Root, project, "bin", configuration, "net10.0");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = bin };
        foreach (var argument in new[] { Path.Combine(bin, project + ".dll"), "--urls", url.ToString().TrimEnd('/'), "--contentRoot", bin })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        // Kestrel's "Now listening on" line proves this process, not another one on the same port, answers /health.
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        // Like a developer's machine: no API keys, no rate limit. Tests of keys and limits pass their own settings.
        info.Environment["Auth__Mode"] = "none";
        info.Environment["RateLimit__PermitLimit"] = "0";
        info.Environment["Embedding__Provider"] = "hashing";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return new ServiceProcess(name, url, Process.Start(info) ?? throw new InvalidOperationException($"Could not start {project}."));
    }

    /// <summary>
    /// Waits until <c>/health</c> answers 200 and the process has logged that it listens on its own address (a
    /// process of another test that took the port first would answer /health too). Port taken: the process exited
    /// because its address was in use.
    /// </summary>
    private static async Task<(bool Healthy, bool PortTaken)> WaitUntilHealthyAsync(ServiceProcess service, TimeSpan timeout)
    {
        var listening = "Now listening on: " + service.Url.ToString().TrimEnd('/');
        using var http = new HttpClient { BaseAddress = service.Url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (service._process.HasExited)
            {
                await service._process.WaitForExitAsync(); // the output is read to its end
                return (false, service.Output.Any(line => line.Contains("address already in use", StringComparison.OrdinalIgnoreCase)));
            }

            try
            {
                if (service.Output.Any(line => line.Contains(listening, StringComparison.Ordinal))
                    && (await http.GetAsync("/health")).IsSuccessStatusCode)
                {
                    return (true, false);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or too slow to answer within the probe's timeout (a loaded machine): ask again.
            }

            await Task.Delay(250);
        }

        return (false, false);
    }

    /// <summary>True once the process has exited (killed, crashed or stopped).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills the process with SIGKILL (no shutdown, no flushing: a crash) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Stops the process the orderly way, with SIGTERM (the host stops its services and flushes telemetry), and
    /// waits up to <paramref name="timeout"/> for it to exit; kills it if it has not by then.
    /// </summary>
    /// <returns>True when it exited by itself within the timeout.</returns>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }

        await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
