using Aspire.Hosting.ApplicationModel;
using VectorPipeline.AppHost.Infrastructure;

namespace VectorPipeline.AppHost;

/// <summary>What every service project gets from the AppHost, whichever infrastructure kind runs.</summary>
public static class ServiceResourceExtensions
{
    /// <summary>
    /// References <c>vectordb</c> (and <c>messaging</c>, and the embedding model when there is one) and waits for each
    /// to be healthy; sets <c>Embedding__Dimensions</c> for a model and <c>Embedding__Provider</c> when the parameter
    /// <c>embedding-provider</c> is set; reports health on <c>/health</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServices(this IResourceBuilder<ProjectResource> project,
        InfrastructureResources infrastructure, AppHostSettings settings, bool messaging, bool embeddings)
    {
        // Only ConnectionStrings__{name}: the services read nothing else, and deploy/k8s gives nothing else
        // (Aspire 13 also injects {NAME}_HOST, _PORT, _PASSWORD, _URI... by default).
        project.WithReferenceEnvironment(ReferenceEnvironmentInjectionFlags.ConnectionString);
        project.WithReference(infrastructure.VectorDb).WaitFor(infrastructure.VectorDb);
        if (messaging)
        {
            project.WithReference(infrastructure.Messaging).WaitFor(infrastructure.Messaging);
        }

        if (embeddings && infrastructure.Embeddings is { } model)
        {
            project.WithReference(model).WaitFor(model);
        }

        if (embeddings && infrastructure.EmbeddingDimensions is { } dimensions)
        {
            project.WithEnvironment(ConfigurationKeys.EmbeddingDimensions, dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (embeddings && settings.EmbeddingProvider is { } provider)
        {
            project.WithEnvironment(ConfigurationKeys.EmbeddingProvider, provider);
        }

        return project.WithHttpHealthCheck("/health");
    }

    /// <summary>Adds a dashboard link to the service's interactive API reference (Scalar at <c>/scalar/v1</c> over <c>/openapi/v1.json</c>).</summary>
    public static IResourceBuilder<ProjectResource> WithApiReference(this IResourceBuilder<ProjectResource> project) =>
        project.WithUrlForEndpoint("http", endpoint => new ResourceUrlAnnotation
        {
            Url = endpoint.Url + "/scalar/v1",
            DisplayText = "API reference (Scalar)",
        });
}
