namespace VectorPipeline.Embeddings.Models;

/// <summary>
/// Query and document prefixes that some embedding models were trained with and need for good
/// retrieval. Sources: the model cards of nomic-embed-text (<c>search_query: </c>,
/// <c>search_document: </c>), the E5 family (<c>query: </c>, <c>passage: </c>), and mxbai-embed-large,
/// the BGE English v1.5 models and snowflake-arctic-embed v1 (an instruction before queries only), and
/// snowflake-arctic-embed v2 (<c>query: </c> before queries only). Instruction-tuned models whose query
/// instruction depends on the task (e5-mistral) get none by default: configure it.
/// Configuration (<c>QueryPrefix</c>, <c>DocumentPrefix</c>) always wins, an empty string included.
/// </summary>
public static class KnownModelPrefixes
{
    private const string RetrievalInstruction = "Represent this sentence for searching relevant passages: ";

    /// <summary>
    /// The (query, document) prefixes for a model name such as <c>nomic-embed-text:latest</c> or
    /// <c>BAAI/bge-small-en-v1.5</c> (an organisation before <c>/</c> and a tag after <c>:</c> are ignored,
    /// case-insensitive); empty strings for unknown models.
    /// </summary>
    public static (string Query, string Document) For(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        var name = modelName.ToLowerInvariant();
        name = name[(name.LastIndexOf('/') + 1)..];
        if (name.IndexOf(':') is var colon and >= 0)
        {
            name = name[..colon];
        }

        if (name.StartsWith("arctic-embed", StringComparison.Ordinal))
        {
            name = "snowflake-" + name; // the built-in onnx model's short name (arctic-embed-xs)
        }

        return name switch
        {
            _ when name.StartsWith("nomic-embed-text", StringComparison.Ordinal) => ("search_query: ", "search_document: "),
            _ when name.StartsWith("e5-mistral", StringComparison.Ordinal) => ("", ""),
            _ when name.StartsWith("multilingual-e5", StringComparison.Ordinal) || name.StartsWith("e5-", StringComparison.Ordinal) => ("query: ", "passage: "),
            _ when name.StartsWith("snowflake-arctic-embed2", StringComparison.Ordinal) || (name.StartsWith("snowflake-arctic-embed", StringComparison.Ordinal) && name.Contains("v2.0", StringComparison.Ordinal)) => ("query: ", ""),
            _ when name.StartsWith("mxbai-embed-large", StringComparison.Ordinal)
                || name.StartsWith("snowflake-arctic-embed", StringComparison.Ordinal)
                || (name.StartsWith("bge-", StringComparison.Ordinal) && name.Contains("-en-v1.5", StringComparison.Ordinal)) => (RetrievalInstruction, ""),
            _ => ("", ""),
        };
    }
}
