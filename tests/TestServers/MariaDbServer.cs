using System.Diagnostics;
using System.Text;

namespace VectorPipeline.TestServers;

/// <summary>
/// A throw-away MariaDB 10.11 server (Debian's <c>mariadb-server</c>: <c>eng/install-prereqs.sh --with-mariadb</c>) on a free
/// port in a temporary folder: <c>mariadb-install-db</c> initialises its data, <c>mariadbd</c> runs as the
/// <c>mysql</c> user (which owns the data and socket folders) bound to 127.0.0.1, with a user <c>vp</c> (password
/// <c>vp</c>) that may do anything; stopped and deleted on dispose. Needs root.
/// </summary>
public sealed class MariaDbServer : IAsyncDisposable
{
    private const string User = "vp";
    private const string Password = "vp";

    private readonly string _directory;
    private readonly Process _process;
    private readonly StringBuilder _log;

    private MariaDbServer(string directory, int port, Process process, StringBuilder log)
    {
        _directory = directory;
        Port = port;
        _process = process;
        _log = log;
    }

    /// <summary>Loopback port the server listens on.</summary>
    public int Port { get; }

    private string Socket => Path.Combine(_directory, "run", "mysqld.sock");

    /// <summary>MySqlConnector connection string of <paramref name="database"/> on this server, as user <c>vp</c> over TCP.</summary>
    public string ConnectionString(string database) => $"Server=127.0.0.1;Port={Port};User ID={User};Password={Password};Database={database}";

    /// <summary>Initialises a data folder and starts a server; returns once it answers a ping and user <c>vp</c> exists.</summary>
    /// <exception cref="InvalidOperationException">Initialising or starting failed, or the server did not answer a ping within a minute; the message holds the output.</exception>
    public static async Task<MariaDbServer> StartAsync()
    {
        var directory = ProcessRunner.CreateTempDirectory("vp-mariadb");
        var data = Path.Combine(directory, "data");
        var run = Path.Combine(directory, "run");
        foreach (var folder in new[] { data, run })
        {
            Directory.CreateDirectory(folder);
            await ProcessRunner.RunAsync("chown", ["mysql:mysql", folder], TimeSpan.FromSeconds(10));
        }

        await ProcessRunner.RunAsync("mariadb-install-db",
            ["--no-defaults", $"--datadir={data}", "--user=mysql", "--auth-root-authentication-method=socket", "--skip-test-db"], TimeSpan.FromMinutes(2));
        var port = ProcessRunner.FreePort();
        var info = new ProcessStartInfo("mariadbd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
                 {
                     "--no-defaults", $"--datadir={data}", $"--port={port}", "--bind-address=127.0.0.1", $"--socket={Path.Combine(run, "mysqld.sock")}",
                     $"--pid-file={Path.Combine(run, "mysqld.pid")}", "--user=mysql", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
                 })
        {
            info.ArgumentList.Add(argument);
        }

        var log = new StringBuilder();
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start mariadbd.");
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new MariaDbServer(directory, port, process, log);
        try
        {
            await server.WaitUntilReadyAsync();
            await server.RootSqlAsync($"CREATE USER '{User}'@'127.0.0.1' IDENTIFIED BY '{Password}'; GRANT ALL ON *.* TO '{User}'@'127.0.0.1'");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database (utf8mb4) and returns its connection string.</summary>
    /// <param name="name">Letters, digits and <c>_</c>.</param>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await RootSqlAsync($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4");
        return ConnectionString(name);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await ProcessRunner.RunAsync("mariadb-admin", ["--no-defaults", $"--socket={Socket}", "-uroot", "shutdown"], TimeSpan.FromSeconds(30));
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }
    }

    private Task RootSqlAsync(string sql) =>
        ProcessRunner.RunAsync("mariadb", ["--no-defaults", $"--socket={Socket}", "-uroot", "-e", sql], TimeSpan.FromSeconds(30));

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            if (_process.HasExited)
            {
                lock (_log)
                {
                    throw new InvalidOperationException($"mariadbd exited with {_process.ExitCode}:\n{_log}");
                }
            }

            try
            {
                await ProcessRunner.RunAsync("mariadb-admin", ["--no-defaults", $"--socket={Socket}", "-uroot", "ping"], TimeSpan.FromSeconds(10));
                return;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}
