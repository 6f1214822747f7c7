namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// An Ollama server container (<c>ollama/ollama</c>), HTTP API on container port 11434 (<c>/api/version</c>,
/// <c>/api/tags</c>, <c>/api/pull</c>, <c>/api/embed</c>; see Ollama's docs/api.md).
/// </summary>
public sealed class OllamaResource(string name) : ContainerResource(name), IResourceWithEndpoints
{
    /// <summary>The name of the HTTP endpoint.</summary>
    public const string PrimaryEndpointName = "http";

    /// <summary>The port the server listens on inside the container.</summary>
    public const int ContainerPort = 11434;

    private EndpointReference? primaryEndpoint;

    /// <summary>The HTTP endpoint.</summary>
    public EndpointReference PrimaryEndpoint => primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <summary>The models to pull once the server answers, by resource name.</summary>
    public Dictionary<string, string> Models { get; } = new(StringComparer.Ordinal);
}
