using System.Collections.Concurrent;
using System.Diagnostics;

namespace VectorPipeline.Cli;

/// <summary>A file to send: a document upload, or an NDJSON batch of documents.</summary>
/// <param name="Path">File path.</param>
/// <param name="Id">Document id for an upload: the path relative to the folder given (with <c>/</c>), or the file name.</param>
/// <param name="IsBatch">An NDJSON file (<c>.ndjson</c>, <c>.jsonl</c>) sent to <c>POST /documents/batch</c>.</param>
public sealed record IngestFile(string Path, string Id, bool IsBatch);

/// <summary>Counts at one moment of an ingest run.</summary>
/// <param name="Files">Files to send.</param>
/// <param name="FilesSent">Files accepted so far.</param>
/// <param name="FilesRejected">Files refused (with their reasons in the summary).</param>
/// <param name="Documents">Documents accepted.</param>
/// <param name="DocumentsReady">Documents ready.</param>
/// <param name="DocumentsFailed">Documents failed.</param>
/// <param name="ChunksQueued">Chunks this run queued for embedding (new or changed).</param>
/// <param name="ChunksEmbedded">Of those, chunks embedded so far.</param>
/// <param name="ChunksFailed">Chunks whose embedding failed.</param>
/// <param name="Elapsed">Time since the start.</param>
/// <param name="ChunksUnchanged">Chunks sent again unchanged: they keep their embeddings and are not embedded again.</param>
/// <param name="DocumentsUnchanged">Documents whose every chunk was unchanged (nothing to embed).</param>
public sealed record IngestProgress(
    int Files, int FilesSent, int FilesRejected, int Documents, int DocumentsReady, int DocumentsFailed,
    long ChunksQueued, long ChunksEmbedded, long ChunksFailed, TimeSpan Elapsed, long ChunksUnchanged = 0, int DocumentsUnchanged = 0)
{
    /// <summary>Chunks embedded per second since the start.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? ChunksEmbedded / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the current rate, or null before the first chunk is embedded.</summary>
    public TimeSpan? Eta => Rate > 0 ? TimeSpan.FromSeconds((ChunksQueued - ChunksEmbedded - ChunksFailed) / Rate) : null;
}

/// <summary>The end of an ingest run: final counts, and every rejected file or line and failed document with its reason.</summary>
public sealed record IngestSummary(IngestProgress Progress, IReadOnlyList<(string Item, string Reason)> Problems, int Unfinished)
{
    /// <summary>0 when every file was accepted and every document is ready; 1 otherwise.</summary>
    public int ExitCode => Problems.Count == 0 && Unfinished == 0 ? 0 : 1;
}

/// <summary>
/// <c>vp ingest</c>: sends files with bounded concurrency, then follows every accepted document until it is
/// ready or failed (polling <c>GET /documents/{id}</c>), reporting progress as it goes.
/// </summary>
public sealed class FolderIngestion(PipelineClient client, int concurrency, string? source, TimeSpan timeout)
{
    /// <summary>File name extensions sent as document uploads.</summary>
    public static readonly IReadOnlySet<string> DocumentExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { ".md", ".markdown", ".txt", ".text", ".html", ".htm", ".docx" };

