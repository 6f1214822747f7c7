using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using VectorPipeline.AppHost.Local;

namespace VectorPipeline.AppHost.Infrastructure;

/// <summary>
/// The local kind, for machines without a container runtime: a <c>prerequisites</c> resource runs
/// <c>eng/install-prereqs.sh</c> (installs what is missing, then exits), then PostgreSQL 15 + pgvector and RabbitMQ
/// from the Debian packages run as executable resources through <c>eng/postgres.sh run</c> and
/// <c>eng/rabbitmq.sh run</c>, with their data in <see cref="AppHostSettings.DataDirectory"/> (kept between runs).
/// No embedding model resource: the services use their built-in embedder.
/// </summary>
public static class LocalInfrastructure
{
    /// <summary>Adds the local servers to <paramref name="builder"/>; scripts are found under <paramref name="repositoryRoot"/>/eng.</summary>
    public static InfrastructureResources Add(IDistributedApplicationBuilder builder, AppHostSettings settings, string repositoryRoot)
    {
        var eng = Path.Combine(repositoryRoot, "eng");
        var prerequisites = builder.AddExecutable(ResourceNames.Prerequisites, Path.Combine(eng, "install-prereqs.sh"), repositoryRoot)
            .WithIconName("BoxCheckmark")
            .ExcludeFromManifest();

        var (vectordb, postgresPorts) = AddPostgres(builder, settings, eng, repositoryRoot, prerequisites);
        var (messaging, messagingPorts) = AddRabbitMq(builder, settings, eng, repositoryRoot, prerequisites);
        return new InfrastructureResources(vectordb, messaging, Embeddings: null, EmbeddingDimensions: null, [.. postgresPorts, .. messagingPorts]);
    }

    private static (IResourceBuilder<IResourceWithConnectionString>, (string, int)[]) AddPostgres(
        IDistributedApplicationBuilder builder, AppHostSettings settings, string eng, string repositoryRoot,
        IResourceBuilder<ExecutableResource> prerequisites)
    {
        var port = settings.PostgresPort;
        var server = new LocalPostgresServerResource(ResourceNames.Postgres, Path.Combine(eng, "postgres.sh"), repositoryRoot);
        var serverCheck = $"{ResourceNames.Postgres}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            serverCheck, _ => new PostgresConnectionHealthCheck(server, ";Database=postgres"), failureStatus: null, tags: null));
        builder.AddResource(server)
            .WithArgs("run", Path.Combine(settings.DataDirectory, "postgres"), Invariant(port))
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalPostgresServerResource.PrimaryEndpointName, isProxied: false)
            .WithIconName("DatabaseMultiple")
            .WaitForCompletion(prerequisites)
            .WithHealthCheck(serverCheck);

        var database = new LocalPostgresDatabaseResource(ResourceNames.VectorDb, ResourceNames.VectorDb, server);
        server.Databases[database.Name] = database.DatabaseName;
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (ready, cancellationToken) =>
        {
            var log = ready.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
            var connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
            await using var connection = new NpgsqlConnection(connectionString + ";Database=postgres");
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            foreach (var name in server.Databases.Values)
            {
                await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = name } } };
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    // A database name cannot be a parameter; quote it as an identifier.
                    await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
                    await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    log.LogInformation("Created database {Database}", name);
                }
            }
        });

        var databaseCheck = $"{ResourceNames.VectorDb}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            databaseCheck, _ => new PostgresConnectionHealthCheck(database), failureStatus: null, tags: null));
        var vectordb = builder.AddResource(database)
            .WithStateOf(server)
            .WithIconName("Database")
            .WithHealthCheck(databaseCheck);
        return (builder.CreateResourceBuilder<IResourceWithConnectionString>(vectordb.Resource), [("PostgreSQL (postgres)", port)]);
    }

    private static (IResourceBuilder<IResourceWithConnectionString>, (string, int)[]) AddRabbitMq(
        IDistributedApplicationBuilder builder, AppHostSettings settings, string eng, string repositoryRoot,
        IResourceBuilder<ExecutableResource> prerequisites)
    {
        var port = settings.MessagingPort;
        // The same derivation as eng/rabbitmq.sh: Erlang distribution port 20000 above (or 2 above near the top of
        // the range), the node's own port mapper (epmd) one above.
        var distributionPort = port + 20000 <= 65535 ? port + 20000 : port + 2;
        var epmdPort = port + 1;
        var managementPort = settings.MessagingManagementPort;
        var broker = new LocalRabbitMqResource(ResourceNames.Messaging, Path.Combine(eng, "rabbitmq.sh"), repositoryRoot);
        var check = $"{ResourceNames.Messaging}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            check, _ => new RabbitMqConnectionHealthCheck(broker), failureStatus: null, tags: null));
        var messaging = builder.AddResource(broker)
            .WithArgs("run", Path.Combine(settings.DataDirectory, "rabbitmq"),
                Invariant(port), Invariant(distributionPort), Invariant(epmdPort), Invariant(managementPort))
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalRabbitMqResource.PrimaryEndpointName, isProxied: false)
            .WithHttpEndpoint(port: managementPort, targetPort: managementPort, name: LocalRabbitMqResource.ManagementEndpointName, isProxied: false)
            .WithUrlForEndpoint(LocalRabbitMqResource.ManagementEndpointName, url => url.DisplayText = "Management UI (guest/guest)")
            .WithIconName("MailMultiple")
            .WaitForCompletion(prerequisites)
            .WithHealthCheck(check);
        return (builder.CreateResourceBuilder<IResourceWithConnectionString>(messaging.Resource),
        [
            ("RabbitMQ AMQP (messaging)", port), ("RabbitMQ distribution (messaging)", distributionPort),
            ("RabbitMQ port mapper (messaging)", epmdPort), ("RabbitMQ management (messaging)", managementPort),
        ]);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
