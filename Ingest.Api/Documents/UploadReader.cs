using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Extraction;

namespace VectorPipeline.Ingest.Documents;

/// <summary>
/// Reads <c>POST /documents</c> sent as <c>multipart/form-data</c>: one file part (<c>file</c>) in a supported format
/// (<see cref="FormatDetector"/>: the part's content type, or its file name when the type is generic, checked
/// against the bytes), and optional fields <c>id</c>, <c>title</c>, <c>source</c> and <c>metadata</c> (a JSON object
/// as text). The file's text (<see cref="DocumentExtractor"/>) becomes the document's text, in Markdown with its
/// headings as section boundaries; the title is the <c>title</c> field, else the file's own title, else its name.
/// </summary>
public sealed class UploadReader(DocumentRequestReader json)
{
    /// <summary>The request, or the problem to answer: 400 (form fields), 413 (too large), 415 (unsupported or mislabelled file), 422 (corrupt file or invalid UTF-8).</summary>
    public async Task<(PostDocumentRequest? Request, ProblemHttpResult? Problem)> ReadAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var limits = json.Limits;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limits.RequestBytesLimit;
        }

        if (http.Request.ContentLength > limits.RequestBytesLimit)
        {
            return (null, Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
                $"The upload is {http.Request.ContentLength} bytes; at most {limits.RequestBytesLimit} are accepted."));
        }

        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
        {
            var tooLarge = ex is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } || ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);
            return (null, tooLarge
                ? Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large", $"The upload is larger than {limits.RequestBytesLimit} bytes.")
                : Problem(StatusCodes.Status400BadRequest, "Invalid multipart body", $"The multipart/form-data body could not be read: {ex.Message}"));
        }

        if (form.Files.Count != 1 || form.Files[0].Name != "file")
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "One file expected",
                $"Send exactly one file, in a part named \"file\"; got {form.Files.Count} file part(s){(form.Files.Count > 0 ? $" ({string.Join(", ", form.Files.Select(f => f.Name))})" : "")}."));
        }

        var file = form.Files[0];
        var content = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(content, cancellationToken);
        }

        ExtractedDocument extracted;
        try
        {
            var format = FormatDetector.Detect(file.ContentType, file.FileName, content.AsSpan(0, Math.Min(content.Length, 8192)));
            extracted = DocumentExtractor.Extract(format, content, file.FileName, limits.MaxTextBytes);
        }
        catch (DocumentRejectedException ex)
        {
            return (null, Problem(ex.StatusCode, ex.Title, ex.Message,
                new Dictionary<string, object?> { ["fileName"] = file.FileName }));
        }

        JsonElement? metadata = null;
        if (form.TryGetValue("metadata", out var metadataText) && !string.IsNullOrWhiteSpace(metadataText))
        {
            try
            {
                metadata = JsonDocument.Parse(metadataText.ToString()).RootElement.Clone();
            }
            catch (JsonException ex)
            {
                return (null, Problem(StatusCodes.Status400BadRequest, "Invalid metadata",
                    string.Create(CultureInfo.InvariantCulture, $"The metadata field is not valid JSON: {ex.Message}")));
            }
        }

        var title = Field(form, "title") ?? extracted.Title ?? Path.GetFileNameWithoutExtension(file.FileName);
        // Without an id the file name is the id, as vp's folder ingestion does, so uploading a file again replaces its document.
        return (new PostDocumentRequest(Field(form, "id") ?? DefaultId(file.FileName), title, extracted.Text, metadata, Field(form, "source")), null);
    }

    /// <summary>
    /// The id of an upload sent without one: the file name without any folder part (some clients send a path, with
    /// <c>\</c> or <c>/</c>); null (a generated id) when the upload has no file name.
    /// </summary>
    public static string? DefaultId(string? fileName)
    {
        var name = fileName?.Replace('\\', '/').Split('/')[^1].Trim();
        return string.IsNullOrEmpty(name) ? null : name;
    }

    private static string? Field(IFormCollection form, string name) =>
        form.TryGetValue(name, out var value) && value.Count > 0 && !string.IsNullOrEmpty(value[0]) ? value[0] : null;

    private static ProblemHttpResult Problem(int status, string title, string detail, Dictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status, extensions: extensions);
}