    /// <summary>File name extensions sent as NDJSON batches.</summary>
    public static readonly IReadOnlySet<string> BatchExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".ndjson", ".jsonl" };

    /// <summary>
    /// The files to send for the given paths: folders are walked recursively (hidden folders such as <c>.git</c>
    /// skipped), in ordinal path order; files with other extensions are listed in <paramref name="skipped"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A path is neither a file nor a folder.</exception>
    public static IReadOnlyList<IngestFile> Collect(IEnumerable<string> paths, List<string> skipped)
    {
        var files = new List<IngestFile>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var root = Path.GetFullPath(path);
                foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
                    if (relative.Split('/').SkipLast(1).Any(part => part.StartsWith('.')))
                    {
                        continue;
                    }

                    Add(file, relative);
                }
            }
            else if (File.Exists(path))
            {
                Add(path, Path.GetFileName(path));
            }
            else
            {
                throw new FileNotFoundException($"{path} is neither a file nor a folder.", path);
            }
        }

        return files;

        void Add(string file, string id)
        {
            var extension = Path.GetExtension(file);
            if (DocumentExtensions.Contains(extension) || BatchExtensions.Contains(extension))
            {
                files.Add(new IngestFile(file, id, BatchExtensions.Contains(extension)));
            }
            else
            {
                skipped.Add(file);
            }
        }
    }

    /// <summary>Sends the files and waits for their documents.</summary>
    /// <param name="files">From <see cref="Collect"/>.</param>
    /// <param name="report">Called about twice a second with the counts so far, and once at the end.</param>
    /// <param name="cancellationToken">Stops sending and waiting.</param>
    /// <exception cref="HttpRequestException">A service is unreachable.</exception>
    public async Task<IngestSummary> RunAsync(IReadOnlyList<IngestFile> files, Action<IngestProgress> report, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var problems = new ConcurrentQueue<(string, string)>();
        var documents = new ConcurrentDictionary<string, DocumentProgress>(StringComparer.Ordinal);
        // Chunks of each uploaded document that were already embedded (Ingest.Api's "chunks" minus "queued").
        var unchanged = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        int sent = 0, rejected = 0;
        var sending = Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (file, ct) =>
        {
            try
            {
                if (file.IsBatch)
                {
                    var (accepted, refused) = await client.PostBatchAsync(file.Path, ct);
                    foreach (var id in accepted)
                    {
                        documents.TryAdd(id, new DocumentProgress(id, "queued", 0, 0, 0));
                    }

                    foreach (var (line, reason) in refused)
                    {
                        problems.Enqueue(($"{file.Path}:{line}", reason));
                    }
                }
                else
                {
                    var (id, chunks, queued) = await client.UploadAsync(file.Path, file.Id, source, ct);
                    unchanged[id] = chunks - queued;
                    documents[id] = new DocumentProgress(id, "queued", chunks, 0, 0);
                }

                Interlocked.Increment(ref sent);
            }
            catch (PipelineApiException ex)
            {
                Interlocked.Increment(ref rejected);
                problems.Enqueue((file.Path, ex.Message));
            }
        });

        int Unchanged(DocumentProgress d) => unchanged.GetValueOrDefault(d.Id);
        IngestProgress Snapshot() => new(files.Count, sent, rejected, documents.Count,
            documents.Values.Count(d => d.Status == "ready"), documents.Values.Count(d => d.Status == "failed"),
            documents.Values.Sum(d => (long)d.Total - Unchanged(d)), documents.Values.Sum(d => (long)Math.Max(0, d.Embedded - Unchanged(d))),
            documents.Values.Sum(d => (long)d.Failed), clock.Elapsed,
            documents.Values.Sum(d => (long)Unchanged(d)), documents.Values.Count(d => d.Total > 0 && Unchanged(d) == d.Total));

        while (true)
        {
            var pending = documents.Values.Where(d => !d.IsFinished).Select(d => d.Id).ToList();
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
                async (id, ct) => documents[id] = await client.GetDocumentAsync(id, ct));
            report(Snapshot());
            if (sending.IsCompleted && documents.Values.All(d => d.IsFinished))
            {
                break;
            }

            if (clock.Elapsed > timeout)
            {
                break;
            }

            await Task.Delay(500, cancellationToken);
        }

        await sending;
        foreach (var failed in documents.Values.Where(d => d.Status == "failed").OrderBy(d => d.Id, StringComparer.Ordinal))
        {
            problems.Enqueue((failed.Id, $"{failed.Failed} of {failed.Total} chunks failed to embed (GET /documents/{failed.Id} has the errors)"));
        }

        var final = Snapshot();
        report(final);
        return new IngestSummary(final, problems.ToList(), documents.Values.Count(d => !d.IsFinished));
    }
}
