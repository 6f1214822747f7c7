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
/// The services' side of the AppHost contract: the real binding code, fed with connection strings in the formats
/// the AppHost's resources produce (both infrastructure kinds give the same shapes). What the AppHost hands each
/// project is checked on its real manifest in <see cref="AppHostManifestTests"/>.
/// </summary>
public sealed partial class AppHostContractTests
{
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
    public void No_service_reads_service_discovery()
    {
        // services__{name}__http__0 is what WithReference(project) injects; no service calls another
        // (AppHostManifestTests checks that the manifest gives none).
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
