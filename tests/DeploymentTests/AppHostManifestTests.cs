using System.Data.Common;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VectorPipeline.DeploymentTests;

/// <summary>
/// deploy/k8s held against the AppHost's own manifest: the same projects, and every connection string, environment
/// key and default the manifest gives a service is in the kustomize base; images and the worker's replicas agree.
/// </summary>
public sealed partial class AppHostManifestTests
{
    /// <summary>Manifest keys the base spells differently: the .NET images read ASPNETCORE_HTTP_PORTS.</summary>
    private static readonly Dictionary<string, string> BaseSpelling = new(StringComparer.Ordinal) { ["HTTP_PORTS"] = "ASPNETCORE_HTTP_PORTS" };

    private static Kustomize Base => Kustomize.Build(Repository.Path("deploy", "k8s", "base"));

    /// <summary>The base as overlays/dev builds it: the Secret holding the connection strings comes from an overlay.</summary>
    private static Kustomize Dev => Kustomize.Build(Repository.Path("deploy", "k8s", "overlays", "dev"));

    public static TheoryData<string> Services => [.. Repository.ServiceProjects.Keys];

    [Fact]
    public void The_manifest_has_every_service_project_and_the_shared_resource_names()
    {
        Assert.Equal(Repository.ServiceProjects.Keys.Order(), AppHostManifest.Projects.Keys.Order());
        foreach (var (name, project) in AppHostManifest.Projects)
        {
            var path = project.GetProperty("path").GetString()!.Replace('\\', '/');
            Assert.EndsWith($"{Repository.ServiceProjects[name]}/{Repository.ServiceProjects[name]}.csproj", path, StringComparison.Ordinal);
        }

        var resources = AppHostManifest.Resources.EnumerateObject().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { ResourceNames.Postgres, ResourceNames.VectorDb, ResourceNames.Messaging, ResourceNames.Ollama, ResourceNames.Embeddings })
        {
            Assert.Contains(name, resources);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Every_environment_key_the_manifest_gives_a_service_is_in_the_base(string service)
    {
        var manifest = AppHostManifest.Environment(service);
        var deployed = KubernetesManifestTests.Environment(Dev, service);
        Assert.NotEmpty(manifest);
        foreach (var key in manifest.Keys)
        {
            var baseKey = BaseSpelling.GetValueOrDefault(key, key);
            Assert.True(deployed.ContainsKey(baseKey), $"{service}: the manifest sets {key}, deploy/k8s/base does not set {baseKey}");
        }

        // Nothing beyond the connection strings is injected per reference ({NAME}_HOST, _PASSWORD, ...), and no service discovery.
        Assert.DoesNotContain(manifest.Keys, key => key.StartsWith("services__", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Connection_strings_name_resources_of_the_manifest_and_the_base_gives_the_same_ones(string service)
    {
        var manifest = AppHostManifest.Environment(service);
        var resources = AppHostManifest.Resources;
        var names = manifest.Where(e => e.Key.StartsWith(ConfigurationKeys.ConnectionStringPrefix, StringComparison.Ordinal))
            .Select(e =>
            {
                var name = e.Key[ConfigurationKeys.ConnectionStringPrefix.Length..];
                Assert.Equal($"{{{name}.connectionString}}", e.Value);
                Assert.True(resources.TryGetProperty(name, out var resource) && resource.TryGetProperty("connectionString", out _),
                    $"{service}: {e.Key} names {name}, which has no connection string in the manifest");
                return name;
            })
            .Order().ToList();
        Assert.Equal(Repository.ConnectionStringsReadBy(service).Order(), names);
        var deployed = KubernetesManifestTests.Environment(Dev, service);
        Assert.Equal(names, deployed.Keys.Where(k => k.StartsWith(ConfigurationKeys.ConnectionStringPrefix, StringComparison.Ordinal))
            .Select(k => k[ConfigurationKeys.ConnectionStringPrefix.Length..]).Order());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Plain_values_and_the_embedding_model_agree_with_the_base(string service)
    {
        var manifest = AppHostManifest.Environment(service);
        var deployed = KubernetesManifestTests.Environment(Dev, service);
        foreach (var (key, value) in manifest.Where(e => !e.Value.Contains('{', StringComparison.Ordinal)))
        {
            Assert.Equal((key, value), (key, deployed[BaseSpelling.GetValueOrDefault(key, key)].Value));
        }

        // Endpoint differs (a binding in the manifest, the in-cluster Service in the base); the model must not.
        var model = ModelOf(AppHostManifest.Resources.GetProperty(ResourceNames.Embeddings).GetProperty("connectionString").GetString()!);
        Assert.Equal(model, ModelOf(deployed[ConfigurationKeys.ConnectionString(ResourceNames.Embeddings)].Value));
        Assert.Equal(OllamaEmbeddingModels.Default, model);
    }

    [Fact]
    public void Images_agree_with_the_base_and_the_dev_overlay()
    {
        foreach (var service in AppHostManifest.Projects.Keys)
        {
            var image = Yaml.Str(KubernetesManifestTests.Container(Base, service), "image")!;
            Assert.Equal(Repository.ContainerRepository(service), image.Split(':')[0]);
        }

        // The infrastructure images the AppHost runs with containers are the ones overlays/dev runs.
        var devImages = Dev.OfKind("StatefulSet")
            .SelectMany(s => Yaml.Seq(s, "spec", "template", "spec", "containers").Cast<Dictionary<object, object>>())
            .Select(c => Yaml.Str(c, "image")!).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { ResourceNames.Postgres, ResourceNames.Messaging, ResourceNames.Ollama })
        {
            var image = AppHostManifest.Resources.GetProperty(name).GetProperty("image").GetString()!;
            var withoutRegistry = DockerHubPrefix().Replace(image, "");
            Assert.True(devImages.Contains(withoutRegistry), $"{name}: the AppHost runs {image}, overlays/dev runs {string.Join(", ", devImages)}");
        }

        var volume = AppHostManifest.Resources.GetProperty(ResourceNames.Postgres).GetProperty("volumes")[0].GetProperty("target").GetString();
        Assert.Equal("/var/lib/postgresql/data", volume);
    }

    [Fact]
    public void The_worker_replica_default_is_the_autoscalers_minimum()
    {
        // Manifest v0 carries no replica count; the AppHost's default is its parameter's value in appsettings.json.
        using var settings = JsonDocument.Parse(Repository.Read("AppHost", "appsettings.json"));
        var replicas = int.Parse(settings.RootElement.GetProperty("Parameters").GetProperty("embed-worker-replicas").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var scaler = Base.Single("ScaledObject", ResourceNames.EmbedWorker);
        Assert.Equal(replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), Yaml.Str(scaler, "spec", "minReplicaCount"));
    }

    private static string? ModelOf(string connectionString) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.TryGetValue("Model", out var model) ? model?.ToString() : null;

    [GeneratedRegex(@"^docker\.io/(library/)?")]
    private static partial Regex DockerHubPrefix();
}
