using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VectorPipeline.TestServers;

/// <summary>Runs helper commands and hands out free loopback ports.</summary>
public static class ProcessRunner
{
    /// <summary>Runs a command to completion; throws with its output when it exits non-zero.</summary>
    /// <exception cref="InvalidOperationException">Non-zero exit code (message holds stdout and stderr).</exception>
    public static async Task RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago, drawn at random from 20000-32767: below Linux's
    /// ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>, 32768-60999 by default), so an outgoing
    /// connection of any process cannot take it between this call and the server's bind, and never the same port
    /// twice in one test process. Test processes running side by side can still draw the same port; servers that
    /// bind it second fail to start, and <see cref="ServiceProcess"/> retries on another port.
    /// </summary>
    /// <exception cref="InvalidOperationException">No free port after 200 draws.</exception>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20000, 32768);
            lock (HandedOut)
            {
                if (HandedOut.Contains(port))
                {
                    continue;
                }

                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (SocketException)
                {
                    continue;
                }

                HandedOut.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException("No free TCP port on 127.0.0.1 between 20000 and 32767 after 200 draws.");
    }

    /// <summary>A new empty directory under the system temp folder that other users may traverse (the servers run as their own users).</summary>
    public static string CreateTempDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():n}");
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }
}
