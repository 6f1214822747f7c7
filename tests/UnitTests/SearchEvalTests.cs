using System.Text.Json;
using VectorPipeline.TestServers;
using VectorPipeline.Tools.SearchEval;

namespace VectorPipeline.UnitTests;

public class SearchEvalTests
{
    private static readonly string[] TenOthers = ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10"];

    [Fact]
    public void Recall_and_mrr_of_a_hand_made_ranking()
    {
        // Ranks of the first chunk of a labelled document, counted by hand:
        //  q1: a first                                  → 1
        //  q2: two chunks of a, then b                  → 3 (chunks are ranked, not distinct documents)
        //  q3: z never appears                          → none
        //  q4: labelled x or y; y is the 7th chunk      → 7
        //  q5: k is the 11th chunk, beyond the top 10   → none
        (string[] Ranked, string[] Labelled)[] questions =
        [
            (["a", "b", "c"], ["a"]),
            (["a", "a", "b", "c"], ["b"]),
            (TenOthers, ["z"]),
            (["o1", "o2", "o3", "o4", "o5", "o6", "y", "x", "o7"], ["x", "y"]),
            ([.. TenOthers, "k"], ["k"]),
        ];

        var ranks = questions.Select(q => RetrievalMetrics.FirstRelevantRank(q.Ranked, q.Labelled)).ToList();
        Assert.Equal([1, 3, null, 7, null], ranks);

        var metrics = RetrievalMetrics.Compute(ranks);

        // recall@1 = 1/5, recall@5 = 2/5 (q1, q2), recall@10 = 3/5 (q1, q2, q4); MRR@10 = (1 + 1/3 + 1/7) / 5 = 31/105.
        Assert.Equal(5, metrics.Questions);
        Assert.Equal(0.2, metrics.RecallAt1, 12);
        Assert.Equal(0.4, metrics.RecallAt5, 12);
        Assert.Equal(0.6, metrics.RecallAt10, 12);
        Assert.Equal(31.0 / 105.0, metrics.MrrAt10, 12);
    }

