using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings;
using VectorPipeline.Embeddings.Onnx;

namespace VectorPipeline.ProviderTests;

/// <summary>The <c>onnx</c> provider with the built-in models: real inference, no server.</summary>
public sealed class OnnxProviderTests
{
    private const string Arctic = "arctic-embed-xs";
    private const string MiniLm = "all-minilm-l6-v2";

    private static IEmbeddingGenerator<string, Embedding<float>> Create(string? model, Action<EmbeddingModelOptions>? configure = null)
    {
        var options = new EmbeddingModelOptions { Provider = "onnx", Model = model };
        configure?.Invoke(options);
        return EmbeddingGeneratorFactory.Create(options, NullLoggerFactory.Instance);
    }

    private static async Task<float[][]> Embed(IEmbeddingGenerator<string, Embedding<float>> generator, params string[] texts) =>
        (await generator.GenerateAsync(texts, cancellationToken: TestContext.Current.CancellationToken)).Select(e => e.Vector.ToArray()).ToArray();

    private static double Cos(float[] a, float[] b) => VectorMath.CosineSimilarity(a, b);

    [Fact]
    public async Task MiniLm_reproduces_the_similarities_published_by_sentence_transformers()
    {
        // sbert.net, "Usage" of SentenceTransformer: all-MiniLM-L6-v2 on these three sentences gives
        // 0.6660 (1, 2), 0.1046 (1, 3) and 0.1411 (2, 3).
        using var generator = Create(MiniLm);
        var v = await Embed(generator, "The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium.");

        Assert.Equal(0.6660, Cos(v[0], v[1]), 0.002);
        Assert.Equal(0.1046, Cos(v[0], v[2]), 0.002);
        Assert.Equal(0.1411, Cos(v[1], v[2]), 0.002);
    }

    [Theory]
    [InlineData(Arctic)]
    [InlineData(MiniLm)]
    public async Task Paraphrases_are_close_and_unrelated_texts_far(string model)
    {
        using var generator = Create(model);
        var v = await Embed(generator,
            "The physician prescribed medicine for the patient's illness.",
            "A doctor gave the sick person a drug.",
            "Quarterly revenue of the company rose by ten percent.");

        var paraphrase = Cos(v[0], v[1]);
        var unrelated = Cos(v[0], v[2]);
        Assert.True(paraphrase > unrelated + 0.15, $"{model}: paraphrase {paraphrase:F3}, unrelated {unrelated:F3}");
        Assert.All(v, vector => Assert.Equal(1.0, VectorMath.Norm(vector), 1e-5));
        Assert.All(v, vector => Assert.Equal(384, vector.Length));
    }

