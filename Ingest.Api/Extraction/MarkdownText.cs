using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Yaml;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace VectorPipeline.Ingest.Extraction;

/// <summary>
/// Markdown (CommonMark with front matter) parsed with Markdig: every heading starts a section; the other
/// top-level blocks keep their Markdown source (lists, tables and code stay readable). Title: front matter's
/// <c>title:</c>, else the first level-1 heading.
/// </summary>
internal static partial class MarkdownText
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseYamlFrontMatter().UsePipeTables().Build();

    /// <exception cref="DocumentRejectedException">422: the Markdown nests deeper than Markdig parses (<see cref="MarkdownPipeline.MaximumNestingDepth"/>, 128).</exception>
    public static ExtractedDocument Read(string markdown, string? fileName)
    {
        // Markdig's spans of a text with lone \r line ends can pass the end of the text ("[\r<\t\r\r```"); the splitter
        // reads \r as \n anyway.
        markdown = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        MarkdownDocument parsed;
        try
        {
            parsed = Markdown.Parse(markdown, Pipeline);
        }
        catch (ArgumentException ex)
        {
            throw DocumentExtractor.Corrupt(fileName, "Markdown", ex);
        }

        var sections = new DocumentExtractor.SectionBuilder();
        string? title = null, firstH1 = null;
        foreach (var block in parsed)
        {
            switch (block)
            {
                case YamlFrontMatterBlock front:
                    var match = FrontMatterTitle().Match(Source(markdown, front));
                    title = match.Success ? match.Groups[1].Value.Trim().Trim('"', '\'') : null;
                    break;
                case HeadingBlock heading:
                    var text = DocumentExtractor.Normalize(InlineText(heading.Inline));
                    if (heading.Level == 1)
                    {
                        firstH1 ??= text;
                    }

                    sections.Heading(text, heading.Level);
                    break;
                default:
                    sections.Paragraph(Source(markdown, block).Trim());
                    break;
            }
        }

        return new ExtractedDocument(SourceFormat.Markdown, string.IsNullOrWhiteSpace(title) ? firstH1 : title, sections.Build());
    }

    // The block's Markdown source, its span clamped to the text.
    private static string Source(string markdown, Block block)
    {
        var start = Math.Clamp(block.Span.Start, 0, markdown.Length);
        var end = Math.Clamp(block.Span.End + 1, start, markdown.Length);
        return markdown[start..end];
    }

    private static string InlineText(ContainerInline? inline)
    {
        if (inline is null)
        {
            return "";
        }

        var text = new System.Text.StringBuilder();
        foreach (var item in inline.Descendants())
        {
            switch (item)
            {
                case LiteralInline literal:
                    text.Append(literal.Content.ToString());
                    break;
                case CodeInline code:
                    text.Append(code.Content);
                    break;
                case LineBreakInline:
                    text.Append(' ');
                    break;
            }
        }

        return text.ToString();
    }

    [GeneratedRegex(@"^title:\s*(.+)$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex FrontMatterTitle();
}
