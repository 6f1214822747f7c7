using System.Text.Json.Nodes;

namespace VectorPipeline.Ingest.Sync;

/// <summary>A document a source row maps to: its id, and the document, or null when the row gives it no text.</summary>
/// <param name="Id">The document id.</param>
/// <param name="Document">The document to store; null when its text is NULL or blank (any stored one is deleted).</param>
public sealed record RowDocument(string Id, IncomingDocument? Document);

/// <summary>
/// Maps the rows of one source to documents, the same for every kind of source. One document per row, id
/// <c>{source}/{key}</c>, whose text is the single text column, or the text columns filled into
/// <see cref="TableSyncOptions.TextTemplate"/>, or the non-blank text columns joined by a blank line; or, with
/// <see cref="TableSyncOptions.DocumentPerColumn"/>, one document per text column, id <c>{source}/{key}/{column}</c>,
/// with the column's name in metadata <c>textColumn</c>. Every document of a row has the row's title and metadata.
/// </summary>
public sealed class RowDocuments
{
    /// <summary>Metadata key holding the text column of a document in <see cref="TableSyncOptions.DocumentPerColumn"/> mode.</summary>
    public const string TextColumnKey = "textColumn";

    private readonly TableSyncOptions _options;
    private readonly string _prefix;
    private readonly string _documentSource;
    private readonly RowTextTemplate? _template;

    /// <summary>Creates the mapping of a source.</summary>
    /// <param name="options">The source's checked settings.</param>
    /// <param name="prefix">The ids' prefix, <see cref="TableSyncService.DocumentIdPrefix"/>.</param>
    /// <param name="documentSource">The documents' <c>source</c>.</param>
    public RowDocuments(TableSyncOptions options, string prefix, string documentSource)
    {
        _options = options;
        _prefix = prefix;
        _documentSource = documentSource;
        _template = options.TextTemplate is null ? null : new RowTextTemplate(options.TextTemplate, options.EffectiveTextColumns, "TextTemplate");
    }

    /// <summary>The ids of the documents a row with this key maps to (whether or not each has text).</summary>
    public IEnumerable<string> IdsFor(string key) =>
        _options.DocumentPerColumn ? _options.EffectiveTextColumns.Select(column => $"{_prefix}{key}/{column}") : [_prefix + key];

    /// <summary>The documents of a row, in text column order for <see cref="TableSyncOptions.DocumentPerColumn"/>.</summary>
    public IEnumerable<RowDocument> For(SourceRow row)
    {
        if (_options.DocumentPerColumn)
        {
            for (var i = 0; i < row.Texts.Count; i++)
            {
                var column = _options.EffectiveTextColumns[i];
                var id = $"{_prefix}{row.Key}/{column}";
                yield return new RowDocument(id, Blank(row.Texts[i]) ? null
                    : new IncomingDocument(id, row.Title, row.Texts[i]!, _documentSource, WithTextColumn(row.MetadataJson, column)));
            }

            yield break;
        }

        var text = row.Texts.All(Blank) ? null
            : _template is not null ? _template.Fill(row.Texts)
            : string.Join("\n\n", row.Texts.Where(t => !Blank(t)));
        yield return new RowDocument(_prefix + row.Key, Blank(text) ? null : new IncomingDocument(_prefix + row.Key, row.Title, text!, _documentSource, row.MetadataJson));
    }

    private static bool Blank(string? text) => string.IsNullOrWhiteSpace(text);

    private static string WithTextColumn(string metadataJson, string column)
    {
        var metadata = JsonNode.Parse(metadataJson)!.AsObject();
        metadata.TryAdd(TextColumnKey, column);
        return metadata.ToJsonString();
    }
}
