using System.Globalization;
using VectorPipeline;

// The VectorPipeline application model: PostgreSQL with pgvector, RabbitMQ and Ollama as containers, and
// the three services as projects. Every name comes from ResourceNames.cs, the file the services read
// their connection-string names from (tests/DeploymentTests/AppHostContractTests.cs checks this file).
var builder = DistributedApplication.CreateBuilder(args);

// Parameters (configuration section "Parameters", as for Aspire parameter resources). They are read here
// as plain values because AddModel and WithReplicas take values when the model is built:
//   dotnet run --project AppHost -- --Parameters:embedding-model=nomic-embed-text --Parameters:embed-worker-replicas=3
var embeddingModel = builder.Configuration["Parameters:embedding-model"] is { Length: > 0 } model
    ? model
    : OllamaEmbeddingModels.Default;
var embeddingDimensions = builder.Configuration["Parameters:embedding-dimensions"] is { Length: > 0 } dimensionsText
    ? int.Parse(dimensionsText, CultureInfo.InvariantCulture)
    : OllamaEmbeddingModels.Dimensions.TryGetValue(embeddingModel, out var known)
        ? known
        : throw new InvalidOperationException(
            $"The dimensions of the embedding model '{embeddingModel}' are not known; set Parameters:embedding-dimensions.");
var workerReplicas = builder.Configuration["Parameters:embed-worker-replicas"] is { Length: > 0 } replicasText
    ? int.Parse(replicasText, CultureInfo.InvariantCulture)
    : 2;

// PostgreSQL with pgvector. The image is set before WithDataVolume, which chooses the mount path from the image
// tag: it cannot read a version from "pg17" and falls back to /var/lib/postgresql/data, right for PostgreSQL 17
// (moving to pgvector's pg18 image would need WithVolume(..., "/var/lib/postgresql") instead).
// The services create the vector extension themselves (first migration: CREATE EXTENSION IF NOT EXISTS vector).
var postgres = builder.AddPostgres(ResourceNames.Postgres)
    .WithImage("pgvector/pgvector", "pg17")
    .WithDataVolume()
    .WithPgAdmin();
var vectordb = postgres.AddDatabase(ResourceNames.VectorDb);

var messaging = builder.AddRabbitMQ(ResourceNames.Messaging)
    .WithManagementPlugin();

// Ollama pulls the model when it starts; the model resource is healthy once the model is there.
var ollama = builder.AddOllama(ResourceNames.Ollama)
    .WithDataVolume();
var embeddings = ollama.AddModel(ResourceNames.Embeddings, embeddingModel);

var dimensions = embeddingDimensions.ToString(CultureInfo.InvariantCulture);

builder.AddProject<Projects.Ingest_Api>(ResourceNames.IngestApi)
    .WithReference(vectordb).WaitFor(vectordb)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(embeddings).WaitFor(embeddings)
    .WithEnvironment(ConfigurationKeys.EmbeddingDimensions, dimensions)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.AddProject<Projects.Embed_Worker>(ResourceNames.EmbedWorker)
    .WithReplicas(workerReplicas)
    .WithReference(vectordb).WaitFor(vectordb)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(embeddings).WaitFor(embeddings)
    .WithEnvironment(ConfigurationKeys.EmbeddingDimensions, dimensions)
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.Search_Api>(ResourceNames.SearchApi)
    .WithReference(vectordb).WaitFor(vectordb)
    .WithReference(embeddings).WaitFor(embeddings)
    .WithEnvironment(ConfigurationKeys.EmbeddingDimensions, dimensions)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.Build().Run();
