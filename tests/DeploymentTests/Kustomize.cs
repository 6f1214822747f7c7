using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace VectorPipeline.DeploymentTests;

/// <summary>
/// The part of kustomize the manifests use, enough to check them without kubectl: resources (files and
/// directories), configMapGenerator and secretGenerator literals (with <c>behavior: merge</c>) and
/// <c>images</c>. A <c>secrets.env.example</c> next to a kustomization stands for the Secret
/// <see cref="ExternalSecretName"/> that is created outside git.
/// </summary>
internal sealed class Kustomize
{
    public const string ExternalSecretName = "vectorpipeline-secrets";

    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public List<Dictionary<object, object>> Documents { get; } = [];

    public Dictionary<string, Dictionary<string, string>> ConfigMaps { get; } = [];

    public Dictionary<string, Dictionary<string, string>> Secrets { get; } = [];

    public Dictionary<string, (string? NewName, string? NewTag)> Images { get; } = [];

    public static Kustomize Build(string directory)
    {
        var result = new Kustomize();
        result.Load(directory);
        return result;
    }

    public static IEnumerable<Dictionary<object, object>> ReadDocuments(string file)
    {
        var parser = new Parser(new StringReader(File.ReadAllText(file)));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
            {
                yield return document;
            }
        }
    }

    public IEnumerable<Dictionary<object, object>> OfKind(string kind) => Documents.Where(d => Yaml.Str(d, "kind") == kind);

    public Dictionary<object, object> Single(string kind, string name) =>
        OfKind(kind).Single(d => Yaml.Str(d, "metadata", "name") == name);

    /// <summary>The image a container runs after the <c>images</c> transformations.</summary>
    public string ImageOf(string image)
    {
        var (name, tag) = image.LastIndexOf(':') is var colon and > 0 && !image[colon..].Contains('/') ? (image[..colon], image[(colon + 1)..]) : (image, null);
        return Images.TryGetValue(name, out var change) ? $"{change.NewName ?? name}:{change.NewTag ?? tag}" : image;
    }

    private void Load(string directory)
    {
        var kustomization = ReadDocuments(Path.Combine(directory, "kustomization.yaml")).Single();
        foreach (var resource in Yaml.Seq(kustomization, "resources").Cast<string>())
        {
            var path = Path.GetFullPath(Path.Combine(directory, resource));
            if (Directory.Exists(path))
            {
                Load(path);
            }
            else
            {
                Documents.AddRange(ReadDocuments(path));
            }
        }

        Generate(kustomization, "configMapGenerator", ConfigMaps);
        Generate(kustomization, "secretGenerator", Secrets);
        foreach (var image in Yaml.Seq(kustomization, "images").Cast<Dictionary<object, object>>())
        {
            Images[Yaml.Str(image, "name")!] = (Yaml.Str(image, "newName"), Yaml.Str(image, "newTag"));
        }

        var example = Path.Combine(directory, "secrets.env.example");
        if (File.Exists(example))
        {
            Secrets[ExternalSecretName] = ParseLiterals(File.ReadLines(example).Where(l => l.Length > 0 && !l.StartsWith('#')));
        }
    }

    private static void Generate(Dictionary<object, object> kustomization, string generator, Dictionary<string, Dictionary<string, string>> into)
    {
        foreach (var entry in Yaml.Seq(kustomization, generator).Cast<Dictionary<object, object>>())
        {
            var name = Yaml.Str(entry, "name")!;
            var literals = ParseLiterals(Yaml.Seq(entry, "literals").Cast<string>());
            if (Yaml.Str(entry, "behavior") == "merge" && into.TryGetValue(name, out var existing))
            {
                foreach (var (key, value) in literals)
                {
                    existing[key] = value;
                }
            }
            else
            {
                into[name] = literals;
            }
        }
    }

    private static Dictionary<string, string> ParseLiterals(IEnumerable<string> lines) =>
        lines.Select(l => l.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
}

/// <summary>Navigation over YamlDotNet's untyped object graph (mappings, sequences, string scalars).</summary>
internal static class Yaml
{
    public static object? At(object? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (step, node) switch
            {
                (string key, Dictionary<object, object> map) => map.GetValueOrDefault(key),
                (int index, List<object> list) => index < list.Count ? list[index] : null,
                _ => null,
            };
        }

        return node;
    }

    public static string? Str(object? node, params object[] path) => At(node, path) as string;

    public static Dictionary<object, object> Map(object? node, params object[] path) =>
        At(node, path) as Dictionary<object, object> ?? [];

    public static List<object> Seq(object? node, params object[] path) => At(node, path) as List<object> ?? [];
}
