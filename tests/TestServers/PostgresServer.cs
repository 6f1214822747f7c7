namespace VectorPipeline.TestServers;

/// <summary>
/// A throw-away PostgreSQL 15 server with pgvector, started through <c>eng/postgres.sh</c> on a free port in
/// a temporary folder, and stopped and deleted on dispose. Needs root (the server runs as <c>postgres</c>).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _directory;

    private PostgresServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    /// <summary>Loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The postmaster's process id (first line of <c>postmaster.pid</c>), or null when the server is not running.</summary>
    public int? ProcessId => ReadPid(Path.Combine(_directory, "data", "postmaster.pid"));

    /// <summary>Npgsql connection string of <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database = "vectordb") =>
        $"Host=127.0.0.1;Port={Port};Database={database};Username=postgres;Pooling=true;Maximum Pool Size=50";

    /// <summary>Initialises and starts a server with an empty database <c>vectordb</c>.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var directory = ProcessRunner.CreateTempDirectory("vp-postgres");
        var port = ProcessRunner.FreePort();
        await ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("postgres.sh"), "start", Path.Combine(directory, "data"), port.ToString(), "vectordb"], TimeSpan.FromMinutes(2));
        return new PostgresServer(directory, port);
    }

    /// <summary>Stops the server (fast shutdown: open connections are closed); its data stays for <see cref="StartAgainAsync"/>.</summary>
    public Task StopAsync() =>
        ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("postgres.sh"), "stop", Path.Combine(_directory, "data")], TimeSpan.FromMinutes(1));

    /// <summary>Starts the server again on the same port with the same data, after <see cref="StopAsync"/>.</summary>
    public Task StartAgainAsync() =>
        ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("postgres.sh"), "start", Path.Combine(_directory, "data"), Port.ToString(), "vectordb"], TimeSpan.FromMinutes(2));

    /// <summary>Creates another empty database on this server and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await ProcessRunner.RunAsync("/usr/lib/postgresql/15/bin/createdb", ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", name], TimeSpan.FromSeconds(30));
        return ConnectionString(name);
    }

    /// <summary>The number on the first line of a pid file, or null when there is none.</summary>
    internal static int? ReadPid(string file) =>
        File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault(), out var pid) ? pid : null;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("bash", [RepositoryPaths.EngScript("postgres.sh"), "stop", Path.Combine(_directory, "data")], TimeSpan.FromMinutes(1));
        Directory.Delete(_directory, recursive: true);
    }
}