    [Theory]
    [InlineData(Arctic)]
    [InlineData(MiniLm)]
    public async Task Vectors_do_not_depend_on_the_batch_they_were_padded_in(string model)
    {
        using var generator = Create(model, o => o.Onnx.RunBatchSize = 3);
        string[] texts =
        [
            "Short.",
            "A somewhat longer sentence about the Denver Broncos and the Carolina Panthers.",
            "Mid-length text on pgvector indexes.",
            string.Join(' ', Enumerable.Repeat("Levi's Stadium hosted Super Bowl 50 in Santa Clara, California.", 6)),
            "Tiny",
        ];

        var together = await Embed(generator, texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await Embed(generator, texts[i]))[0];
            Assert.True(Cos(together[i], alone) > 0.9999, $"text {i}: {Cos(together[i], alone):F6}");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t")]
    public async Task Blank_texts_never_reach_the_model(string blank)
    {
        using var generator = Create(Arctic);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["fine", blank], cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("Text 1 of 2 is empty or white space", error.Message);
    }

    [Fact]
    public async Task A_text_longer_than_the_model_takes_is_cut_and_its_full_length_reported()
    {
        using var generator = Create(MiniLm);
        var tokenizer = OnnxModelSession.GetTokenizer(OnnxModelDefinition.Resolve(new EmbeddingModelOptions { Provider = "onnx", Model = MiniLm }, "Embedding"));
        var longText = string.Join(' ', Enumerable.Repeat("touchdown", 300));
        var full = tokenizer.CountTokens(longText);

        var result = await generator.GenerateAsync([longText, "short"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(302, full);
        Assert.Equal(256, tokenizer.Encode(longText, out _).Length);
        Assert.Equal(full, result[0].AdditionalProperties![OnnxEmbeddingGenerator.FullTokenCountProperty]);
        Assert.Null(result[1].AdditionalProperties);
        Assert.Equal(256 + tokenizer.CountTokens("short"), result.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task A_model_from_a_folder_with_vocab_txt_or_tokenizer_json_gives_the_built_in_vectors()
    {
        var folder = Directory.CreateTempSubdirectory("vp-onnx-").FullName;
        try
        {
            var builtIn = BuiltInOnnxModels.AllMiniLmL6V2;
            await using (var model = builtIn.Open("model.onnx"))
            await using (var file = File.Create(Path.Combine(folder, "model.onnx")))
            {
                await model.CopyToAsync(file, TestContext.Current.CancellationToken);
            }

            string[] vocab;
            using (var reader = new StreamReader(builtIn.Open("vocab.txt")))
            {
                vocab = (await reader.ReadToEndAsync(TestContext.Current.CancellationToken)).Split('\n').Where(l => l.Length > 0).ToArray();
            }

            await File.WriteAllLinesAsync(Path.Combine(folder, "vocab.txt"), vocab, TestContext.Current.CancellationToken);
            var json = new { normalizer = new { type = "BertNormalizer", lowercase = true }, model = new { type = "WordPiece", vocab = vocab.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i) } };
            await File.WriteAllTextAsync(Path.Combine(folder, "tokenizer.json"), JsonSerializer.Serialize(json), TestContext.Current.CancellationToken);
            const string text = "Which team won Super Bowl 50?";
            using var reference = Create(MiniLm);
            var expected = (await Embed(reference, text))[0];

            foreach (var tokenizerFile in new[] { "vocab.txt", "tokenizer.json" })
            {
                using var fromFolder = Create("my-minilm", o =>
                {
                    o.Dimensions = 384;
                    o.Onnx.ModelPath = folder;
                    o.Onnx.TokenizerPath = Path.Combine(folder, tokenizerFile);
                    o.Onnx.Pooling = "mean";
                    o.Onnx.MaxSequenceLength = 256;
                });
                var actual = (await Embed(fromFolder, text))[0];
                Assert.True(Cos(expected, actual) > 0.99999, $"{tokenizerFile}: {Cos(expected, actual):F6}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static TheoryData<Action<EmbeddingModelOptions>, string> InvalidFolderModels => new()
    {
        { o => { o.Model = "mine"; o.Dimensions = 384; o.Onnx.Pooling = "cls"; o.Onnx.ModelPath = "/nonexistent/model.onnx"; }, "Embedding:Onnx:ModelPath: the model file /nonexistent/model.onnx does not exist." },
        { o => { o.Model = "mine"; o.Dimensions = 384; o.Onnx.Pooling = "cls"; o.Onnx.ModelPath = "/tmp"; o.Onnx.TokenizerPath = "/nonexistent/vocab.txt"; }, "Embedding:Onnx:ModelPath: the folder /tmp holds neither model.onnx" },
        { o => { o.Model = "mine"; o.Dimensions = 384; o.Onnx.ModelPath = "/tmp"; }, "Embedding:Onnx:Pooling is required" },
        { o => { o.Model = "mine"; o.Onnx.Pooling = "mean"; o.Onnx.ModelPath = "/tmp"; }, "Embedding:Dimensions is required" },
        { o => o.Model = "bge-small", "Embedding:Model 'bge-small' is not a built-in model (arctic-embed-xs, all-minilm-l6-v2); a model from a folder needs Embedding:Onnx:ModelPath" },
        { o => { o.Model = Arctic; o.Dimensions = 768; }, "Embedding:Dimensions is 768; the built-in model arctic-embed-xs produces 384." },
        { o => { o.Model = Arctic; o.Onnx.Pooling = "mean"; }, "Embedding:Onnx:Pooling is mean; the built-in model arctic-embed-xs was trained with cls pooling." },
        { o => { o.Model = MiniLm; o.Onnx.MaxSequenceLength = 512; }, "Embedding:Onnx:MaxSequenceLength is 512; the built-in model all-minilm-l6-v2 takes at most 256" },
        { o => o.Onnx.IntraOpThreads = 0, "Embedding:Onnx:IntraOpThreads must be between 1 and 64; it is 0." },
        { o => o.Onnx.ExecutionProvider = "rocm", "Embedding:Onnx:ExecutionProvider must be cpu or cuda; it is 'rocm'." },
        { o => o.Onnx.MaxConcurrentRuns = 0, "Embedding:Onnx:MaxConcurrentRuns must be between 1 and 256; it is 0." },
        { o => o.Onnx.Pooling = "max", "Embedding:Onnx:Pooling must be cls or mean; it is 'max'." },
    };

    [Theory]
    [MemberData(nameof(InvalidFolderModels))]
    public void Invalid_onnx_settings_stop_the_service_naming_the_key(Action<EmbeddingModelOptions> configure, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Create(null, configure));

        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Cuda_on_a_machine_without_it_fails_at_creation_and_never_runs_on_the_cpu()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Create(Arctic, o => o.Onnx.ExecutionProvider = "cuda"));

        Assert.StartsWith("Embedding:Onnx:ExecutionProvider is cuda, but the CUDA execution provider cannot run model arctic-embed-xs on device 0", error.Message);
        Assert.Contains("-p:OnnxRuntimeGpu=true", error.Message);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(2, null)]
    [InlineData(1, 3)]
    public void Runs_at_once_default_to_the_cores_over_the_intra_op_threads(int intraOpThreads, int? configured)
    {
        var definition = OnnxModelDefinition.Resolve(new EmbeddingModelOptions
        {
            Provider = "onnx",
            Model = MiniLm,
            Onnx = new OnnxModelOptions { IntraOpThreads = intraOpThreads, MaxConcurrentRuns = configured },
        }, "Embedding");

        Assert.Equal(configured ?? Math.Max(1, Environment.ProcessorCount / intraOpThreads), definition.MaxConcurrentRuns);
    }

    [Fact]
    public async Task One_call_alone_on_the_session_runs_its_groups_in_every_run_slot()
    {
        // Its own session (2 intra-op threads: no other test loads MiniLM so), 2 run slots, 8 runs of 1 text each.
        using var generator = Create(MiniLm, o => (o.Onnx.IntraOpThreads, o.Onnx.MaxConcurrentRuns, o.Onnx.RunBatchSize) = (2, 2, 1));
        var session = generator.GetService<OnnxEmbeddingGenerator>()!.WarmUp();
        Assert.Equal(2, session.MaxConcurrentRuns);

        var vectors = await Embed(generator, [.. Enumerable.Range(0, 8).Select(i => $"Sentence number {i} about the Super Bowl at Levi's Stadium.")]);

        Assert.Equal(8, vectors.Length);
        Assert.Equal(2, session.PeakConcurrentRuns);
    }

    [Fact]
    public async Task Every_generator_of_a_model_shares_one_session_loaded_on_first_use()
    {
        using var first = Create(MiniLm);
        using var second = Create(MiniLm);
        await Embed(first, "load it");

        var a = first.GetService<OnnxEmbeddingGenerator>()!;
        var b = second.GetService<OnnxEmbeddingGenerator>()!;
        Assert.Same(a.WarmUp(), b.WarmUp());
    }

    [Fact]
    public async Task The_default_onnx_model_is_arctic_embed_xs_with_its_query_instruction()
    {
        using var generator = Create(null);

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal(("onnx", Arctic, 384), (metadata.ProviderName, metadata.DefaultModelId, metadata.DefaultModelDimensions));
        Assert.Equal("Represent this sentence for searching relevant passages: ", Embeddings.Models.KnownModelPrefixes.For(Arctic).Query);
        Assert.Single(await Embed(generator, "hello"));
    }

    [Fact]
    public async Task A_paraphrase_that_shares_no_content_word_with_its_passage_finds_it_first()
    {
        string[] passages =
        [
            "The physician prescribed antibiotics to treat the bacterial infection.",
            "Quarterly revenue of the company rose by ten percent.",
            "The stadium in Santa Clara hosted the championship match.",
            "Heavy rainfall caused the river to flood several villages.",
            "The recipe calls for flour, butter and two eggs.",
        ];
        (string Query, int Passage)[] questions =
        [
            ("Which doctor gave medicine for a germ illness?", 0),
            ("Where did the football final take place?", 2),
            ("What made water overflow and inundate towns?", 3),
        ];
        string[] functionWords = ["the", "a", "to", "of", "in", "for", "and", "by", "which", "where", "what", "did"];
        foreach (var (query, passage) in questions)
        {
            var shared = Words(query).Intersect(Words(passages[passage])).Except(functionWords);
            Assert.Empty(shared);
        }

        var catalog = Embeddings.Models.EmbeddingModelCatalog.FromConfiguration(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), NullLoggerFactory.Instance);
        var hashing = new Embeddings.Hashing.HashingEmbeddingGenerator();
        var documents = await catalog.Primary.EmbedDocumentsAsync(passages, TestContext.Current.CancellationToken);
        var lexicalFirst = 0;
        foreach (var (query, passage) in questions)
        {
            var q = await catalog.Primary.EmbedQueryAsync(query, TestContext.Current.CancellationToken);
            var best = Enumerable.Range(0, passages.Length).MaxBy(i => VectorMath.CosineSimilarity(q.Span, documents[i].Span));
            Assert.True(best == passage, $"{catalog.Primary.Key}: '{query}' found '{passages[best]}'");
            var h = hashing.Embed(query);
            lexicalFirst += Enumerable.Range(0, passages.Length).MaxBy(i => VectorMath.CosineSimilarity(h, hashing.Embed(passages[i]))) == passage ? 1 : 0;
        }

        // The lexical embedder has no shared word to go by: it does not find them all.
        Assert.True(lexicalFirst < questions.Length, $"the hashing embedder found {lexicalFirst} of {questions.Length}");

        static IEnumerable<string> Words(string text) =>
            System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), "[a-z]+").Select(m => m.Value);
    }

    [Fact]
    public async Task Texts_of_similar_length_are_run_together_so_that_less_of_each_run_is_padding()
    {
        // Passages and questions mixed as a worker receives them: long and short alternate.
        var passages = Enumerable.Range(0, 16).Select(i => string.Join(' ', Enumerable.Repeat($"The Broncos defeated the Panthers in game {i} at Levi's Stadium.", 1 + i % 8))).ToArray();
        var texts = passages.SelectMany((p, i) => new[] { p, $"Who won game {i}?" }).ToArray();
        var definition = OnnxModelDefinition.Resolve(new EmbeddingModelOptions { Provider = "onnx", Model = MiniLm }, "Embedding");
        var tokenizer = OnnxModelSession.GetTokenizer(definition);
        var lengths = texts.Select(t => tokenizer.Encode(t, out _).Length).ToArray();
        static long Padded(IEnumerable<int> runLengths, int runSize) =>
            runLengths.Chunk(runSize).Sum(run => (long)run.Max() * run.Length);

        var arrival = Padded(lengths, 8);
        var sorted = Padded(lengths.Order(), 8);
        var real = lengths.Sum();

        using var generator = Create(MiniLm, o => o.Onnx.RunBatchSize = 8);
        await Embed(generator, "warm up");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        foreach (var run in texts.Chunk(8))
        {
            await Embed(generator, run); // each call sorts only within its own 8: arrival order
        }

        var arrivalSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        await Embed(generator, texts); // one call: sorted across all 32
        var sortedSeconds = watch.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{texts.Length} texts, {real} real tokens: padded to {arrival} in arrival order ({texts.Length / arrivalSeconds:F1} texts/s), to {sorted} sorted by length ({texts.Length / sortedSeconds:F1} texts/s)");
        Assert.True(sorted < arrival * 0.75, $"sorted runs hold {sorted} tokens, arrival-order runs {arrival}");
        Assert.True(sorted < real * 1.4, $"sorted runs hold {sorted} tokens for {real} real ones");
    }
}
