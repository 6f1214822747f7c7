using System.Text.RegularExpressions;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Messaging;
using VectorPipeline.VectorStore;

namespace VectorPipeline.DeploymentTests;

/// <summary>Files of the checkout, and what the services read, derived from their source.</summary>
internal static partial class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(Path(parts));

    /// <summary>Resource name → project folder of the three services.</summary>
    public static IReadOnlyDictionary<string, string> ServiceProjects { get; } = new Dictionary<string, string>
    {
        [ResourceNames.IngestApi] = "Ingest.Api",
        [ResourceNames.EmbedWorker] = "Embed.Worker",
        [ResourceNames.SearchApi] = "Search.Api",
    };

    /// <summary>
    /// The connection strings a service reads, from the library calls in its <c>Extensions/Extensions.cs</c>:
    /// <c>AddVectorStore</c>, <c>AddMessaging</c>, <c>AddEmbeddings</c>, each with the name that library reads.
    /// </summary>
    public static IReadOnlySet<string> ConnectionStringsReadBy(string service)
    {
        var source = Read(ServiceProjects[service], "Extensions", "Extensions.cs");
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (source.Contains(".AddVectorStore(", StringComparison.Ordinal))
        {
            names.Add(VectorStoreExtensions.ConnectionStringName);
        }

        if (source.Contains(".AddMessaging(", StringComparison.Ordinal))
        {
            names.Add(MessagingExtensions.ConnectionStringName);
        }

        if (source.Contains(".AddEmbeddings(", StringComparison.Ordinal))
        {
            names.Add(EmbeddingModelCatalog.ConnectionStringName);
        }

        return names;
    }

    /// <summary>The paths ServiceDefaults maps health checks on (<c>MapHealthChecks("...")</c>).</summary>
    public static IReadOnlySet<string> HealthPaths() =>
        MapHealthChecks().Matches(Read("ServiceDefaults", "Extensions.cs")).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The <c>ContainerRepository</c> a service's project file names.</summary>
    public static string ContainerRepository(string service) =>
        ContainerRepositoryElement().Match(Read(ServiceProjects[service], ServiceProjects[service] + ".csproj")) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException($"{ServiceProjects[service]}.csproj names no ContainerRepository.");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "VectorPipeline.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("VectorPipeline.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("""MapHealthChecks\("([^"]+)"[,)]""")]
    private static partial Regex MapHealthChecks();

    [GeneratedRegex("<ContainerRepository>([^<]+)</ContainerRepository>")]
    private static partial Regex ContainerRepositoryElement();
}
