using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VectorPipeline.AppHost.Ollama;

/// <summary>Healthy when the server's <c>GET /api/tags</c> lists the model (a name without a tag means <c>:latest</c>).</summary>
public sealed class OllamaModelHealthCheck(OllamaModelResource model, HttpClient http) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var baseUrl = model.Parent.PrimaryEndpoint.Url;
            using var tags = await http.GetFromJsonAsync<JsonDocument>(new Uri(new Uri(baseUrl), "/api/tags"), cancellationToken).ConfigureAwait(false);
            var wanted = OllamaModelPuller.QualifiedName(model.ModelName);
            var present = tags!.RootElement.GetProperty("models").EnumerateArray()
                .Any(m => m.GetProperty("name").GetString() == wanted);
            return present ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"model {wanted} not pulled yet");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }
}
