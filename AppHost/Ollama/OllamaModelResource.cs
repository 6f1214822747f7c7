namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A model on an <see cref="OllamaResource"/>: pulled once the server answers, healthy once <c>/api/tags</c> lists it.
/// </summary>
/// <remarks>
/// Connection string: <c>Endpoint=http://{host}:{port};Model={model}</c> (what the services' <c>ConnectionStrings:embeddings</c>
/// parser reads, and the form CommunityToolkit's Ollama model resource gives).
/// </remarks>
public sealed class OllamaModelResource(string name, string modelName, OllamaResource parent)
    : Resource(name), IResourceWithParent<OllamaResource>, IResourceWithConnectionString
{
    /// <summary>The Ollama model name, for example <c>all-minilm</c> or <c>nomic-embed-text:v1.5</c>.</summary>
    public string ModelName { get; } = modelName;

    /// <inheritdoc />
    public OllamaResource Parent { get; } = parent;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Endpoint={Parent.PrimaryEndpoint.Property(EndpointProperty.Url)};Model={ModelName}");
}
