namespace VectorPipeline.Embeddings.Models;

/// <summary>
/// Query and document prefixes that some embedding models were trained with and need for good
/// retrieval. Sources: the model cards of nomic-embed-text (<c>search_query: </c>,
/// <c>search_document: </c>), the E5 family (<c>query: </c>, <c>passage: </c>), and mxbai-embed-large,
/// the BGE English v1.5 models and snowflake-arctic-embed (an instruction before queries only).
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

        return name switch
        {
            _ when name.StartsWith("nomic-embed-text", StringComparison.Ordinal) => ("search_query: ", "search_document: "),
            _ when name.StartsWith("multilingual-e5", StringComparison.Ordinal) || name.StartsWith("e5-", StringComparison.Ordinal) => ("query: ", "passage: "),
            _ when name.StartsWith("mxbai-embed-large", StringComparison.Ordinal)
                || name.StartsWith("snowflake-arctic-embed", StringComparison.Ordinal)
                || (name.StartsWith("bge-", StringComparison.Ordinal) && name.Contains("-en-v1.5", StringComparison.Ordinal)) => (RetrievalInstruction, ""),
            _ => ("", ""),
        };
    }
}
