using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace VectorPipeline.Embeddings;

/// <summary>
/// What VectorPipeline adds to the <c>embeddings {model}</c> span that Microsoft.Extensions.AI's
/// <c>UseOpenTelemetry()</c> makes around every embedding call (GenAI semantic conventions: <c>gen_ai.operation.name</c>
/// <c>embeddings</c>, <c>gen_ai.request.model</c>, <c>gen_ai.provider.name</c>, <c>gen_ai.embeddings.dimension.count</c>,
/// <c>gen_ai.usage.input_tokens</c>, <c>error.type</c>; kind Client; the provider's HTTP requests are its children):
/// <see cref="InputKindTag"/> and <see cref="TextsTag"/>. This layer sits just inside that span (see
/// <see cref="EmbeddingGeneratorFactory"/>) and takes the input kind from <see cref="For"/>'s options.
/// </summary>
public sealed class EmbeddingTelemetry(IEmbeddingGenerator<string, Embedding<float>> innerGenerator)
    : DelegatingEmbeddingGenerator<string, Embedding<float>>(innerGenerator)
{
    /// <summary>Name of the ActivitySource and Meter of the spans and GenAI metrics (it starts with the <c>VectorPipeline</c> prefix every service exports).</summary>
    public const string SourceName = "VectorPipeline.Embeddings";

    /// <summary>Span attribute: <c>query</c> or <c>document</c>, what was embedded.</summary>
    public const string InputKindTag = "vectorpipeline.embedding.input";

    /// <summary>Span attribute: number of texts sent to the model in this call (all its requests together).</summary>
    public const string TextsTag = "vectorpipeline.embedding.texts";

    /// <summary>Options of a call that embeds chunks (<c>document</c>) or a query (<c>query</c>); a new instance each time.</summary>
    public static EmbeddingGenerationOptions Input(bool query) => For(query ? "query" : "document");

    /// <summary>Options that name the input kind of a call for its span.</summary>
    /// <param name="inputKind"><c>query</c> or <c>document</c>.</param>
    public static EmbeddingGenerationOptions For(string inputKind) =>
        new() { AdditionalProperties = new AdditionalPropertiesDictionary { [InputKindTag] = inputKind } };

    /// <inheritdoc />
    public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (Activity.Current is { Source.Name: SourceName, IsAllDataRequested: true } span)
        {
            if (options?.AdditionalProperties?.TryGetValue(InputKindTag, out var kind) == true)
            {
                span.SetTag(InputKindTag, kind);
            }

            if (values is IReadOnlyCollection<string> texts)
            {
                span.SetTag(TextsTag, texts.Count);
            }
        }

        return base.GenerateAsync(values, options, cancellationToken);
    }
}
