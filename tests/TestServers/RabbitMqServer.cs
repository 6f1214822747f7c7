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

    /// <summary>
    /// What a failing test needs to tell a broker fault from a client fault: whether the node's process runs, and the
    /// last <paramref name="lines"/> lines of its log files (under <c>node/log</c>) and of its console output.
    /// </summary>
    public string Diagnostics(int lines = 30)
    {
        var node = Path.Combine(_directory, "node");
        var pid = ProcessId;
        var running = pid is { } id && Directory.Exists($"/proc/{id}");
        var text = new System.Text.StringBuilder($"RabbitMQ node on port {Port}: process {(pid?.ToString() ?? "none")} {(running ? "running" : "not running")}\n");
        var logs = Directory.Exists(Path.Combine(node, "log")) ? Directory.GetFiles(Path.Combine(node, "log"), "*.log") : [];
        foreach (var file in logs.Append(Path.Combine(node, "server.log")).Where(File.Exists))
        {
            text.Append("--- ").Append(Path.GetFileName(file)).Append('\n');
            foreach (var line in File.ReadLines(file).TakeLast(lines))
            {
                text.Append(line).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("rabbitmq.sh"), "stop", Path.Combine(_directory, "node")], TimeSpan.FromMinutes(1));
        Directory.Delete(_directory, recursive: true);
    }
}
