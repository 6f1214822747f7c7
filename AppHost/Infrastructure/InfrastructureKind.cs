using System.Diagnostics;

namespace VectorPipeline.AppHost.Infrastructure;

/// <summary>Where PostgreSQL, RabbitMQ (and, with containers, Ollama) come from.</summary>
public enum InfrastructureKind
{
    /// <summary>Container images run by the container runtime (Docker or Podman).</summary>
    Containers,

    /// <summary>Servers from the Debian packages run as executable resources; no container runtime needed.</summary>
    Local,
}

/// <summary>
/// Chooses the <see cref="InfrastructureKind"/>: the parameter <c>Parameters:infrastructure</c>
/// (<c>containers</c> or <c>local</c>) when set, else <c>containers</c> when the container runtime answers
/// <c>{runtime} info</c> within <see cref="ProbeTimeout"/>, else <c>local</c>. Publishing (the manifest) always
/// describes the container kind unless the parameter says otherwise.
/// </summary>
public static class InfrastructureChoice
{
    /// <summary>The configuration key of the override.</summary>
    public const string ParameterKey = "Parameters:infrastructure";

    /// <summary>How long the runtime probe may take before the runtime counts as absent.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The kind and a sentence saying why. Throws <see cref="AppHostConfigurationException"/> for a value of
    /// <see cref="ParameterKey"/> other than <c>containers</c> or <c>local</c> (case-insensitive).
    /// </summary>
    /// <param name="configuredValue">The value of <see cref="ParameterKey"/>, or null.</param>
    /// <param name="isPublishing">True when writing a manifest: no probe, containers.</param>
    /// <param name="containerRuntime">The runtime command (<c>docker</c> or <c>podman</c>).</param>
    public static (InfrastructureKind Kind, string Reason) Choose(string? configuredValue, bool isPublishing, string containerRuntime)
    {
        if (!string.IsNullOrWhiteSpace(configuredValue))
        {
            return configuredValue.Trim().ToLowerInvariant() switch
            {
                "containers" => (InfrastructureKind.Containers, $"{ParameterKey} is '{configuredValue}'"),
                "local" => (InfrastructureKind.Local, $"{ParameterKey} is '{configuredValue}'"),
                _ => throw new AppHostConfigurationException(
                    $"{ParameterKey} is '{configuredValue}'; allowed values: containers, local (or leave it unset to probe the container runtime)."),
            };
        }

        if (isPublishing)
        {
            return (InfrastructureKind.Containers, "publishing describes the container deployment");
        }

        var (answered, detail) = ProbeContainerRuntime(containerRuntime);
        return answered
            ? (InfrastructureKind.Containers, $"`{containerRuntime} info` answered ({detail})")
            : (InfrastructureKind.Local, $"`{containerRuntime} info` did not answer ({detail}); set {ParameterKey}=containers to insist");
    }

    /// <summary>Runs <c>{runtime} info --format {{.ServerVersion}}</c>; true with the server version when it exits 0 in time.</summary>
    private static (bool Answered, string Detail) ProbeContainerRuntime(string runtime)
    {
        var start = new ProcessStartInfo(runtime)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("info");
        start.ArgumentList.Add("--format");
        start.ArgumentList.Add("{{.ServerVersion}}");
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (false, $"{runtime} is not installed");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ProbeTimeout))
            {
                process.Kill(entireProcessTree: true);
                return (false, $"no answer within {ProbeTimeout.TotalSeconds:0} s");
            }

            if (process.ExitCode == 0)
            {
                return (true, $"server {output.Result.Trim()}");
            }

            var firstLine = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault() ?? $"exit code {process.ExitCode}";
            return (false, firstLine);
        }
    }
}
