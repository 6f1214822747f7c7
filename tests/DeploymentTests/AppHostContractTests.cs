using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.Messaging;
using VectorPipeline.VectorStore;

namespace VectorPipeline.DeploymentTests;

/// <summary>
/// The configuration AppHost hands each project is exactly what the service reads. AppHost does not build
/// here (Aspire packages do not restore), so its Program.cs is read as text; the services' side is the
/// real binding code, fed with values in the formats Aspire 13.5 produces.
/// </summary>
public sealed partial class AppHostContractTests
{
    private static readonly AppHostModel AppHost = AppHostModel.Parse(Repository.Read("AppHost", "Program.cs"));

    public static TheoryData<string> Services => [.. Repository.ServiceProjects.Keys];

    [Fact]
    public void AppHost_compiles_the_same_names_file_as_the_services()
    {
        var project = Repository.Read("AppHost", "AppHost.csproj");
        Assert.Contains(@"<Compile Include=""..\ResourceNames\ResourceNames.cs""", project, StringComparison.Ordinal);
        Assert.True(File.Exists(Repository.Path("ResourceNames", "ResourceNames.cs")));
    }

    [Fact]
    public void Services_read_the_shared_connection_string_names()
    {
        Assert.Equal(ResourceNames.VectorDb, VectorStoreExtensions.ConnectionStringName);
        Assert.Equal(ResourceNames.Messaging, MessagingExtensions.ConnectionStringName);
        Assert.Equal(ResourceNames.Embeddings, EmbeddingModelCatalog.ConnectionStringName);

        // The libraries name no connection string by a literal of their own.
        foreach (var file in new[] { Repository.Path("VectorStore", "VectorStoreExtensions.cs"), Repository.Path("Messaging", "MessagingExtensions.cs"),
                     Repository.Path("Embeddings", "Models", "EmbeddingModelCatalog.cs") })
        {
            var source = File.ReadAllText(file);
            Assert.DoesNotMatch(ConnectionStringLiteral(), source);
            Assert.Contains("ResourceNames.", source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AppHost_names_every_resource_through_the_shared_names()
    {
        Assert.Empty(AppHost.LiteralResourceNames);
        Assert.Equal(
            [ResourceNames.Postgres, ResourceNames.VectorDb, ResourceNames.Messaging, ResourceNames.Ollama, ResourceNames.Embeddings],
            AppHost.Resources.Values.OrderBy(Order));
        Assert.Equal(Repository.ServiceProjects.Keys.Order(), AppHost.Projects.Keys.Order());

        static int Order(string name) => Array.IndexOf(
            [ResourceNames.Postgres, ResourceNames.VectorDb, ResourceNames.Messaging, ResourceNames.Ollama, ResourceNames.Embeddings], name);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Each_project_gets_exactly_the_connection_strings_its_service_reads(string service)
    {
        var project = AppHost.Projects[service];
        Assert.Equal(Repository.ServiceProjects[service].Replace('.', '_'), project.ProjectType);
        Assert.Equal(Repository.ConnectionStringsReadBy(service).Order(), project.References.Order());
        // Each waits for what it references (the database exists, the broker accepts, the model is pulled).
        Assert.Equal(project.References.Order(), project.WaitsFor.Order());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Each_project_reports_health_on_a_path_ServiceDefaults_maps(string service)
    {
        var path = AppHost.Projects[service].HealthCheckPath;
        Assert.Equal("/health", path);
        Assert.Contains(path!, Repository.HealthPaths());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Projects_that_embed_get_the_model_dimensions(string service)
    {
        Assert.Contains(ResourceNames.Embeddings, Repository.ConnectionStringsReadBy(service));
        Assert.Contains(nameof(ConfigurationKeys.EmbeddingDimensions), AppHost.Projects[service].EnvironmentKeys);
        Assert.Contains(OllamaEmbeddingModels.Default, OllamaEmbeddingModels.Dimensions.Keys);
    }

    [Fact]
    public void Postgres_image_is_set_before_the_data_volume()
    {
        var statement = AppHost.Statements.Single(s => s.Contains(".AddPostgres(", StringComparison.Ordinal));
        var image = statement.IndexOf(@".WithImage(""pgvector/pgvector"", ""pg17"")", StringComparison.Ordinal);
        var volume = statement.IndexOf(".WithDataVolume()", StringComparison.Ordinal);
        Assert.True(image >= 0 && volume > image, "WithImage(\"pgvector/pgvector\", \"pg17\") must come before WithDataVolume()");
    }

    [Fact]
    public void No_service_reads_service_discovery_and_the_AppHost_gives_none()
    {
        // services__{name}__http__0 is what WithReference(project) injects; no service calls another.
        foreach (var project in AppHost.Projects.Values)
        {
            Assert.DoesNotContain(project.References, AppHost.Projects.ContainsKey);
        }

        foreach (var folder in Repository.ServiceProjects.Values.Append("ServiceDefaults"))
        {
            foreach (var file in Directory.EnumerateFiles(Repository.Path(folder), "*.cs", SearchOption.AllDirectories)
                         .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
            {
                var source = File.ReadAllText(file);
                Assert.DoesNotContain("services__", source, StringComparison.Ordinal);
                Assert.DoesNotContain("AddServiceDiscovery", source, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void ServiceDefaults_reads_the_OpenTelemetry_variables_Aspire_injects()
    {
        // Aspire sets OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES on every project;
        // the OTLP exporter reads the endpoint's companions (protocol, headers) itself, and the SDK's environment
        // variable resource detector reads OTEL_RESOURCE_ATTRIBUTES.
        var source = string.Concat(Directory.EnumerateFiles(Repository.Path("ServiceDefaults"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)).Select(File.ReadAllText));
        foreach (var (constant, value) in new[]
                 {
                     (nameof(ConfigurationKeys.OtlpEndpoint), ConfigurationKeys.OtlpEndpoint),
                     (nameof(ConfigurationKeys.OtelServiceName), ConfigurationKeys.OtelServiceName),
                 })
        {
            Assert.True(source.Contains($"\"{value}\"", StringComparison.Ordinal) || source.Contains($"ConfigurationKeys.{constant}", StringComparison.Ordinal),
                $"ServiceDefaults does not read {value}");
        }

        Assert.True(source.Contains("AddEnvironmentVariableDetector()", StringComparison.Ordinal)
            || source.Contains($"\"{ConfigurationKeys.OtelResourceAttributes}\"", StringComparison.Ordinal),
            $"ServiceDefaults does not read {ConfigurationKeys.OtelResourceAttributes}");
    }

    [Fact]
    public void The_Aspire_database_connection_string_opens_the_vectordb_database()
    {
        // PostgresDatabaseResource: "{server};Database={name}", server = "Host=..;Port=..;Username=..;Password=..".
        var builder = ServiceBuilder(new()
        {
            [ConfigurationKeys.ConnectionString(ResourceNames.VectorDb)] = "Host=localhost;Port=54321;Username=postgres;Password=s3cret;Database=vectordb",
        });
        builder.AddVectorStore();
        using var services = builder.Services.BuildServiceProvider();
        var connection = new NpgsqlConnectionStringBuilder(services.GetRequiredService<NpgsqlDataSource>().ConnectionString);
        Assert.Equal(("localhost", 54321, "vectordb", "postgres"), (connection.Host, connection.Port, connection.Database, connection.Username));
    }

    [Fact]
    public void The_Aspire_broker_connection_string_is_understood()
    {
        // RabbitMQServerResource: "amqp://{user}:{password, URI-escaped}@{host}:{port}", no trailing slash.
        const string aspireForm = "amqp://guest:p%40ss%2Fword@localhost:5673";
        var builder = ServiceBuilder(new() { [ConfigurationKeys.ConnectionString(ResourceNames.Messaging)] = aspireForm });
        builder.AddMessaging();
        Assert.Equal(new RabbitMqConnection("localhost", 5673, "/", "guest", "p@ss/word"), RabbitMqConnection.Parse(aspireForm));
    }

    [Fact]
    public void The_Aspire_Ollama_model_connection_string_and_dimensions_make_the_primary_model()
    {
        // OllamaModelResource: "{ollama};Model={model}", ollama = "Endpoint=http://host:port".
        var dimensions = OllamaEmbeddingModels.Dimensions[OllamaEmbeddingModels.Default];
        var configuration = Configuration(new()
        {
            [ConfigurationKeys.ConnectionString(ResourceNames.Embeddings)] = $"Endpoint=http://localhost:11434;Model={OllamaEmbeddingModels.Default}",
            [ConfigurationKeys.EmbeddingDimensions] = dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var primary = EmbeddingModelCatalog.FromConfiguration(configuration, NullLoggerFactory.Instance).Primary;
        Assert.Equal(("ollama", OllamaEmbeddingModels.Default, dimensions, "http://localhost:11434"),
            (primary.Provider, primary.Name, primary.Dimensions, primary.Options.Endpoint));

        // Without the dimensions the services refuse to start: that is why AppHost passes them.
        var withoutDimensions = Configuration(new()
        {
            [ConfigurationKeys.ConnectionString(ResourceNames.Embeddings)] = $"Endpoint=http://localhost:11434;Model={OllamaEmbeddingModels.Default}",
        });
        var error = Assert.Throws<InvalidOperationException>(() => EmbeddingModelCatalog.FromConfiguration(withoutDimensions, NullLoggerFactory.Instance));
        Assert.Contains("Embedding:Dimensions", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Configuration from environment-form keys, mapped as the environment variables provider does (<c>__</c> → <c>:</c>).</summary>
    private static IConfiguration Configuration(Dictionary<string, string?> environment) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(environment.ToDictionary(e => e.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), e => e.Value))
            .Build();

    private static HostApplicationBuilder ServiceBuilder(Dictionary<string, string?> environment)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddConfiguration(Configuration(environment));
        builder.Services.AddLogging();
        return builder;
    }

    [GeneratedRegex("""GetConnectionString\(\s*"[^"]*"\s*\)""")]
    private static partial Regex ConnectionStringLiteral();
}

/// <summary>What AppHost/Program.cs declares, read from its text.</summary>
internal sealed partial record AppHostModel(
    IReadOnlyList<string> Statements,
    IReadOnlyDictionary<string, string> Resources,
    IReadOnlyDictionary<string, AppHostProject> Projects,
    IReadOnlyList<string> LiteralResourceNames)
{
    public static AppHostModel Parse(string source)
    {
        var code = LineComment().Replace(source, "");
        var statements = code.Split(';').Select(s => Whitespace().Replace(s, " ").Trim()).Where(s => s.Length > 0).ToList();
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var projects = new Dictionary<string, AppHostProject>(StringComparer.Ordinal);
        foreach (var statement in statements)
        {
            if (ResourceDeclaration().Match(statement) is { Success: true } resource)
            {
                variables[resource.Groups[1].Value] = NameOf(resource.Groups[2].Value);
            }
            else if (ProjectDeclaration().Match(statement) is { Success: true } project)
            {
                string Resolve(string variable) => variables.TryGetValue(variable, out var name) ? name : variable;
                projects[NameOf(project.Groups[2].Value)] = new AppHostProject(
                    project.Groups[1].Value,
                    WithReference().Matches(statement).Select(m => Resolve(m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal),
                    WaitFor().Matches(statement).Select(m => Resolve(m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal),
                    WithEnvironment().Matches(statement).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal),
                    WithHttpHealthCheck().Match(statement) is { Success: true } health ? health.Groups[1].Value : null);
            }
        }

        return new AppHostModel(statements, variables, projects,
            LiteralName().Matches(code).Select(m => m.Value).ToList());
    }

    private static string NameOf(string constant) =>
        typeof(ResourceNames).GetField(constant)?.GetRawConstantValue() as string
        ?? throw new InvalidOperationException($"ResourceNames.{constant} does not exist.");

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"^var (\w+) = \w+ ?\. ?Add(?:Postgres|Database|RabbitMQ|Ollama|Model)\(ResourceNames\.(\w+)")]
    private static partial Regex ResourceDeclaration();

    [GeneratedRegex(@"^builder ?\. ?AddProject<Projects\.(\w+)>\(ResourceNames\.(\w+)\)")]
    private static partial Regex ProjectDeclaration();

    [GeneratedRegex(@"\.WithReference\((\w+)\)")]
    private static partial Regex WithReference();

    [GeneratedRegex(@"\.WaitFor\((\w+)\)")]
    private static partial Regex WaitFor();

    [GeneratedRegex(@"\.WithEnvironment\(ConfigurationKeys\.(\w+)")]
    private static partial Regex WithEnvironment();

    [GeneratedRegex("""\.WithHttpHealthCheck\("([^"]+)"\)""")]
    private static partial Regex WithHttpHealthCheck();

    /// <summary>A resource or project named by a string literal instead of a <see cref="ResourceNames"/> constant.</summary>
    [GeneratedRegex(@"\.(?:AddPostgres|AddDatabase|AddRabbitMQ|AddOllama|AddModel|AddProject<[\w.]+>)\(\s*""")]
    private static partial Regex LiteralName();
}

/// <summary>One <c>AddProject</c> of AppHost/Program.cs.</summary>
internal sealed record AppHostProject(
    string ProjectType,
    IReadOnlySet<string> References,
    IReadOnlySet<string> WaitsFor,
    IReadOnlySet<string> EnvironmentKeys,
    string? HealthCheckPath);
