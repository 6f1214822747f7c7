using System.Data.Common;
using System.Text.RegularExpressions;
using VectorPipeline.Messaging;
using VectorPipeline.Messaging.Contracts;

namespace VectorPipeline.DeploymentTests;

/// <summary>
/// deploy/k8s, checked against the services: images, ports, probe paths, the configuration each service
/// reads, where credentials live, and the worker's autoscaler and disruption budget.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private const string SecretsName = Kustomize.ExternalSecretName;
    private const string ConfigName = "vectorpipeline-config";

    public static TheoryData<string> Overlays => ["dev", "prod"];

    public static TheoryData<string, string> OverlayServices =>
        new(from overlay in new[] { "dev", "prod" } from service in Repository.ServiceProjects.Keys select (overlay, service));

    private static Kustomize Overlay(string overlay) => Kustomize.Build(Repository.Path("deploy", "k8s", "overlays", overlay));

    [Fact]
    public void Every_manifest_parses_and_names_its_kind()
    {
        var files = Directory.EnumerateFiles(Repository.Path("deploy", "k8s"), "*.yaml", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            foreach (var document in Kustomize.ReadDocuments(file))
            {
                Assert.False(string.IsNullOrEmpty(Yaml.Str(document, "kind")), $"{file}: a document without kind");
                Assert.False(string.IsNullOrEmpty(Yaml.Str(document, "apiVersion")), $"{file}: a document without apiVersion");
                if (Yaml.Str(document, "kind") != "Kustomization")
                {
                    Assert.False(string.IsNullOrEmpty(Yaml.Str(document, "metadata", "name")), $"{file}: a document without metadata.name");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OverlayServices))]
    public void Deployment_runs_the_service_image_on_the_port_it_listens_on(string overlay, string service)
    {
        var k = Overlay(overlay);
        var container = Container(k, service);
        var image = k.ImageOf(Yaml.Str(container, "image")!);
        Assert.Matches($"(^|/){Regex.Escape(Repository.ContainerRepository(service))}:[^:/]+$", image);

        var port = Yaml.Seq(container, "ports").Cast<Dictionary<object, object>>().Single(p => Yaml.Str(p, "name") == "http");
        Assert.Equal(Environment(k, service)["ASPNETCORE_HTTP_PORTS"].Value, Yaml.Str(port, "containerPort"));
    }

    [Theory]
    [MemberData(nameof(OverlayServices))]
    public void Probes_use_the_paths_ServiceDefaults_maps(string overlay, string service)
    {
        var container = Container(Overlay(overlay), service);
        var mapped = Repository.HealthPaths();
        Assert.Equal("/alive", Yaml.Str(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal("/alive", Yaml.Str(container, "startupProbe", "httpGet", "path"));
        Assert.Equal("/health", Yaml.Str(container, "readinessProbe", "httpGet", "path"));
        foreach (var probe in new[] { "livenessProbe", "startupProbe", "readinessProbe" })
        {
            Assert.Contains(Yaml.Str(container, probe, "httpGet", "path")!, mapped);
            Assert.Equal("http", Yaml.Str(container, probe, "httpGet", "port"));
        }
    }

    [Theory]
    [MemberData(nameof(OverlayServices))]
    public void Containers_request_and_limit_cpu_and_memory(string overlay, string service)
    {
        var container = Container(Overlay(overlay), service);
        foreach (var kind in new[] { "requests", "limits" })
        {
            foreach (var resource in new[] { "cpu", "memory" })
            {
                Assert.False(string.IsNullOrEmpty(Yaml.Str(container, "resources", kind, resource)), $"{service}: resources.{kind}.{resource} missing");
            }
        }
    }

    [Theory]
    [MemberData(nameof(OverlayServices))]
    public void Every_connection_string_the_service_reads_is_provided(string overlay, string service)
    {
        var k = Overlay(overlay);
        var environment = Environment(k, service);
        foreach (var resource in Repository.ConnectionStringsReadBy(service))
        {
            var key = ConfigurationKeys.ConnectionString(resource);
            Assert.True(environment.TryGetValue(key, out var value), $"{overlay}/{service}: {key} is not provided");
            Assert.False(string.IsNullOrWhiteSpace(value.Value), $"{overlay}/{service}: {key} is empty");
            if (resource is ResourceNames.VectorDb or ResourceNames.Messaging)
            {
                Assert.True(value.FromSecret, $"{overlay}/{service}: {key} carries a password and must come from a Secret");
            }
        }

        Assert.Equal(service, environment[ConfigurationKeys.OtelServiceName].Value);
    }

    [Theory]
    [MemberData(nameof(OverlayServices))]
    public void The_embedding_model_has_its_dimensions(string overlay, string service)
    {
        var environment = Environment(Overlay(overlay), service);
        var connection = new DbConnectionStringBuilder { ConnectionString = environment[ConfigurationKeys.ConnectionString(ResourceNames.Embeddings)].Value };
        Assert.True(connection.ContainsKey("Endpoint") && connection.ContainsKey("Model"), "Endpoint=...;Model=... expected");
        var model = (string)connection["Model"];
        Assert.True(environment.TryGetValue(ConfigurationKeys.EmbeddingDimensions, out var dimensions), $"{ConfigurationKeys.EmbeddingDimensions} is not provided");
        if (OllamaEmbeddingModels.Dimensions.TryGetValue(model, out var known))
        {
            Assert.Equal(known.ToString(System.Globalization.CultureInfo.InvariantCulture), dimensions.Value);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Configuration_maps_and_plain_values_hold_no_credentials(string overlay)
    {
        var k = Overlay(overlay);
        var plain = k.ConfigMaps.SelectMany(c => c.Value.Select(e => ($"ConfigMap {c.Key}", e.Key, e.Value)))
            .Concat(k.OfKind("ConfigMap").SelectMany(c => Yaml.Map(c, "data").Select(e => ($"ConfigMap {Yaml.Str(c, "metadata", "name")}", (string)e.Key, e.Value as string ?? ""))))
            .Concat(PodContainers(k).SelectMany(c => Yaml.Seq(c.Container, "env").Cast<Dictionary<object, object>>()
                .Where(e => Yaml.Str(e, "value") is not null)
                .Select(e => ($"{c.Owner} env", Yaml.Str(e, "name")!, Yaml.Str(e, "value")!))));
        foreach (var (where, key, value) in plain)
        {
            Assert.DoesNotMatch(SecretKeyName(), key);
            Assert.DoesNotMatch(CredentialInValue(), value);
            Assert.False(key.StartsWith(ConfigurationKeys.ConnectionStringPrefix, StringComparison.Ordinal)
                && key != ConfigurationKeys.ConnectionString(ResourceNames.Embeddings), $"{where}: {key} belongs in a Secret");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Workers_scale_on_the_chunk_queue_with_the_broker_address_from_the_secret(string overlay)
    {
        var k = Overlay(overlay);
        var scaled = k.Single("ScaledObject", ResourceNames.EmbedWorker);
        Assert.Equal(ResourceNames.EmbedWorker, Yaml.Str(scaled, "spec", "scaleTargetRef", "name"));
        Assert.Single(k.OfKind("Deployment"), d => Yaml.Str(d, "metadata", "name") == ResourceNames.EmbedWorker);
        Assert.Null(Yaml.At(k.Single("Deployment", ResourceNames.EmbedWorker), "spec", "replicas"));

        var trigger = Yaml.Seq(scaled, "spec", "triggers").Cast<Dictionary<object, object>>().Single();
        Assert.Equal("rabbitmq", Yaml.Str(trigger, "type"));
        Assert.Equal(EmbedChunk.QueueName, Yaml.Str(trigger, "metadata", "queueName"));
        Assert.Equal("QueueLength", Yaml.Str(trigger, "metadata", "mode"));

        var authentication = k.Single("TriggerAuthentication", Yaml.Str(trigger, "authenticationRef", "name")!);
        var host = Yaml.Seq(authentication, "spec", "secretTargetRef").Cast<Dictionary<object, object>>().Single(r => Yaml.Str(r, "parameter") == "host");
        var address = k.Secrets[Yaml.Str(host, "name")!][Yaml.Str(host, "key")!];
        Assert.Equal(ConfigurationKeys.ConnectionString(ResourceNames.Messaging), Yaml.Str(host, "key"));
        // KEDA needs the trailing slash when the address names no virtual host; the services read the same value.
        Assert.EndsWith("/", address, StringComparison.Ordinal);
        Assert.Equal("/", RabbitMqConnection.Parse(address).VirtualHost);

        var budget = k.Single("PodDisruptionBudget", ResourceNames.EmbedWorker);
        Assert.Equal(PodLabels(k, ResourceNames.EmbedWorker)["app.kubernetes.io/name"], Yaml.Str(budget, "spec", "selector", "matchLabels", "app.kubernetes.io/name"));
        Assert.True(int.Parse(Yaml.Str(budget, "spec", "minAvailable")!) < int.Parse(Yaml.Str(scaled, "spec", "minReplicaCount")!),
            "minAvailable must stay below the smallest worker count, or no node can ever be drained");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Services_select_the_pods_and_target_their_http_port(string overlay)
    {
        var k = Overlay(overlay);
        foreach (var name in new[] { ResourceNames.IngestApi, ResourceNames.SearchApi })
        {
            var service = k.Single("Service", name);
            Assert.Equal(PodLabels(k, name)["app.kubernetes.io/name"], Yaml.Str(service, "spec", "selector", "app.kubernetes.io/name"));
            Assert.Equal("http", Yaml.Str(service, "spec", "ports", 0, "targetPort"));
        }
    }

    [Fact]
    public void Dev_infrastructure_matches_the_connection_strings()
    {
        var k = Overlay("dev");
        var secrets = k.Secrets[SecretsName];
        var credentials = k.Secrets["infrastructure-credentials"];
        var serviceNames = k.OfKind("Service").Select(s => Yaml.Str(s, "metadata", "name")).ToHashSet();

        var database = new DbConnectionStringBuilder { ConnectionString = secrets[ConfigurationKeys.ConnectionString(ResourceNames.VectorDb)] };
        Assert.Contains((string)database["Host"], serviceNames);
        Assert.Equal(credentials["POSTGRES_PASSWORD"], (string)database["Password"]);
        var postgres = Yaml.Map(k.Single("StatefulSet", ResourceNames.Postgres), "spec", "template", "spec", "containers", 0);
        Assert.Equal("pgvector/pgvector:pg17", Yaml.Str(postgres, "image"));
        Assert.Contains(Yaml.Seq(postgres, "env").Cast<Dictionary<object, object>>(),
            e => Yaml.Str(e, "name") == "POSTGRES_DB" && Yaml.Str(e, "value") == (string)database["Database"]);

        var broker = RabbitMqConnection.Parse(secrets[ConfigurationKeys.ConnectionString(ResourceNames.Messaging)]);
        Assert.Contains(broker.Host, serviceNames);
        Assert.Equal((credentials["RABBITMQ_DEFAULT_USER"], credentials["RABBITMQ_DEFAULT_PASS"]), (broker.Username, broker.Password));

        var embeddings = new DbConnectionStringBuilder { ConnectionString = k.ConfigMaps[ConfigName][ConfigurationKeys.ConnectionString(ResourceNames.Embeddings)] };
        Assert.Contains(new Uri((string)embeddings["Endpoint"]).Host, serviceNames);
        var pull = Yaml.Seq(k.Single("Job", "ollama-pull-model"), "spec", "template", "spec", "containers", 0, "command").Cast<string>().ToList();
        Assert.Equal(["ollama", "pull", (string)embeddings["Model"]], pull);
    }

    internal static Dictionary<object, object> Container(Kustomize k, string service) =>
        Yaml.Map(k.Single("Deployment", service), "spec", "template", "spec", "containers", 0);

    private static Dictionary<object, object> PodLabels(Kustomize k, string deployment) =>
        Yaml.Map(k.Single("Deployment", deployment), "spec", "template", "metadata", "labels");

    private static IEnumerable<(string Owner, Dictionary<object, object> Container)> PodContainers(Kustomize k) =>
        from kind in new[] { "Deployment", "StatefulSet", "Job" }
        from document in k.OfKind(kind)
        from container in Yaml.Seq(document, "spec", "template", "spec", "containers").Cast<Dictionary<object, object>>()
        select ($"{kind} {Yaml.Str(document, "metadata", "name")}", container);

    /// <summary>The variables a service's container gets: envFrom ConfigMaps and Secrets, then env (which wins).</summary>
    internal static Dictionary<string, (string Value, bool FromSecret)> Environment(Kustomize k, string service)
    {
        var container = Container(k, service);
        var result = new Dictionary<string, (string, bool)>(StringComparer.Ordinal);
        foreach (var source in Yaml.Seq(container, "envFrom").Cast<Dictionary<object, object>>())
        {
            if (Yaml.Str(source, "configMapRef", "name") is { } configMap)
            {
                Assert.True(k.ConfigMaps.ContainsKey(configMap), $"{service}: ConfigMap {configMap} does not exist");
                foreach (var (key, value) in k.ConfigMaps[configMap])
                {
                    result[key] = (value, false);
                }
            }

            if (Yaml.Str(source, "secretRef", "name") is { } secret)
            {
                Assert.True(k.Secrets.ContainsKey(secret), $"{service}: Secret {secret} does not exist");
                foreach (var (key, value) in k.Secrets[secret])
                {
                    result[key] = (value, true);
                }
            }
        }

        foreach (var variable in Yaml.Seq(container, "env").Cast<Dictionary<object, object>>())
        {
            var name = Yaml.Str(variable, "name")!;
            if (Yaml.Str(variable, "value") is { } value)
            {
                result[name] = (value, false);
            }
            else if (Yaml.Map(variable, "valueFrom", "secretKeyRef") is { Count: > 0 } secretKey)
            {
                var secret = Yaml.Str(secretKey, "name")!;
                var key = Yaml.Str(secretKey, "key")!;
                Assert.True(k.Secrets.TryGetValue(secret, out var keys) && keys.ContainsKey(key), $"{service}: Secret {secret} has no key {key}");
                result[name] = (keys[key], true);
            }
            else if (Yaml.Map(variable, "valueFrom", "configMapKeyRef") is { Count: > 0 } configKey)
            {
                result[name] = (k.ConfigMaps[Yaml.Str(configKey, "name")!][Yaml.Str(configKey, "key")!], false);
            }
            else
            {
                result[name] = ("(from the pod)", false);
            }
        }

        return result;
    }

    [GeneratedRegex("(?i)(password|passwd|apikey|api_key|secret|token)")]
    private static partial Regex SecretKeyName();

    /// <summary>A password in a connection string (<c>Password=</c>) or in a URI's user information (<c>scheme://user:password@</c>).</summary>
    [GeneratedRegex(@"(?i)(password\s*=|pwd\s*=|://[^/@:\s]+:[^@\s]+@)")]
    private static partial Regex CredentialInValue();
}
