using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace VectorPipeline.AppHost.Tests;

/// <summary>
/// The AppHost end to end: containers and projects start, every resource becomes healthy, a document
/// posted to ingest-api is embedded by the workers (through Ollama) and found by search-api.
/// Needs Docker and the public NuGet registry; the first run also pulls the images and the model.
/// </summary>
public sealed class PipelineTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan EmbedTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Ingested_document_is_found_by_search()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Parameters:embed-worker-replicas=2"], cancellationToken);
        await using var app = await appHost.BuildAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
        await app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);

        foreach (var resource in new[] { ResourceNames.VectorDb, ResourceNames.Messaging, ResourceNames.Embeddings,
                     ResourceNames.IngestApi, ResourceNames.EmbedWorker, ResourceNames.SearchApi })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken)
                .WaitAsync(StartTimeout, cancellationToken);
        }

        using var ingest = app.CreateHttpClient(ResourceNames.IngestApi);
        using var search = app.CreateHttpClient(ResourceNames.SearchApi);
        var documentId = $"apphost-test-{Guid.NewGuid():N}";
        using (var posted = await ingest.PostAsJsonAsync("/documents", new
               {
                   id = documentId,
                   title = "Super Bowl 50",
                   text = "Super Bowl 50 was an American football game to determine the champion of the NFL for the 2015 season. " +
                          "The Denver Broncos defeated the Carolina Panthers 24-10 at Levi's Stadium in Santa Clara, California.",
               }, cancellationToken))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var deadline = DateTime.UtcNow + EmbedTimeout;
        string status;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            using var document = JsonDocument.Parse(await ingest.GetStringAsync($"/documents/{documentId}", cancellationToken));
            status = document.RootElement.GetProperty("status").GetString()!;
        }
        while (status is "queued" or "embedding" && DateTime.UtcNow < deadline);
        Assert.Equal("ready", status);

        using var answer = await search.PostAsJsonAsync("/search",
            new { query = "Which team won Super Bowl 50?", topK = 3, filter = new { documentIds = new[] { documentId } } },
            cancellationToken);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var results = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(cancellationToken));
        var first = results.RootElement.GetProperty("results")[0];
        Assert.Equal(documentId, first.GetProperty("documentId").GetString());
    }
}
