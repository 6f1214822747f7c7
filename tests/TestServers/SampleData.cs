using System.Text.Json;
using System.Text.RegularExpressions;

namespace VectorPipeline.TestServers;

/// <summary>A document to post and the questions it answers.</summary>
public sealed record SampleDocument(string Id, string Title, string Text, string Source);

/// <summary>A labelled question: <paramref name="DocumentId"/> is the paragraph that answers it.</summary>
public sealed record LabelledQuestion(string Question, string DocumentId);

/// <summary>Reads the shared sample data in place (never copied into the repository).</summary>
public static partial class SampleData
{
    /// <summary>SQuAD v1.1 dev, the Super Bowl 50 article: 54 paragraphs and 810 questions.</summary>
    public static string SquadFile => Path.Combine(RepositoryPaths.SampleData, "squad-v1.1-dev-super-bowl-50.json");

    /// <summary>The pgai documentation, 22 Markdown files.</summary>
    public static string PgaiFolder => Path.Combine(RepositoryPaths.SampleData, "pgai-docs");

    /// <summary>True when both are present (<see cref="RepositoryPaths.SampleData"/>, or <c>VECTORPIPELINE_SAMPLE_DATA</c>).</summary>
    public static bool Available => File.Exists(SquadFile) && Directory.Exists(PgaiFolder);

    /// <summary>SQuAD v1.1 paragraphs as documents <c>squad-{n}</c>, and every question with its paragraph.</summary>
    public static (List<SampleDocument> Documents, List<LabelledQuestion> Questions) Squad()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(SquadFile));
        var documents = new List<SampleDocument>();
        var questions = new List<LabelledQuestion>();
        foreach (var article in json.RootElement.GetProperty("data").EnumerateArray())
        {
            var title = article.GetProperty("title").GetString()!;
            foreach (var paragraph in article.GetProperty("paragraphs").EnumerateArray())
            {
                var id = $"squad-{documents.Count}";
                documents.Add(new SampleDocument(id, title.Replace('_', ' '), paragraph.GetProperty("context").GetString()!, "squad-v1.1-dev"));
                questions.AddRange(paragraph.GetProperty("qas").EnumerateArray().Select(q => new LabelledQuestion(q.GetProperty("question").GetString()!, id)));
            }
        }

        return (documents, questions);
    }

    /// <summary>The pgai Markdown documents, id <c>pgai/{file}</c>, title from the first heading.</summary>
    public static List<SampleDocument> PgaiDocs() =>
        Directory.GetFiles(PgaiFolder, "*.md").Order(StringComparer.Ordinal).Select(file =>
        {
            var text = File.ReadAllText(file);
            var heading = FirstHeading().Match(text);
            return new SampleDocument($"pgai/{Path.GetFileName(file)}", heading.Success ? heading.Groups[1].Value.Trim() : Path.GetFileName(file), text, "pgai-docs");
        }).ToList();

    [GeneratedRegex(@"^#\s+(.+)$", RegexOptions.Multiline)]
    private static partial Regex FirstHeading();
}
