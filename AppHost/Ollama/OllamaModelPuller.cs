using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Logging;

namespace VectorPipeline.AppHost.Ollama;

/// <summary>
/// Pulls a model through <c>POST /api/pull</c> (streamed NDJSON status lines: <c>{"status":..., "total":..., "completed":...}</c>,
/// an <c>"error"</c> member on failure) and writes the progress to the model resource's log.
/// </summary>
public static class OllamaModelPuller
{
    /// <summary>The name <c>/api/tags</c> lists for <paramref name="model"/>: <c>:latest</c> added when it has no tag.</summary>
    public static string QualifiedName(string model) => model.Contains(':', StringComparison.Ordinal) ? model : model + ":latest";

    /// <summary>Pulls <paramref name="model"/>; throws <see cref="InvalidOperationException"/> with Ollama's message when the pull fails.</summary>
    public static async Task PullAsync(HttpClient http, OllamaModelResource model, ILogger log, CancellationToken cancellationToken)
    {
        var url = new Uri(new Uri(model.Parent.PrimaryEndpoint.Url), "/api/pull");
        log.LogInformation("Pulling {Model} from {Url}", model.ModelName, url);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(new { model = model.ModelName, stream = true }) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        string? lastStatus = null;
        var lastPercent = -10L;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var status = JsonDocument.Parse(line);
            var root = status.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException($"Ollama could not pull {model.ModelName}: {error.GetString()}");
            }

            var text = root.TryGetProperty("status", out var s) ? s.GetString() : null;
            if (root.TryGetProperty("total", out var total) && root.TryGetProperty("completed", out var completed) && total.GetInt64() > 0)
            {
                var percent = completed.GetInt64() * 100 / total.GetInt64();
                if (percent - lastPercent >= 10 || percent == 100)
                {
                    log.LogInformation("{Status}: {Percent}%", text, percent);
                    lastPercent = percent;
                }
            }
            else if (text != lastStatus)
            {
                log.LogInformation("{Status}", text);
            }

            lastStatus = text;
        }

        log.LogInformation("Model {Model} is present", model.ModelName);
    }
}
