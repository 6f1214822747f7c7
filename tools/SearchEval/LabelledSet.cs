using System.Text.Json;

namespace VectorPipeline.Tools.SearchEval;

/// <summary>A document to post to Ingest.Api.</summary>
internal sealed record EvalDocument(string Id, string? Title, string Text, string? Source, JsonElement? Metadata);

/// <summary>A question and the documents that answer it (any one of them counts as a hit).</summary>
internal sealed record EvalQuestion(string Question, IReadOnlyList<string> DocumentIds);

/// <summary>Documents and labelled questions read from a data file.</summary>
internal sealed record LabelledSet(IReadOnlyList<EvalDocument> Documents, IReadOnlyList<EvalQuestion> Questions);

/// <summary>A data file that cannot be used, with a message that says where and why.</summary>
internal sealed class DataFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads labelled sets: SQuAD v1.1 JSON (<c>.json</c>) or this tool's JSONL shape (<c>.jsonl</c>, <c>.ndjson</c>).</summary>
internal static class LabelledSetReader
{
    /// <summary>The <c>source</c> (and <c>metadata.corpus</c>) of SQuAD documents, as the end-to-end test posts them.</summary>
    internal const string SquadSource = "squad-v1.1-dev";

    /// <summary>Reads <paramref name="path"/>, choosing the format by its extension.</summary>
    internal static LabelledSet Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataFileException($"data file not found: {path} (full path {Path.GetFullPath(path)})");
        }

        var extension = Path.GetExtension(path).ToLowerInvariant();
        try
        {
            return extension switch
            {
                ".json" => ParseSquad(File.ReadAllText(path)),
                ".jsonl" or ".ndjson" => ParseJsonl(File.ReadAllText(path)),
                _ => throw new DataFileException($"{path}: unknown data format '{extension}'; use a SQuAD v1.1 .json file or a .jsonl file (docs/search-quality.md)"),
            };
        }
        catch (DataFileException ex) when (!ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new DataFileException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// SQuAD v1.1: every paragraph becomes document <c>squad-{n}</c> (n counts paragraphs across articles
    /// from 0, in file order), titled with its article title (underscores as spaces); every question is
    /// labelled with its paragraph. Same ids, titles, source and metadata as tests/EndToEndTests/SampleData.cs.
    /// </summary>
    internal static LabelledSet ParseSquad(string json)
    {
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new DataFileException($"not valid JSON: {ex.Message}", ex);
        }

        using (parsed)
        {
            if (parsed.RootElement.ValueKind != JsonValueKind.Object
                || !parsed.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                throw new DataFileException("not a SQuAD v1.1 file: the top level has no \"data\" array");
            }

            var metadata = JsonSerializer.SerializeToElement(new { corpus = SquadSource });
            var documents = new List<EvalDocument>();
            var questions = new List<EvalQuestion>();
            foreach (var article in data.EnumerateArray())
            {
                var title = RequiredString(article, "title", "article").Replace('_', ' ');
                if (!article.TryGetProperty("paragraphs", out var paragraphs) || paragraphs.ValueKind != JsonValueKind.Array)
                {
                    throw new DataFileException($"not a SQuAD v1.1 file: article '{title}' has no \"paragraphs\" array");
                }

                foreach (var paragraph in paragraphs.EnumerateArray())
                {
                    var id = $"squad-{documents.Count}";
                    documents.Add(new EvalDocument(id, title, RequiredString(paragraph, "context", $"paragraph {id}"), SquadSource, metadata));
                    if (paragraph.TryGetProperty("qas", out var qas) && qas.ValueKind == JsonValueKind.Array)
                    {
                        questions.AddRange(qas.EnumerateArray().Select(qa => new EvalQuestion(RequiredString(qa, "question", $"a question of {id}"), [id])));
                    }
                }
            }

            if (questions.Count == 0)
            {
                throw new DataFileException("the SQuAD file holds no questions");
            }

            return new LabelledSet(documents, questions);
        }
    }

    /// <summary>
    /// JSONL: one JSON object per line, blank lines ignored.
    /// <c>{"type":"document","id":"…","title":"…"?,"text":"…","source":"…"?,"metadata":{…}?}</c> and
    /// <c>{"type":"question","question":"…","documentIds":["…", …]}</c> (or <c>"documentId":"…"</c>).
    /// When the file holds documents, every labelled id must be one of them.
    /// </summary>
    internal static LabelledSet ParseJsonl(string content)
    {
        var documents = new List<EvalDocument>();
        var documentLines = new Dictionary<string, int>(StringComparer.Ordinal);
        var questions = new List<(EvalQuestion Question, int Line)>();
        using var reader = new StringReader(content);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument parsed;
            try
            {
                parsed = JsonDocument.Parse(line);
            }
            catch (JsonException ex)
            {
                throw new DataFileException($"line {lineNumber}: not valid JSON: {ex.Message}", ex);
            }

            using (parsed)
            {
                var root = parsed.RootElement;
                var where = $"line {lineNumber}";
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw new DataFileException($"{where}: expected a JSON object, found {root.ValueKind}");
                }

                var type = OptionalString(root, "type", where);
                if (string.Equals(type, "document", StringComparison.OrdinalIgnoreCase))
                {
                    var id = RequiredString(root, "id", where);
                    if (documentLines.TryGetValue(id, out var earlier))
                    {
                        throw new DataFileException($"{where}: document id '{id}' was already used on line {earlier}");
                    }

                    JsonElement? metadata = null;
                    if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind != JsonValueKind.Null)
                    {
                        metadata = meta.ValueKind == JsonValueKind.Object
                            ? meta.Clone()
                            : throw new DataFileException($"{where}: \"metadata\" must be a JSON object, found {meta.ValueKind}");
                    }

                    documentLines[id] = lineNumber;
                    documents.Add(new EvalDocument(id, OptionalString(root, "title", where), RequiredString(root, "text", where), OptionalString(root, "source", where), metadata));
                }
                else if (string.Equals(type, "question", StringComparison.OrdinalIgnoreCase))
                {
                    questions.Add((new EvalQuestion(RequiredString(root, "question", where), LabelledIds(root, where)), lineNumber));
                }
                else
                {
                    throw new DataFileException($"{where}: \"type\" must be \"document\" or \"question\", found {(type is null ? "none" : $"\"{type}\"")}");
                }
            }
        }

        if (questions.Count == 0)
        {
            throw new DataFileException("no questions (lines with \"type\":\"question\")");
        }

        if (documents.Count > 0)
        {
            foreach (var (question, line) in questions)
            {
                var unknown = question.DocumentIds.FirstOrDefault(id => !documentLines.ContainsKey(id));
                if (unknown is not null)
                {
                    throw new DataFileException($"line {line}: the question is labelled with document '{unknown}', which no document line defines");
                }
            }
        }

        return new LabelledSet(documents, questions.Select(q => q.Question).ToList());
    }

    private static List<string> LabelledIds(JsonElement question, string where)
    {
        if (question.TryGetProperty("documentIds", out var ids))
        {
            if (ids.ValueKind != JsonValueKind.Array || ids.GetArrayLength() == 0
                || ids.EnumerateArray().Any(id => id.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(id.GetString())))
            {
                throw new DataFileException($"{where}: \"documentIds\" must be a non-empty array of document id strings");
            }

            return ids.EnumerateArray().Select(id => id.GetString()!).Distinct(StringComparer.Ordinal).ToList();
        }

        if (question.TryGetProperty("documentId", out _))
        {
            return [RequiredString(question, "documentId", where)];
        }

        throw new DataFileException($"{where}: a question needs \"documentIds\" (the ids of the documents that answer it)");
    }

    private static string RequiredString(JsonElement element, string property, string where) =>
        OptionalString(element, property, where) is { } value && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new DataFileException($"{where}: \"{property}\" is required and must be a non-blank string");

    private static string? OptionalString(JsonElement element, string property, string where)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new DataFileException($"{where}: \"{property}\" must be a string, found {value.ValueKind}");
    }
}
