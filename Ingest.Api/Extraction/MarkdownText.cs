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

    public static ExtractedDocument Read(string markdown)
    {
        var parsed = Markdown.Parse(markdown, Pipeline);
        var sections = new DocumentExtractor.SectionBuilder();
        string? title = null, firstH1 = null;
        foreach (var block in parsed)
        {
            switch (block)
            {
                case YamlFrontMatterBlock front:
                    var match = FrontMatterTitle().Match(markdown.Substring(front.Span.Start, front.Span.Length));
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
                    sections.Paragraph(markdown.Substring(block.Span.Start, block.Span.Length).Trim());
                    break;
            }
        }

        return new ExtractedDocument(SourceFormat.Markdown, string.IsNullOrWhiteSpace(title) ? firstH1 : title, sections.Build());
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
