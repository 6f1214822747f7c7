using System.Net;
using System.Net.Sockets;

namespace VectorPipeline.AppHost;

/// <summary>Finds the fixed ports that something else already holds, before anything starts.</summary>
public static class PortCheck
{
    /// <summary>
    /// Tries to listen on 127.0.0.1 at each port; throws <see cref="AppHostConfigurationException"/> naming every
    /// port that is taken and what it was meant for.
    /// </summary>
    /// <param name="ports">Name for the message (for example <c>Ingest.Api (ingest-api)</c>) and port.</param>
    public static void ThrowIfTaken(IEnumerable<(string Name, int Port)> ports)
    {
        var taken = new List<string>();
        foreach (var (name, port) in ports)
        {
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
            {
                taken.Add($"{port} ({name})");
            }
        }

        if (taken.Count > 0)
        {
            throw new AppHostConfigurationException(
                $"Port{(taken.Count > 1 ? "s" : "")} already in use: {string.Join(", ", taken)}. Stop what holds " +
                "them (another AppHost, eng/run-local.sh, a server of your own: `ss -ltnp`), or move the AppHost's own " +
                "with its parameters (ingest-api-port, search-api-port, embed-worker-port, postgres-port, messaging-port, messaging-management-port).");
        }
    }

    /// <summary>The port of an http(s) URL such as <c>http://127.0.0.1:18888</c>, or null when there is none.</summary>
    public static int? PortOf(string? url) =>
        Uri.TryCreate(url?.Split(';')[0], UriKind.Absolute, out var uri) && !uri.IsDefaultPort ? uri.Port : null;
}
