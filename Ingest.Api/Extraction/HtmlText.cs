using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using AngleSharp.Html.Parser.Tokens;

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

    /// <summary>
    /// Most elements open at once (start tags not yet closed, leaving out elements that have no end tag or whose end
    /// tag may be left out). The HTML5 tree builder scans the open elements at each tag, so a file of unclosed
    /// <c>&lt;div&gt;</c> costs time quadratic in its length: 40,000 of them (200 KB) took AngleSharp 15 s.
    /// </summary>
    public const int MaxOpenElements = 1000;

    // Void elements and elements whose end tag may be omitted (the parser closes them itself).
    private static readonly HashSet<string> ClosedByParser = new(StringComparer.OrdinalIgnoreCase)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame",
        "html", "head", "body", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "rtc",
    };

    /// <exception cref="DocumentRejectedException">422: more than <see cref="MaxOpenElements"/> elements open at once.</exception>
    public static ExtractedDocument Read(string html, string? fileName)
    {
        var open = 0;
        var options = new HtmlParserOptions
        {
            OnToken = (token, _) =>
            {
                if (token is not HtmlTagToken { IsSelfClosing: false } tag || ClosedByParser.Contains(tag.Name))
                {
                    return;
                }

                if (tag.Type == HtmlTokenType.StartTag && ++open > MaxOpenElements)
                {
                    throw new DocumentRejectedException(StatusCodes.Status422UnprocessableEntity, "HTML nested too deeply",
                        $"{fileName ?? "The upload"} opens more than {MaxOpenElements} elements without closing them (<{tag.Name}> at line {tag.Position.Line}); close them, or upload the text.");
                }

                if (tag.Type == HtmlTokenType.EndTag && open > 0)
                {
                    open--;
                }
            },
        };
        var document = new HtmlParser(options).ParseDocument(html);
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
