namespace VectorPipeline.TestServers;

/// <summary>
/// A throw-away RabbitMQ node started through <c>eng/rabbitmq.sh</c> on free ports in a temporary folder,
/// stopped (with its own epmd) and deleted on dispose. Needs root (the node runs as <c>rabbitmq</c>).
/// </summary>
public sealed class RabbitMqServer : IAsyncDisposable
{
    private readonly string _directory;

    private readonly int _distributionPort;
    private readonly int _epmdPort;

    private RabbitMqServer(string directory, int port, int distributionPort, int epmdPort)
    {
        _directory = directory;
        Port = port;
        _distributionPort = distributionPort;
        _epmdPort = epmdPort;
    }

    /// <summary>AMQP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Process id of the node's start command (its tree holds the Erlang VM), or null when the node is not running.</summary>
    public int? ProcessId => PostgresServer.ReadPid(Path.Combine(_directory, "node", "rabbitmq.pid"));

    /// <summary>The broker address in the <c>ConnectionStrings__messaging</c> form.</summary>
    public string ConnectionString => $"amqp://guest:guest@127.0.0.1:{Port}/";

    /// <summary>Starts a node and waits until it accepts AMQP connections.</summary>
    public static async Task<RabbitMqServer> StartAsync()
    {
        var directory = ProcessRunner.CreateTempDirectory("vp-rabbitmq");
        var port = ProcessRunner.FreePort();
        var distributionPort = ProcessRunner.FreePort();
        var epmdPort = ProcessRunner.FreePort();
        await ProcessRunner.RunAsync("bash",
            [RepositoryPaths.EngScript("rabbitmq.sh"), "start", Path.Combine(directory, "node"), port.ToString(), distributionPort.ToString(), epmdPort.ToString()],
            TimeSpan.FromMinutes(2));
        return new RabbitMqServer(directory, port, distributionPort, epmdPort);
    }

    /// <summary>Stops the node (clients lose their connections); its data (durable queues, persistent messages) stays for <see cref="StartAgainAsync"/>.</summary>
    public Task StopAsync() =>
        ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("rabbitmq.sh"), "stop", Path.Combine(_directory, "node")], TimeSpan.FromMinutes(1));

    /// <summary>Starts the node again on the same ports with the same data, after <see cref="StopAsync"/>, and waits until it accepts AMQP connections.</summary>
    public Task StartAgainAsync() =>
        ProcessRunner.RunAsync("bash",
            [RepositoryPaths.EngScript("rabbitmq.sh"), "start", Path.Combine(_directory, "node"), Port.ToString(), _distributionPort.ToString(), _epmdPort.ToString()],
            TimeSpan.FromMinutes(2));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("rabbitmq.sh"), "stop", Path.Combine(_directory, "node")], TimeSpan.FromMinutes(1));
        Directory.Delete(_directory, recursive: true);
    }
}
