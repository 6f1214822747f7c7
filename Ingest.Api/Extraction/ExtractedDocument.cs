namespace VectorPipeline.Ingest.Extraction;

/// <summary>The formats <c>POST /documents</c> accepts as file uploads.</summary>
public enum SourceFormat
{
    /// <summary><c>text/plain</c>, UTF-8.</summary>
    PlainText,

    /// <summary><c>text/markdown</c> (CommonMark), UTF-8.</summary>
    Markdown,

    /// <summary><c>text/html</c>.</summary>
    Html,

    /// <summary><c>application/vnd.openxmlformats-officedocument.wordprocessingml.document</c> (Word 2007+).</summary>
    Docx,
}

/// <summary>One part of a document between two headings.</summary>
/// <param name="Heading">The heading that opens the section (plain text), or null for text before the first heading.</param>
/// <param name="Level">Heading level, 1..6 (0 without a heading).</param>
/// <param name="Text">The section's text without its heading; paragraphs separated by blank lines.</param>
public sealed record DocumentSection(string? Heading, int Level, string Text)
{
    /// <summary>The section as Markdown: the heading as an ATX heading line (<c>## Heading</c>), a blank line, the text.</summary>
    public string ToMarkdown() => Heading is null
        ? Text
        : $"{new string('#', Math.Clamp(Level, 1, 6))} {Heading}" + (Text.Length == 0 ? "" : "\n\n" + Text);
}

/// <summary>The text of an uploaded file, in sections, with the title the file itself gives.</summary>
/// <param name="Format">The format it was read as.</param>
/// <param name="Title">Title from the file (Markdown's first level-1 heading or front-matter <c>title</c>, HTML <c>&lt;title&gt;</c> or first <c>h1</c>, DOCX core property or Title/Heading 1 paragraph); null when it has none.</param>
/// <param name="Sections">The sections in document order; empty sections are left out.</param>
public sealed record ExtractedDocument(SourceFormat Format, string? Title, IReadOnlyList<DocumentSection> Sections)
{
    /// <summary>
    /// All sections as one Markdown text, each heading an ATX heading line, sections separated by blank lines:
    /// the splitter (<see cref="Chunking.RecursiveTextSplitter"/>) treats a heading line as a section boundary,
    /// so every format is chunked along its headings the same way.
    /// </summary>
    public string Text => string.Join("\n\n", Sections.Select(s => s.ToMarkdown()));

    /// <summary>Total characters of <see cref="Text"/>.</summary>
    public int Length => Text.Length;
}

/// <summary>
/// An upload that cannot be ingested: <see cref="StatusCode"/> is 415 (a format that is not supported, or
/// bytes that are not the declared kind of file), 422 (a supported format whose content is corrupt or not
/// valid UTF-8) or 413 (the extracted text is larger than the limit). The message says why.
/// </summary>
/// <param name="statusCode">HTTP status to answer with.</param>
/// <param name="title">Short problem title.</param>
/// <param name="message">What is wrong, naming the file.</param>
/// <param name="inner">The parser's exception, if any.</param>
public sealed class DocumentRejectedException(int statusCode, string title, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>HTTP status: 413, 415 or 422.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>Short problem title.</summary>
    public string Title { get; } = title;
}
