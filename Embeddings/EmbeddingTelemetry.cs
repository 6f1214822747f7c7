using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings;

/// <summary>
/// The spans of embedding calls: one per <see cref="Models.ModelEmbedder.EmbedDocumentsAsync"/> (chunks, Embed.Worker)
/// and per <see cref="Models.ModelEmbedder.EmbedQueryAsync"/> (a query, Search.Api), named and tagged after the
/// OpenTelemetry GenAI conventions: <c>embeddings {model}</c>, kind Client; the provider's HTTP requests (when it has
/// a server) are its children.
/// </summary>
public static class EmbeddingTelemetry
{
    /// <summary>Name of the ActivitySource (it starts with the <c>VectorPipeline</c> prefix every service traces).</summary>
    public const string SourceName = "VectorPipeline.Embeddings";

    /// <summary>Span attribute: <c>query</c> or <c>document</c>, what was embedded.</summary>
    public const string InputKindTag = "vectorpipeline.embedding.input";

    /// <summary>Span attribute: number of texts sent to the model in this call (all its requests together).</summary>
    public const string TextsTag = "vectorpipeline.embedding.texts";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the span of one embedding call; null when nothing listens.</summary>
    internal static Activity? Start(string provider, string model, int dimensions, string inputKind, int texts)
    {
        var activity = Source.StartActivity($"embeddings {model}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", "embeddings");
            activity.SetTag("gen_ai.provider.name", provider);
            activity.SetTag("gen_ai.request.model", model);
            activity.SetTag("gen_ai.embeddings.dimension.count", dimensions);
            activity.SetTag(InputKindTag, inputKind);
            activity.SetTag(TextsTag, texts);
        }

        return activity;
    }

    /// <summary>Adds the token usage the provider reported, if any.</summary>
    internal static void Succeeded(Activity? activity, UsageDetails? usage)
    {
        if (activity is not null && usage?.InputTokenCount is { } tokens)
        {
            activity.SetTag("gen_ai.usage.input_tokens", tokens);
        }
    }

    /// <summary>Marks the span failed: status Error with the message, <c>error.type</c> = the exception type.</summary>
    internal static void Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
    }
}
