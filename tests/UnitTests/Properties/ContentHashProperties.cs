using System.Text;
using CsCheck;
using VectorPipeline.Ingest.Chunking;
using VectorPipeline.VectorStore;

namespace VectorPipeline.UnitTests.Properties;

/// <summary>
/// An embedding is reused exactly when its chunk's content hash is unchanged, and the hash is taken over the embedded
/// text (the chunk rendered through <c>Chunking:Template</c>). So: the hash changes exactly when the embedded text
/// changes, and the embedded text is the template with the title, source and chunk put in literally, whatever they
/// hold (braces and placeholder names included).
/// </summary>
public class ContentHashProperties
{
    // Text fragments chosen to collide with the template's syntax.
    private static readonly Gen<string> Field = Gen.OneOf("a", "Otter", " ", "\n", "é", "{", "}", "{chunk}", "{title}", "{source}", "chunk").Array[0, 5]
        .Select(parts => string.Concat(parts));

    private static readonly Gen<string?> OptionalField = Gen.Frequency((4, Field.Select(f => (string?)f)), (1, Gen.Const((string?)null)));

    private static readonly Gen<string> Template = Gen.OneOf("{chunk}", "{title}\n\n{chunk}", "{source}: {chunk}", "{title} ({source})\n{chunk}", "{chunk} — {title}");

    private static readonly Gen<(string? Title, string? Source, string Chunk)> Document =
        from title in OptionalField
        from source in OptionalField
        from chunk in Field.Where(c => c.Trim().Length > 0)
        select (title, source, chunk);

    /// <summary>What <see cref="DocumentStore"/> hashes for a chunk: its rendered text.</summary>
    private static byte[] StoredHash(ChunkTemplate template, (string? Title, string? Source, string Chunk) d) =>
        DocumentStore.ContentHash(template.Render(d.Title, d.Source, [d.Chunk])[0]);

    // The template with each placeholder replaced by its value, in one pass over the template.
    private static string Literal(string template, (string? Title, string? Source, string Chunk) d)
    {
        var text = new StringBuilder();
        for (var i = 0; i < template.Length;)
        {
            var (placeholder, value) = new[] { ("{chunk}", d.Chunk), ("{title}", d.Title ?? ""), ("{source}", d.Source ?? "") }
                .FirstOrDefault(p => string.CompareOrdinal(template, i, p.Item1, 0, p.Item1.Length) == 0);
            if (placeholder is not null)
            {
                text.Append(value);
                i += placeholder.Length;
            }
            else
            {
                text.Append(template[i++]);
            }
        }

        return template == ChunkTemplate.ChunkOnly ? text.ToString() : text.ToString().Trim();
    }

    [Fact]
    public void The_embedded_text_is_the_template_with_the_fields_put_in_literally() =>
        Gen.Select(Template, Document).Sample((template, document) =>
            Assert.Equal(Literal(template, document), new ChunkTemplate(template).Render(document.Title, document.Source, [document.Chunk])[0]),
            iter: 2000, threads: 1);

    [Fact]
    public void The_content_hash_changes_exactly_when_the_embedded_text_changes() =>
        Gen.Select(Template, Document, Document).Sample((text, first, second) =>
        {
            var template = new ChunkTemplate(text);
            var sameText = template.Render(first.Title, first.Source, [first.Chunk])[0] == template.Render(second.Title, second.Source, [second.Chunk])[0];

            Assert.Equal(sameText, StoredHash(template, first).AsSpan().SequenceEqual(StoredHash(template, second)));
            // A field the template does not use never changes the hash.
            if (!text.Contains("{title}", StringComparison.Ordinal))
            {
                Assert.Equal(StoredHash(template, first), StoredHash(template, first with { Title = second.Title }));
            }
        }, iter: 2000, threads: 1);
}
