using System.Net;
using System.Net.Sockets;

namespace VectorPipeline.TestServers;

/// <summary>
/// A TCP proxy on a free loopback port to <c>127.0.0.1:targetPort</c> that can freeze the connections it holds: after
/// <see cref="FreezeOpenConnections"/> their bytes stop flowing both ways while the sockets stay open (a half-dead
/// connection: no FIN, no RST, as behind a NAT or load balancer that dropped its state). Connections opened afterwards
/// flow normally.
/// </summary>
public sealed class FreezingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _connections = [];
    private readonly Task _accepting;
    private CancellationTokenSource _freeze = new();

    private FreezingTcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts a proxy to <paramref name="targetPort"/> on 127.0.0.1.</summary>
    public static FreezingTcpProxy Start(int targetPort) => new(targetPort);

    /// <summary>Stops forwarding on every connection open now; they stay open, silent, until the proxy is disposed.</summary>
    public void FreezeOpenConnections()
    {
        var frozen = Interlocked.Exchange(ref _freeze, new CancellationTokenSource());
        frozen.Cancel();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_connections)
        {
            foreach (var (client, server) in _connections)
            {
                client.Dispose();
                server.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add((client, server));
            }

            var frozen = _freeze.Token;
            _ = PumpAsync(client.GetStream(), server.GetStream(), frozen);
            _ = PumpAsync(server.GetStream(), client.GetStream(), frozen);
        }
    }

    // Copies until either side closes, or stops copying (keeping both sockets open) once frozen.
    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken frozen)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, frozen);
                if (read == 0)
                {
                    to.Socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), frozen);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Frozen (sockets left open) or closed.
        }
    }
}
