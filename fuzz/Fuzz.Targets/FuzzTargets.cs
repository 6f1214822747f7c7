using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.Ingest.Documents;
using VectorPipeline.Ingest.Extraction;
using VectorPipeline.Search.Apis;
using VectorPipeline.Search.Services;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.Fuzz;

/// <summary>An input broke a target's invariant: the code under test threw what it does not document, answered a 5xx, or gave a wrong result.</summary>
/// <param name="message">What was broken.</param>
/// <param name="inner">The exception the code under test threw, if any.</param>
public sealed class InvariantViolationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One fuzz target per parser that reads user input. Each takes the raw input bytes, drives the product's own entry
/// point as the service does, and throws <see cref="InvariantViolationException"/> when the invariant breaks: no
/// exception but the documented rejections (a 4xx answer), and where the input is accepted, a result that holds
/// (chunks non-empty, trimmed, within the limit unless one word, no word lost or made up). A hang is caught by the
/// fuzzer's time limit (fuzz/run.sh) and, in the replay test, by a deadline.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Largest extracted text in the extraction targets, in characters (small, so that 413 is reached).</summary>
    public const int MaxExtractedChars = 20_000;

    /// <summary>Longest NDJSON line in the <c>ndjson</c> target, in bytes (small, so that long lines are reached).</summary>
    public const int MaxNdjsonLine = 300;

    /// <summary>The targets by name, as <c>fuzz/run.sh</c> and the corpus folders <c>fuzz/corpora/NAME</c> name them.</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["splitter-chars"] = SplitterChars,
        ["splitter-tokens"] = SplitterTokens,
        ["format"] = Format,
        ["markdown"] = input => Extract(SourceFormat.Markdown, input),
        ["html"] = input => Extract(SourceFormat.Html, input),
        ["docx"] = input => Extract(SourceFormat.Docx, input),
        ["ndjson"] = Ndjson,
        ["document-json"] = DocumentJson,
        ["multipart"] = Multipart,
        ["filter"] = Filter,
        ["dify"] = Dify,
    };

    /// <summary>
    /// Runs target <paramref name="name"/> on <paramref name="input"/>; throws <see cref="InvariantViolationException"/>
    /// when its invariant breaks. A 4xx <see cref="BadHttpRequestException"/> is what the framework answers as a 4xx
    /// problem detail, so it counts as handled.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No target has that name.</exception>
    public static void Run(string name, byte[] input)
    {
        var target = All.TryGetValue(name, out var found) ? found : throw new KeyNotFoundException($"No fuzz target '{name}'; targets: {string.Join(", ", All.Keys)}.");
        try
        {
            target(input);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode is >= 400 and < 500)
        {
        }
        catch (Exception ex) when (ex is not InvariantViolationException)
        {
            throw new InvariantViolationException($"{name} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// <c>splitter-chars</c>: the character splitter. Byte 0 sets the limit (50..560 characters), byte 1 the overlap
    /// (0..limit/2); the rest is the text (UTF-8, invalid bytes replaced).
    /// </summary>
    public static void SplitterChars(byte[] input)
    {
        var (a, b, text) = Settings(input);
        var max = 50 + (a * 2);
        var splitter = new RecursiveTextSplitter(new ChunkingOptions { MaxChunkChars = max, OverlapChars = b % ((max / 2) + 1) });
        CheckChunks(text, splitter, static s => s.Length);
    }

    /// <summary>
    /// <c>splitter-tokens</c>: the token splitter with a stand-in tokenizer that, like WordPiece, is additive over
    /// pieces split at white space (each word costs 1 + length / 6 tokens). Byte 0 sets the limit (8..135 tokens),
    /// byte 1 the overlap (0..limit/2); the rest is the text.
    /// </summary>
    public static void SplitterTokens(byte[] input)
    {
        var (a, b, text) = Settings(input);
        var max = 8 + (a % 128);
        var splitter = new RecursiveTextSplitter(max, b % ((max / 2) + 1), CountTokens);
        CheckChunks(text, splitter, CountTokens);
    }

    /// <summary>
    /// <c>format</c>: an upload's format detection, then its extraction. Line 1 is the declared content type, line 2
    /// the file name (each empty for none); the rest is the file.
    /// </summary>
    public static void Format(byte[] input)
    {
        var (contentType, rest) = Line(input);
        var (fileName, content) = Line(rest);
        SourceFormat format;
        try
        {
            format = FormatDetector.Detect(Empty(contentType), Empty(fileName), content.AsSpan(0, Math.Min(content.Length, 8192)));
        }
        catch (DocumentRejectedException ex)
        {
            Expect4xx(ex.StatusCode, ex.Message);
            return;
        }

        Extract(format, content);
    }

    /// <summary><c>markdown</c>, <c>html</c>, <c>docx</c>: <see cref="DocumentExtractor.Extract"/> of the whole input as that format, then what the ingestor does with its text.</summary>
    public static void Extract(SourceFormat format, byte[] content)
    {
        ExtractedDocument document;
        try
        {
            document = DocumentExtractor.Extract(format, content, "fuzz", MaxExtractedChars);
        }
        catch (DocumentRejectedException ex)
        {
            Expect4xx(ex.StatusCode, ex.Message);
            return;
        }

        Check(document.Format == format, $"read as {document.Format}, asked for {format}");
        Check(document.Length <= MaxExtractedChars, $"{document.Length} characters passed the limit of {MaxExtractedChars}");
        foreach (var section in document.Sections)
        {
            Check(section.Heading is not null || section.Text.Length > 0, "an empty section was kept");
            Check(section.Heading is null ? section.Level == 0 : section.Level is >= 1 and <= 6, $"heading level {section.Level}");
        }

        CheckChunks(document.Text, Shared.IngestSplitter, static s => s.Length);
    }

    /// <summary>
    /// <c>ndjson</c>: the NDJSON batch reader (<c>POST /documents/batch</c>) over a body that arrives in reads of
    /// 1..64 bytes (byte 0). Every line is numbered once, in order, and either read whole (at most
    /// <see cref="MaxNdjsonLine"/> bytes) or rejected as too long; each read line is parsed and validated as a batch
    /// line, and a valid one goes on to the ingestor's splitting.
    /// </summary>
    public static void Ndjson(byte[] input)
    {
        var readSize = input.Length == 0 ? 1 : 1 + (input[0] % 64);
        var body = input.Length == 0 ? input : input[1..];
        var lines = new List<(long Number, byte[]? Line)>();
        var pipe = PipeReader.Create(new TrickleStream(body, readSize));
        BatchApi.ReadLinesAsync(pipe, MaxNdjsonLine,
            (number, line) =>
            {
                lines.Add((number, line.ToArray()));
                Guard("the batch line parser", () =>
                {
                    var (request, error) = BatchApi.ParseLine(line, Shared.LineReader);
                    if (request is not null && error is null)
                    {
                        Ingest(request);
                    }
                });
                return Task.CompletedTask;
            },
            number => lines.Add((number, null)),
            CancellationToken.None).GetAwaiter().GetResult();

        var expected = SplitLines(body);
        Check(lines.Count == expected.Count, $"{lines.Count} lines reported, the body has {expected.Count}");
        for (var i = 0; i < lines.Count; i++)
        {
            var (number, line) = lines[i];
            Check(number == i + 1, $"line {i + 1} reported as line {number}");
            if (line is null)
            {
                Check(expected[i].Length > MaxNdjsonLine, $"line {number} of {expected[i].Length} bytes rejected as longer than {MaxNdjsonLine}");
            }
            else
            {
                Check(line.AsSpan().SequenceEqual(expected[i]), $"line {number} read as other bytes than the body holds");
                Check(line.Length <= MaxNdjsonLine, $"line {number} of {line.Length} bytes read, longer than the limit of {MaxNdjsonLine}");
            }
        }
    }

    /// <summary>
    /// <c>document-json</c>: the JSON body of <c>POST /documents</c> read by <see cref="DocumentRequestReader"/> and
    /// checked by <see cref="DocumentValidator"/> (ids, metadata depth and size), then split as the ingestor would.
    /// Line 1 also goes through the content type check.
    /// </summary>
    public static void DocumentJson(byte[] input)
    {
        _ = DocumentRequestReader.IsJson(Encoding.UTF8.GetString(Line(input).First));
        var http = new DefaultHttpContext();
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(input, writable: false);
        var (request, problem) = Guard("DocumentRequestReader.ReadAsync", () => Shared.DocumentReader.ReadAsync(http, CancellationToken.None).GetAwaiter().GetResult());
        Validated(request, problem);
    }

    /// <summary>
    /// <c>multipart</c>: a <c>multipart/form-data</c> upload read by <see cref="UploadReader"/> (form, format detection,
    /// extraction, metadata field), then validated and split. Line 1 is the request's content type (with its
    /// boundary); the rest is the body.
    /// </summary>
    public static void Multipart(byte[] input)
    {
        var (contentType, body) = Line(input);
        var http = new DefaultHttpContext();
        http.Request.ContentType = Encoding.UTF8.GetString(contentType);
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = body.Length;
        if (!http.Request.HasFormContentType)
        {
            return; // POST /documents reads it as JSON (the document-json target)
        }

        var (request, problem) = Guard("UploadReader.ReadAsync", () => Shared.Uploads.ReadAsync(http, CancellationToken.None).GetAwaiter().GetResult());
        Validated(request, problem);
    }

    /// <summary>
    /// <c>filter</c>: the input is the <c>filter</c> object of <c>POST /search</c> (invalid JSON is the framework's 400),
    /// read by <see cref="SearchFilterParser"/>; an accepted filter must render its SQL.
    /// </summary>
    public static void Filter(byte[] input)
    {
        JsonElement filter;
        try
        {
            using var document = JsonDocument.Parse(input);
            filter = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return;
        }

        ParseFilter(filter);
    }

    /// <summary>
    /// <c>dify</c>: the body of <c>POST /retrieval</c> (Dify's External Knowledge API) mapped by
    /// <see cref="RetrievalApi"/> to a search request, which is then checked as <see cref="SearchService"/> does
    /// and its filter parsed and rendered. Errors must be 4xx Dify errors.
    /// </summary>
    public static void Dify(byte[] input)
    {
        var (request, _, error) = Guard("RetrievalApi.ReadAsync", () => RetrievalApi.ReadAsync(new MemoryStream(input, writable: false), Shared.Search, CancellationToken.None).GetAwaiter().GetResult());
        if (error is not null)
        {
            Expect4xx((error as IStatusCodeHttpResult)?.StatusCode ?? 500, "retrieval error");
            return;
        }

        Check(request is not null, "neither a request nor an error");
        Guard("SearchService.Validate", () => SearchService.Validate(request!, Shared.Search));
        ParseFilter(request!.Filter);
    }

    private static void ParseFilter(JsonElement? filter)
    {
        var errors = new Dictionary<string, string[]>();
        var parsed = Guard("SearchFilterParser.Parse", () => SearchFilterParser.Parse(filter, errors));
        if (errors.Count > 0)
        {
            Check(parsed is null, "a filter with errors was returned");
            return;
        }

        if (parsed is null)
        {
            return;
        }

        Guard("SearchFilter.AppendSql", () =>
        {
            using var command = new NpgsqlCommand();
            var sql = new StringBuilder();
            (parsed with { Tenant = "fuzz" }).AppendSql(sql, command.Parameters);
            return sql.Length;
        });
    }

    // A request read by a reader: a 4xx problem, or a request that is validated and (when valid) split as the ingestor would.
    private static void Validated(PostDocumentRequest? request, ProblemHttpResult? problem)
    {
        if (problem is not null)
        {
            Expect4xx(problem.StatusCode, problem.ProblemDetails.Detail);
            return;
        }

        Check(request is not null, "neither a request nor a problem");
        var errors = Guard("DocumentValidator.Validate", () => DocumentValidator.Validate(request!, Shared.Limits));
        if (errors.Count == 0)
        {
            Ingest(request!);
        }
    }

    // What DocumentIngestor does with a valid request before the database: split, render, serialise the metadata.
    private static void Ingest(PostDocumentRequest request)
    {
        var chunks = CheckChunks(request.Text!, Shared.IngestSplitter, static s => s.Length);
        Guard("ChunkTemplate.Render", () => Shared.Template.Render(request.Title, request.Source, chunks));
        _ = request.Metadata is { ValueKind: JsonValueKind.Object } m ? m.GetRawText() : "{}";
    }

    /// <summary>Splits <paramref name="text"/> and checks the chunks; returns them.</summary>
    private static IReadOnlyList<string> CheckChunks(string text, RecursiveTextSplitter splitter, Func<string, int> measure)
    {
        var chunks = Guard("RecursiveTextSplitter.Split", () => splitter.Split(text));
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            Check(chunk.Length > 0, $"chunk {i} is empty");
            Check(chunk == chunk.Trim(), $"chunk {i} is not trimmed");
            Check(measure(chunk) <= splitter.MaxChunk || !chunk.Any(char.IsWhiteSpace),
                $"chunk {i} measures {measure(chunk)} {splitter.Unit}, over the limit of {splitter.MaxChunk}, and is more than one word");
        }

        var words = Words(text);
        var chunkWords = chunks.SelectMany(Words).ToHashSet(StringComparer.Ordinal);
        Check(words.SetEquals(chunkWords), $"the chunks' words differ from the text's (lost: {string.Join(' ', words.Except(chunkWords).Take(3))}; made up: {string.Join(' ', chunkWords.Except(words).Take(3))})");
        return chunks;
    }

    private static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var space = i == text.Length || char.IsWhiteSpace(text[i]);
            if (!space && start < 0)
            {
                start = i;
            }
            else if (space && start >= 0)
            {
                words.Add(text[start..i]);
                start = -1;
            }
        }

        return words;
    }

    // A stand-in tokenizer, additive over pieces split at white space: each word costs 1 + length / 6 tokens.
    private static int CountTokens(string text)
    {
        var tokens = 0;
        var length = 0;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                tokens += length == 0 ? 0 : 1 + (length / 6);
                length = 0;
            }
            else
            {
                length++;
            }
        }

        return tokens + (length == 0 ? 0 : 1 + (length / 6));
    }

    private static (byte A, byte B, string Text) Settings(byte[] input) => input.Length < 2
        ? ((byte)0, (byte)0, Encoding.UTF8.GetString(input))
        : (input[0], input[1], Encoding.UTF8.GetString(input, 2, input.Length - 2));

    private static (byte[] First, byte[] After) Line(byte[] input)
    {
        var end = Array.IndexOf(input, (byte)'\n');
        return end < 0 ? (input, []) : (input[..end].AsSpan().TrimEnd((byte)'\r').ToArray(), input[(end + 1)..]);
    }

    private static string? Empty(byte[] bytes) => bytes.Length == 0 ? null : Encoding.UTF8.GetString(bytes);

    // The lines of an NDJSON body as the reader must see them: split at \n, a last piece only when non-empty.
    private static List<byte[]> SplitLines(byte[] body)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '\n')
            {
                lines.Add(body[start..i]);
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            lines.Add(body[start..]);
        }

        return lines;
    }

    private static void Expect4xx(int status, string? why)
    {
        Check(status is >= 400 and < 500, $"answered {status}: {why}");
    }

    private static void Check(bool holds, string message)
    {
        if (!holds)
        {
            throw new InvariantViolationException(message);
        }
    }

    private static void Guard(string what, Action action) => Guard(what, () =>
    {
        action();
        return 0;
    });

    private static T Guard<T>(string what, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (InvariantViolationException)
        {
            throw;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode is >= 400 and < 500)
        {
            throw; // the framework answers it with its 4xx (BadRequestExceptionHandler); the caller treats it as handled
        }
        catch (Exception ex)
        {
            throw new InvariantViolationException($"{what} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    // The readers and settings the targets share. Kept apart from the class's own statics: SharpFuzz's instrumented code
    // may only run once Fuzzer.Run has set up the coverage map, so looking a target up must not construct them.
    private static class Shared
    {
        public static readonly DocumentLimitsOptions Limits = new() { MaxTextBytes = 4096, MaxMetadataBytes = 512, MaxMetadataDepth = 5 };

        public static readonly DocumentRequestReader DocumentReader = new(
            Options.Create(new DocumentLimitsOptions { MaxTextBytes = Limits.MaxTextBytes, MaxMetadataBytes = Limits.MaxMetadataBytes, MaxMetadataDepth = Limits.MaxMetadataDepth, MaxRequestBytes = 8192 }),
            Options.Create(new Microsoft.AspNetCore.Http.Json.JsonOptions()));

        public static readonly DocumentRequestReader LineReader = new(
            Options.Create(new DocumentLimitsOptions { MaxTextBytes = Limits.MaxTextBytes, MaxMetadataBytes = Limits.MaxMetadataBytes, MaxMetadataDepth = Limits.MaxMetadataDepth, MaxRequestBytes = MaxNdjsonLine }),
            Options.Create(new Microsoft.AspNetCore.Http.Json.JsonOptions()));

        public static readonly UploadReader Uploads = new(DocumentReader);

        // What the ingestor splits with (small chunks, so that every level of the splitter is reached) and renders.
        public static readonly RecursiveTextSplitter IngestSplitter = new(new ChunkingOptions { MaxChunkChars = 120, OverlapChars = 20 });
        public static readonly ChunkTemplate Template = new("{title} ({source})\n\n{chunk}");

        public static readonly SearchOptions Search = new() { RetrievalKnowledgeIds = ["*", "wiki", "docs"] };
    }

    /// <summary>A read-only stream over bytes that hands out at most a given number of bytes per read, as a network does.</summary>
    private sealed class TrickleStream(byte[] bytes, int readSize) : MemoryStream(bytes, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, readSize));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, readSize)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, readSize), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }
}
