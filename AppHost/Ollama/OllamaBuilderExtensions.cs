using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using VectorPipeline.AppHost.Ollama;

namespace Aspire.Hosting;

/// <summary>Ollama as a container resource, written on Aspire's own container API.</summary>
public static class OllamaBuilderExtensions
{
    /// <summary>The image and tag (the same as deploy/k8s/overlays/dev/ollama.yaml).</summary>
    public const string Image = "ollama/ollama";

    /// <summary>The image tag.</summary>
    public const string Tag = "0.32.15";

    /// <summary>
    /// Adds an Ollama server: image <see cref="Image"/>:<see cref="Tag"/>, host port <paramref name="port"/> (11434 by
    /// default) to container port 11434, healthy once <c>/api/version</c> answers.
    /// </summary>
    public static IResourceBuilder<OllamaResource> AddOllama(this IDistributedApplicationBuilder builder, string name, int? port = OllamaResource.ContainerPort)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddResource(new OllamaResource(name))
            .WithImage(Image, Tag)
            .WithImageRegistry("docker.io")
            .WithIconName("BrainCircuit")
            .WithHttpEndpoint(port: port, targetPort: OllamaResource.ContainerPort, name: OllamaResource.PrimaryEndpointName)
            .WithHttpHealthCheck("/api/version");
    }

    /// <summary>Keeps pulled models in a named volume (<c>/root/.ollama</c> in the container) between runs.</summary>
    public static IResourceBuilder<OllamaResource> WithDataVolume(this IResourceBuilder<OllamaResource> builder, string? name = null) =>
        builder.WithVolume(name ?? VolumeNameGenerator.Generate(builder, "data"), "/root/.ollama");

    /// <summary>Hands every GPU of the host to the container (<c>--gpus all</c>; Docker with the NVIDIA container toolkit).</summary>
    public static IResourceBuilder<OllamaResource> WithGpuSupport(this IResourceBuilder<OllamaResource> builder) =>
        builder.WithContainerRuntimeArgs("--gpus", "all");

    /// <summary>
    /// Adds the model <paramref name="modelName"/> as a child resource named <paramref name="name"/>: pulled once the
    /// server is healthy, itself healthy once the server lists it, so <c>WaitFor(model)</c> waits for the pull.
    /// </summary>
    public static IResourceBuilder<OllamaModelResource> AddModel(this IResourceBuilder<OllamaResource> builder, string name, string modelName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        var model = new OllamaModelResource(name, modelName, builder.Resource);
        builder.Resource.Models[name] = modelName;
        var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        builder.ApplicationBuilder.Eventing.Subscribe<ResourceReadyEvent>(builder.Resource, (ready, eventCancellation) =>
        {
            // The pull can take minutes: it runs beside the event, and the model's health check reports when it is done.
            var log = ready.Services.GetRequiredService<ResourceLoggerService>().GetLogger(model);
            var stopping = ready.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
            _ = Task.Run(async () =>
            {
                try
                {
                    await OllamaModelPuller.PullAsync(http, model, log, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or System.Text.Json.JsonException or IOException)
                {
                    log.LogError(ex, "Pulling {Model} failed; the embedding model stays unhealthy", model.ModelName);
                }
            }, stopping);
            return Task.CompletedTask;
        });

        var healthCheckKey = $"{name}_model_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new OllamaModelHealthCheck(model, http), failureStatus: null, tags: null));
        return builder.ApplicationBuilder.AddResource(model)
            .WithIconName("Brain")
            .WithHealthCheck(healthCheckKey);
    }
}
