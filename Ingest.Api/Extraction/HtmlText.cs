using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace VectorPipeline.Ingest.Extraction;

/// <summary>
/// HTML parsed with AngleSharp (the HTML5 parsing algorithm, so any markup a browser shows is read): the text of
/// <c>&lt;body&gt;</c> in document order, <c>h1</c>–<c>h6</c> starting sections, block elements separating
/// paragraphs, and <c>script</c>, <c>style</c>, <c>noscript</c>, <c>template</c> and <c>svg</c> left out.
/// Title: <c>&lt;title&gt;</c>, else the first <c>h1</c>.
/// </summary>
internal static class HtmlText
{
    private static readonly HashSet<string> Skipped = new(StringComparer.OrdinalIgnoreCase) { "script", "style", "noscript", "template", "svg", "head" };

    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tr", "td", "th", "caption", "blockquote", "pre", "figure", "figcaption", "form", "fieldset",
        "address", "details", "summary", "hr", "body",
    };

    public static ExtractedDocument Read(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        var sections = new DocumentExtractor.SectionBuilder();
        var paragraph = new System.Text.StringBuilder();
        string? firstH1 = null;

        void Flush()
        {
            sections.Paragraph(DocumentExtractor.Normalize(paragraph.ToString()));
            paragraph.Clear();
        }

        void Visit(INode node)
        {
            switch (node)
            {
                case IText text:
                    paragraph.Append(text.Data);
                    return;
                case IElement element when Skipped.Contains(element.LocalName):
                    return;
                case IElement element when element.LocalName is "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                    Flush();
                    var heading = DocumentExtractor.Normalize(element.TextContent);
                    if (element.LocalName == "h1")
                    {
                        firstH1 ??= heading;
                    }

                    sections.Heading(heading, element.LocalName[1] - '0');
                    return;
                case IElement { LocalName: "br" }:
                    paragraph.Append('\n');
                    return;
                case IElement element when Blocks.Contains(element.LocalName):
                    Flush();
                    foreach (var child in element.ChildNodes)
                    {
                        Visit(child);
                    }

                    Flush();
                    return;
                default:
                    foreach (var child in node.ChildNodes)
                    {
                        Visit(child);
                    }

                    return;
            }
        }

        if (document.Body is { } body)
        {
            Visit(body);
        }

        Flush();
        var title = DocumentExtractor.Normalize(document.Title ?? "");
        return new ExtractedDocument(SourceFormat.Html, title.Length > 0 ? title : firstH1, sections.Build());
    }
}
