using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VectorPipeline.Tools.Load;

/// <summary>What one wrk run measured: answers by status, latency percentiles (ms) and throughput.</summary>
public sealed record WrkResult
{
    /// <summary>Requests completed.</summary>
    [JsonPropertyName("requests")] public long Requests { get; init; }

    /// <summary>Length of the run, seconds.</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; init; }

    /// <summary>Latency percentiles and maximum, milliseconds (wrk's, from its HdrHistogram).</summary>
    [JsonPropertyName("p50_ms")] public double P50Ms { get; init; }

    /// <inheritdoc cref="P50Ms"/>
    [JsonPropertyName("p95_ms")] public double P95Ms { get; init; }

    /// <inheritdoc cref="P50Ms"/>
    [JsonPropertyName("p99_ms")] public double P99Ms { get; init; }

    /// <inheritdoc cref="P50Ms"/>
    [JsonPropertyName("max_ms")] public double MaxMs { get; init; }

    /// <summary>Connect, read and write errors.</summary>
    [JsonPropertyName("socket_errors")] public long SocketErrors { get; init; }

    /// <summary>Requests without an answer within wrk's <c>--timeout</c>.</summary>
    [JsonPropertyName("timeouts")] public long Timeouts { get; init; }

    /// <summary>Answers by HTTP status.</summary>
    [JsonPropertyName("statuses")] public Dictionary<string, long> Statuses { get; init; } = [];

    /// <summary>Requests per second.</summary>
    public double Throughput => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>Answers with a status other than <paramref name="success"/>, plus socket errors and timeouts.</summary>
    public long Errors(int success) => Statuses.Where(s => s.Key != success.ToString(CultureInfo.InvariantCulture)).Sum(s => s.Value) + SocketErrors + Timeouts;

    /// <summary>Answers with <paramref name="status"/>.</summary>
    public long Count(int status) => Statuses.GetValueOrDefault(status.ToString(CultureInfo.InvariantCulture));
}

/// <summary>
/// Runs wrk (Debian's <c>wrk</c> 4.1, a closed-loop load generator: each connection sends its next request when the
/// last one is answered) with one of the Lua scripts next to this program, and reads the line its <c>done</c> prints.
/// </summary>
public static class Wrk
{
    /// <summary>Fails with a clear message when wrk is not installed.</summary>
    /// <exception cref="InvalidOperationException">wrk is not on the PATH.</exception>
    public static void EnsureInstalled()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("wrk", "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            process.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("wrk is not installed: apt-get install -y wrk (or eng/install-prereqs.sh --with-wrk).");
        }
    }

    /// <summary>Runs one wrk load and returns what it measured.</summary>
    /// <param name="script">The Lua script, <c>search</c> or <c>documents</c>.</param>
    /// <param name="url">The service's base address.</param>
    /// <param name="connections">Connections, each with one request in flight.</param>
    /// <param name="duration">Length of the run (whole seconds).</param>
    /// <param name="cancellationToken">Stops waiting for wrk.</param>
    /// <param name="variables">Environment for the script: <c>VP_LOAD_BODIES</c>, <c>VP_LOAD_KEY</c>, <c>VP_LOAD_RUN</c>.</param>
    /// <exception cref="InvalidOperationException">wrk failed or printed no result line; the message holds its output.</exception>
    public static async Task<WrkResult> RunAsync(string script, Uri url, int connections, TimeSpan duration, IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken = default)
    {
        var scripts = Path.Combine(AppContext.BaseDirectory, "Scripts");
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Two threads at most: the machine has two cores, and the services need them more than the load does.
        foreach (var argument in new[]
                 {
                     "-t", Math.Min(2, connections).ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", $"{(int)duration.TotalSeconds}s", "--timeout", "5s", "-s", Path.Combine(scripts, script + ".lua"), url.ToString(),
                 })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["VP_LOAD_SCRIPTS"] = scripts;
        foreach (var (key, value) in variables)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start wrk.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var text = await output + await error;
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("VPLOAD ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"wrk exited with {process.ExitCode} and no result:\n{text}");
        }

        return JsonSerializer.Deserialize<WrkResult>(line["VPLOAD ".Length..])!;
    }
}