    [Fact]
    public void Ranks_beyond_ten_count_for_nothing_and_no_questions_is_an_error()
    {
        var metrics = RetrievalMetrics.Compute([11, 10, null]);
        Assert.Equal((0.0, 0.0, 1.0 / 3), (metrics.RecallAt1, metrics.RecallAt5, metrics.RecallAt10));
        Assert.Equal(0.1 / 3, metrics.MrrAt10, 12);
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Compute([]));
    }

    [Fact]
    public void Two_line_jsonl_gives_one_document_and_one_labelled_question()
    {
        const string jsonl = """
            {"type":"document","id":"guides/pgvector.md","title":"pgvector","text":"pgvector adds HNSW indexes to PostgreSQL.","metadata":{"lang":"en"}}
            {"type":"question","question":"Which extension adds HNSW indexes?","documentIds":["guides/pgvector.md"]}
            """;

        var set = LabelledSetReader.ParseJsonl(jsonl);

        var document = Assert.Single(set.Documents);
        Assert.Equal(("guides/pgvector.md", "pgvector", "pgvector adds HNSW indexes to PostgreSQL.", null), (document.Id, document.Title, document.Text, document.Source));
        Assert.Equal("en", document.Metadata!.Value.GetProperty("lang").GetString());
        var question = Assert.Single(set.Questions);
        Assert.Equal("Which extension adds HNSW indexes?", question.Question);
        Assert.Equal(["guides/pgvector.md"], question.DocumentIds);
    }

    [Fact]
    public void Jsonl_questions_alone_are_allowed_and_document_id_is_a_shorthand()
    {
        var set = LabelledSetReader.ParseJsonl("\n{\"type\":\"question\",\"question\":\"q?\",\"documentId\":\"d1\"}\n\n");

        Assert.Empty(set.Documents);
        Assert.Equal(["d1"], Assert.Single(set.Questions).DocumentIds);
    }

    [Theory]
    [InlineData("{\"type\":\"document\",\"id\":\"a\",\"text\":\"x\"}\n{\"type\":\"question\",\"question\":\"q\",\"documentIds\":[\"b\"]}", "line 2: the question is labelled with document 'b'")]
    [InlineData("{\"type\":\"document\",\"id\":\"a\",\"text\":\"x\"}\n{\"type\":\"document\",\"id\":\"a\",\"text\":\"y\"}", "line 2: document id 'a' was already used on line 1")]
    [InlineData("{\"type\":\"document\",\"id\":\"a\",\"text\":\"  \"}", "line 1: \"text\" is required")]
    [InlineData("{\"type\":\"document\",\"id\":\"a\",\"text\":\"x\",\"metadata\":[1]}", "line 1: \"metadata\" must be a JSON object")]
    [InlineData("{\"type\":\"question\",\"question\":\"q\",\"documentIds\":[]}", "line 1: \"documentIds\" must be a non-empty array")]
    [InlineData("{\"type\":\"question\",\"question\":\"q\"}", "line 1: a question needs \"documentIds\"")]
    [InlineData("{\"type\":\"answer\"}", "line 1: \"type\" must be \"document\" or \"question\"")]
    [InlineData("\n{\"type\":\"question\",", "line 2: not valid JSON")]
    [InlineData("{\"type\":\"document\",\"id\":\"a\",\"text\":\"x\"}", "no questions")]
    public void Bad_jsonl_is_refused_with_the_line_and_the_reason(string jsonl, string expected)
    {
        var error = Assert.Throws<DataFileException>(() => LabelledSetReader.ParseJsonl(jsonl));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Squad_paragraphs_become_documents_numbered_across_articles()
    {
        const string squad = """
            {"version":"1.1","data":[
              {"title":"Super_Bowl_50","paragraphs":[
                {"context":"First paragraph.","qas":[{"id":"1","question":"Q1?"},{"id":"2","question":"Q2?"}]},
                {"context":"Second paragraph.","qas":[{"id":"3","question":"Q3?"}]}]},
              {"title":"Warsaw","paragraphs":[
                {"context":"Third paragraph.","qas":[{"id":"4","question":"Q4?"}]}]}]}
            """;

        var set = LabelledSetReader.ParseSquad(squad);

        Assert.Equal(["squad-0|Super Bowl 50|First paragraph.", "squad-1|Super Bowl 50|Second paragraph.", "squad-2|Warsaw|Third paragraph."],
            set.Documents.Select(d => $"{d.Id}|{d.Title}|{d.Text}"));
        Assert.All(set.Documents, d => Assert.Equal(("squad-v1.1-dev", "squad-v1.1-dev"), (d.Source, d.Metadata!.Value.GetProperty("corpus").GetString())));
        Assert.Equal(["Q1?>squad-0", "Q2?>squad-0", "Q3?>squad-1", "Q4?>squad-2"],
            set.Questions.Select(q => $"{q.Question}>{string.Join(",", q.DocumentIds)}"));
    }

    [Fact]
    public void The_shared_squad_file_gives_the_end_to_end_test_counts()
    {
        var file = Path.Combine(RepositoryPaths.SampleData, "squad-v1.1-dev-super-bowl-50.json");
        Assert.SkipUnless(File.Exists(file), $"sample data not found: {file}");

        var set = LabelledSetReader.Load(file);

        Assert.Equal((54, 810), (set.Documents.Count, set.Questions.Count));
        Assert.Equal(("squad-0", "Super Bowl 50"), (set.Documents[0].Id, set.Documents[0].Title));
        Assert.Equal("squad-53", set.Documents[^1].Id);
    }

    [Theory]
    [InlineData("data.txt", "unknown data format '.txt'")]
    [InlineData("missing.json", "data file not found")]
    public void Load_explains_an_unusable_path(string name, string expected)
    {
        var folder = Directory.CreateTempSubdirectory("searcheval-");
        try
        {
            var path = Path.Combine(folder.FullName, name);
            if (name.EndsWith(".txt", StringComparison.Ordinal))
            {
                File.WriteAllText(path, "{}");
            }

            var error = Assert.Throws<DataFileException>(() => LabelledSetReader.Load(path));
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Options_have_the_documented_defaults_and_accept_every_option()
    {
        var defaults = EvalOptions.Parse(["--data", "set.jsonl"]);
        Assert.Equal(("http://127.0.0.1:5110/", "http://127.0.0.1:5120/", 4, false, null), (defaults.Ingest.AbsoluteUri, defaults.Search.AbsoluteUri, defaults.Parallel, defaults.SkipIngest, defaults.EfSearch));
        Assert.Equal(["vector", "keyword", "hybrid"], defaults.Modes);

        var all = EvalOptions.Parse(["--data=set.json", "--ingest", "http://ingest:8080", "--search", "http://search/api/", "--modes", "Hybrid, vector",
            "--ef-search", "200", "--skip-ingest", "--parallel", "16", "--timeout", "30", "--output", "out.md"]);
        Assert.Equal(("set.json", "http://ingest:8080/", "http://search/api/", 200, true, 16, 30.0, "out.md"),
            (all.DataPath, all.Ingest.AbsoluteUri, all.Search.AbsoluteUri, all.EfSearch, all.SkipIngest, all.Parallel, all.ReadyTimeout.TotalSeconds, all.Output));
        Assert.Equal(["hybrid", "vector"], all.Modes);
    }

    [Theory]
    [InlineData(new string[0], "--data PATH is required")]
    [InlineData(new[] { "--data" }, "--data needs a value")]
    [InlineData(new[] { "--data", "x.json", "--modes", "vector,bm25" }, "unknown mode 'bm25'")]
    [InlineData(new[] { "--data", "x.json", "--parallel", "0" }, "--parallel must be a positive whole number")]
    [InlineData(new[] { "--data", "x.json", "--ingest", "localhost:5110" }, "--ingest must be an http(s) URL")]
    [InlineData(new[] { "--data", "x.json", "--verbose" }, "unknown option '--verbose'")]
    public void Bad_command_lines_are_refused(string[] args, string expected)
    {
        var error = Assert.Throws<UsageException>(() => EvalOptions.Parse(args));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_is_a_markdown_table_with_three_decimals_and_says_why_a_mode_is_missing()
    {
        var report = Report.Markdown(
            [new ModeResult("vector", new ModeMetrics(810, 0.4444, 0.67, 2.0 / 3, 0.55555), null), new ModeResult("keyword", null, "400 Bad Request")],
            ["hashing-ngram-v1@384"], "data.json", 54, 810, null, new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var lines = report.Split('\n').Select(l => l.TrimEnd('\r')).ToList();

        Assert.Equal("| mode | questions | recall@1 | recall@5 | recall@10 | MRR@10 |", lines[0]);
        Assert.Equal("| vector | 810 | 0.444 | 0.670 | 0.667 | 0.556 |", lines[2]);
        Assert.Equal("| keyword | – | – | – | – | – |", lines[3]);
        Assert.Contains("- keyword: not measured: 400 Bad Request", lines);
        Assert.Contains(lines, l => l.StartsWith("Model: hashing-ngram-v1@384; data: data.json (54 documents, 810 questions)", StringComparison.Ordinal)
            && l.Contains("date: 2025-01-02 03:04 UTC", StringComparison.Ordinal));
    }

    [Fact]
    public void Problem_details_are_printed_with_their_field_errors()
    {
        var body = JsonSerializer.Serialize(new
        {
            title = "One or more validation errors occurred.",
            status = 400,
            errors = new Dictionary<string, string[]> { ["mode"] = ["Mode 'hybrid' is not supported; this build answers 'vector'."] },
        });

        Assert.Equal("400 Bad Request: One or more validation errors occurred. [mode: Mode 'hybrid' is not supported; this build answers 'vector'.]",
            PipelineClient.FormatProblem(400, "Bad Request", body));
        Assert.Equal("502 Bad Gateway: <html>", PipelineClient.FormatProblem(502, "Bad Gateway", "<html>"));
        Assert.Equal("503", PipelineClient.FormatProblem(503, null, ""));
    }
}
