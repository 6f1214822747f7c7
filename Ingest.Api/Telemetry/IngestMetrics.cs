using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VectorPipeline.Ingest.Telemetry;

/// <summary>Ingest.Api's pipeline metrics and span tags.</summary>
public static class IngestMetrics
{
    /// <summary>Name of Ingest.Api's meter.</summary>
    public const string MeterName = "VectorPipeline.Ingest";

    /// <summary>Span attribute put on the <c>POST /documents</c> server span: the document's id, to find a document's trace.</summary>
    public const string DocumentIdTag = "vectorpipeline.document.id";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> ChunksPublished = Meter.CreateCounter<long>(
        "vectorpipeline.chunks.published", "{chunk}", "Chunk messages (EmbedChunk) accepted by the broker; origin = document (POST /documents), backfill, redelivery (the sweep) or retry (POST /documents/.../retry)");

    /// <summary>Counts <paramref name="chunks"/> chunk messages published.</summary>
    /// <param name="chunks">Messages the broker accepted.</param>
    /// <param name="origin"><c>document</c>, <c>backfill</c>, <c>redelivery</c> or <c>retry</c>.</param>
    public static void Published(int chunks, string origin) => ChunksPublished.Add(chunks, new KeyValuePair<string, object?>("origin", origin));

    /// <summary>Tags the current server span with the document id and the number of chunks queued.</summary>
    public static void TagDocument(string documentId, int chunks, int queued)
    {
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(DocumentIdTag, documentId);
            activity.SetTag("vectorpipeline.document.chunks", chunks);
            activity.SetTag("vectorpipeline.document.queued", queued);
        }
    }
}
