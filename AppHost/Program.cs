using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VectorPipeline;
using VectorPipeline.AppHost;
using VectorPipeline.AppHost.Infrastructure;

// The VectorPipeline application model. PostgreSQL (database vectordb), RabbitMQ (messaging) and, with containers,
// Ollama (model embeddings) come from one of two infrastructure kinds (Infrastructure/); the three services are the
// same projects with the same connection-string names either way. Every name comes from ResourceNames.cs.
//   dotnet run --project AppHost                                   (kind from probing the container runtime)
//   dotnet run --project AppHost -- --Parameters:infrastructure=local --Parameters:embed-worker-replicas=3
try
{
    var builder = DistributedApplication.CreateBuilder(args);
    var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
    var settings = AppHostSettings.Read(builder.Configuration, repositoryRoot);
    var runtime = builder.Configuration["ASPIRE_CONTAINER_RUNTIME"] ?? builder.Configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker";
    var (kind, reason) = InfrastructureChoice.Choose(settings.Infrastructure, builder.ExecutionContext.IsPublishMode, runtime);

    var infrastructure = kind == InfrastructureKind.Containers
        ? ContainerInfrastructure.Add(builder, settings)
        : LocalInfrastructure.Add(builder, settings, repositoryRoot);

    builder.AddProject<Projects.Ingest_Api>(ResourceNames.IngestApi)
        .WithEndpoint("http", endpoint => endpoint.Port = settings.IngestApiPort)
        .WithServices(infrastructure, settings, messaging: true, embeddings: true)
        .WithApiReference()
        .WithExternalHttpEndpoints();

    var embedWorker = builder.AddProject<Projects.Embed_Worker>(ResourceNames.EmbedWorker)
        .WithEndpoint("http", endpoint => endpoint.Port = settings.EmbedWorkerPort)
        .WithReplicas(settings.EmbedWorkerReplicas)
        .WithServices(infrastructure, settings, messaging: true, embeddings: true);
    if (builder.ExecutionContext.IsRunMode)
    {
        // Run here, the replicas share this machine's cores: each runs the built-in model on its share
        // (docs/benchmarks-onnx.md). Deployed, each pod has its own cores and the service's default fits.
        embedWorker.WithEnvironment("Embedding__Onnx__MaxConcurrentRuns",
            Math.Max(1, Environment.ProcessorCount / settings.EmbedWorkerReplicas).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    builder.AddProject<Projects.Search_Api>(ResourceNames.SearchApi)
        .WithEndpoint("http", endpoint => endpoint.Port = settings.SearchApiPort)
        .WithServices(infrastructure, settings, messaging: false, embeddings: true)
        .WithApiReference()
        .WithExternalHttpEndpoints();

    if (builder.ExecutionContext.IsRunMode)
    {
        PortCheck.ThrowIfTaken(StablePorts.Fixed(builder.Configuration, settings).Concat(infrastructure.Ports));
    }

    var app = builder.Build();
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("VectorPipeline.AppHost")
        .LogInformation("Infrastructure: {Kind}, because {Reason}", kind.ToString().ToLowerInvariant(), reason);
    app.Run();
    return 0;
}
catch (AppHostConfigurationException ex)
{
    Console.Error.WriteLine($"AppHost: {ex.Message}");
    return 2;
}
