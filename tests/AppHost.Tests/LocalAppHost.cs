using System.Net;
using System.Net.Sockets;
using VectorPipeline.Embeddings.Hashing;
using VectorPipeline.TestServers;

namespace VectorPipeline.AppHost.Tests;

/// <summary>
/// Arguments for one AppHost run on the local kind that shares nothing with a developer's own run: a data folder
/// of its own under /tmp (removed by <see cref="Dispose"/>), free ports for PostgreSQL and RabbitMQ, and the fast
/// built-in hashing embedder.
/// </summary>
public sealed class LocalAppHost : IDisposable
{
    public LocalAppHost(int workerReplicas = 2)
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), $"vp-apphost-{Guid.NewGuid():N}");
        Directory.CreateDirectory(DataDirectory);
        // The servers run as the postgres and rabbitmq users, who must be able to enter the folder.
        File.SetUnixFileMode(DataDirectory, (UnixFileMode)0b111_101_101);
        PostgresPort = ProcessRunner.FreePort();
        MessagingPort = FreeRun(3);
        ManagementPort = ProcessRunner.FreePort();
        Arguments =
        [
            "--Parameters:infrastructure=local",
            $"--Parameters:data-dir={DataDirectory}",
            $"--Parameters:postgres-port={PostgresPort}",
            $"--Parameters:messaging-port={MessagingPort}",
            $"--Parameters:messaging-management-port={ManagementPort}",
            $"--Parameters:embed-worker-replicas={workerReplicas}",
            $"--Parameters:embedding-provider={HashingEmbeddingGenerator.ProviderName}",
        ];
    }

    public string DataDirectory { get; }

    public int PostgresPort { get; }

    public int MessagingPort { get; }

    public int ManagementPort { get; }

    public string[] Arguments { get; }

    /// <summary>The checkout's pgai Markdown documents (23 files) from the shared sample data.</summary>
    public static string PgaiDocs => Path.Combine(RepositoryPaths.SampleData, "pgai-docs");

    /// <summary>The 54 SQuAD v1.1 Super Bowl 50 paragraphs from the shared sample data, as documents <c>squad-{n}</c>.</summary>
    public static List<(string Id, string Text)> SquadParagraphs()
    {
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepositoryPaths.SampleData, "squad-v1.1-dev-super-bowl-50.json")));
        return json.RootElement.GetProperty("data").EnumerateArray()
            .SelectMany(article => article.GetProperty("paragraphs").EnumerateArray())
            .Select((paragraph, n) => ($"squad-{n}", paragraph.GetProperty("context").GetString()!))
            .ToList();
    }

    /// <summary>
    /// Processes of this run still alive: any whose command line names the data folder or one of the ports (PostgreSQL,
    /// RabbitMQ's node and port mapper), and any of <paramref name="pids"/>.
    /// </summary>
    public IReadOnlyList<string> Leftovers(IEnumerable<int> pids)
    {
        var known = pids.ToHashSet();
        var markers = new[] { DataDirectory, $"-port {MessagingPort + 1}", $"-p {PostgresPort}" };
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (commandLine.Length > 0 && (known.Contains(pid) || markers.Any(m => commandLine.Contains(m, StringComparison.Ordinal))))
            {
                found.Add($"{pid}: {commandLine}");
            }
        }

        return found;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A server still writing; the leftover check reports it.
        }
    }

    /// <summary>
    /// A free port above 45535 whose next <paramref name="count"/> - 1 ports are free too: RabbitMQ's AMQP port, its port
    /// mapper (+1) and, above 45535, its distribution port (+2; see LocalInfrastructure).
    /// </summary>
    private static int FreeRun(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var first = Random.Shared.Next(45536, 65536 - count);
            if (Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
