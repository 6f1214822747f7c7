using Microsoft.Extensions.Configuration;

namespace VectorPipeline.AppHost;

/// <summary>
/// The addresses the README prints: Ingest.Api http://127.0.0.1:5110, Search.Api http://127.0.0.1:5120, the
/// Embed.Worker replicas behind http://127.0.0.1:5130, the dashboard http://127.0.0.1:18888 (launch profile).
/// </summary>
public static class StablePorts
{
    /// <summary>Ingest.Api's port; <c>Parameters:ingest-api-port</c> moves it.</summary>
    public const int IngestApi = 5110;

    /// <summary>Search.Api's port; <c>Parameters:search-api-port</c> moves it.</summary>
    public const int SearchApi = 5120;

    /// <summary>The port in front of the Embed.Worker replicas (health only); <c>Parameters:embed-worker-port</c> moves it.</summary>
    public const int EmbedWorker = 5130;

    /// <summary>
    /// The fixed ports this run will listen on: the services' unless ports are randomised (as Aspire.Hosting.Testing
    /// does), the dashboard's, its OTLP and resource-service endpoints' from the launch profile's variables.
    /// </summary>
    public static IEnumerable<(string Name, int Port)> Fixed(IConfiguration configuration, AppHostSettings settings)
    {
        if (!configuration.GetValue("DcpPublisher:RandomizePorts", false))
        {
            yield return ($"Ingest.Api ({ResourceNames.IngestApi})", settings.IngestApiPort);
            yield return ($"Search.Api ({ResourceNames.SearchApi})", settings.SearchApiPort);
            yield return ($"Embed.Worker ({ResourceNames.EmbedWorker})", settings.EmbedWorkerPort);
        }

        foreach (var (name, key) in new[]
                 {
                     ("dashboard", "ASPNETCORE_URLS"),
                     ("dashboard OTLP/gRPC", "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"),
                     ("dashboard OTLP/HTTP", "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"),
                     ("dashboard resource service", "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"),
                 })
        {
            if (PortCheck.PortOf(configuration[key]) is { } port)
            {
                yield return (name, port);
            }
        }
    }
}
