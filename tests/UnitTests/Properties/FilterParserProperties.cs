using System.Text;
using System.Text.Json;
using CsCheck;
using Npgsql;
using VectorPipeline.VectorStore.Search;

namespace VectorPipeline.UnitTests.Properties;

/// <summary>
/// The filter parser has no printer, so the nearest real properties: every filter written in the documented shape
/// parses without errors into the tree it was written from; any JSON at all is either parsed or refused with
/// errors, never an exception; and no value or field name of a parsed filter ever reaches the SQL text.
/// </summary>
public class FilterParserProperties
{
    /// <summary>A condition as a client writes it, with the tree the parser must build from it.</summary>
    public abstract record Written
    {
        public abstract void Write(Utf8JsonWriter json);
    }

    public sealed record WrittenField(string[] Path, FieldOperator Operator, string RawValue) : Written
    {
        public override void Write(Utf8JsonWriter json)
        {
            json.WriteStartObject();
            json.WriteString("field", string.Join('.', Path));
            json.WritePropertyName(Operator.ToString().ToLowerInvariant());
            json.WriteRawValue(RawValue);
            json.WriteEndObject();
        }
    }

    public sealed record WrittenGroup(string Name, Written[] Parts) : Written
    {
        public override void Write(Utf8JsonWriter json)
        {
            json.WriteStartObject();
            json.WriteStartArray(Name);
            foreach (var part in Parts)
            {
                part.Write(json);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }
    }

    public sealed record WrittenNot(Written Inner) : Written
    {
        public override void Write(Utf8JsonWriter json)
        {
            json.WriteStartObject();
            json.WritePropertyName("not");
            Inner.Write(json);
            json.WriteEndObject();
        }
    }

    // Values a client might send, including text that would break SQL if it were ever pasted into it.
    private const string Marker = "zq'x";
    private static readonly Gen<string> Text = Gen.OneOf("en", "Zürich", Marker + "; DROP TABLE chunks; --", Marker + "\"\\", "", "2015", Marker + "$1");
    private static readonly Gen<string> Scalar = Gen.OneOf(
        Text.Select(s => JsonSerializer.Serialize(s)), Gen.Int[-1000, 3000].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Double[-1e6, 1e6].Select(d => JsonSerializer.Serialize(Math.Round(d, 3))), Gen.OneOf("true", "false", "null"));
    private static readonly Gen<string> RangeValue = Gen.OneOf(
        Gen.Int[-1000, 3000].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.OneOf("\"2026-01-31\"", "\"2015-02-07T18:30:00Z\"", "\"2020-06-01T08:00:00+02:00\""));
    private static readonly Gen<string[]> Path = Gen.OneOf("season", "lang", "author", "name", "tags", "a" + Marker, "ünï").Array[1, 3];

    private static readonly Gen<Written> Field =
        from path in Path
        from op in Gen.OneOf(Enum.GetValues<FieldOperator>())
        from value in op switch
        {
            FieldOperator.In => Scalar.Array[1, 4].Select(values => "[" + string.Join(",", values) + "]"),
            FieldOperator.Exists => Gen.OneOf("true", "false"),
            FieldOperator.Eq or FieldOperator.Ne => Scalar,
            _ => RangeValue,
        }
        select (Written)new WrittenField(path, op, value);

    /// <summary>Conditions nested up to 3 levels (the parser allows 8), at most 27 in all.</summary>
    public static readonly Gen<Written> Conditions = Gen.Recursive<Written>((depth, self) => depth >= 3
        ? Field
        : Gen.Frequency(
            (3, Field),
            (1, from name in Gen.OneOf("and", "or") from parts in self.Array[1, 3] select (Written)new WrittenGroup(name, parts)),
            (1, self.Select(inner => (Written)new WrittenNot(inner)))));

    [Fact]
    public void Every_filter_written_in_the_documented_shape_parses_into_the_tree_it_was_written_from() =>
        Conditions.Sample(written =>
        {
            var json = "{\"metadata\":" + Render(written) + "}";
            var errors = new Dictionary<string, string[]>();

            var filter = SearchFilterParser.Parse(JsonDocument.Parse(json).RootElement, errors);

            Assert.True(errors.Count == 0, $"{json}: {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
            AssertSame(written, filter!.Metadata!);
        }, iter: 500, threads: 1, print: Render);

    [Fact]
    public void No_value_or_field_name_of_a_parsed_filter_reaches_the_sql_text() =>
        Conditions.Sample(written =>
        {
            var errors = new Dictionary<string, string[]>();
            var filter = SearchFilterParser.Parse(JsonDocument.Parse("{\"metadata\":" + Render(written) + "}").RootElement, errors)!;
            Assert.Empty(errors);
            var sql = new StringBuilder();
            using var command = new NpgsqlCommand();

            filter.AppendSql(sql, command.Parameters);

            Assert.DoesNotContain(Marker, sql.ToString());
            Assert.DoesNotContain("DROP", sql.ToString());
        }, iter: 500, threads: 1, print: Render);

    private static readonly Gen<string> AnyJson = Gen.Recursive<string>((depth, self) => depth >= 3
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (1, self.Array[0, 3].Select(items => "[" + string.Join(",", items) + "]")),
            (2, from names in Gen.OneOf("and", "or", "not", "field", "eq", "in", "gte", "exists", "season", "documentIds", "source", "metadata").Array[0, 3]
                from values in self.Array[3, 3]
                select "{" + string.Join(",", names.Distinct().Select((n, i) => JsonSerializer.Serialize(n) + ":" + values[i])) + "}")));

    [Fact]
    public void Any_json_is_parsed_or_refused_with_errors_never_an_exception() =>
        AnyJson.Select(json => "{\"metadata\":" + json + "}").Sample(json =>
        {
            var errors = new Dictionary<string, string[]>();

            var filter = SearchFilterParser.Parse(JsonDocument.Parse(json).RootElement, errors);

            Assert.True((filter is null) == (errors.Count > 0), $"{json}: filter {(filter is null ? "null" : "parsed")} with {errors.Count} errors");
        }, iter: 1000, threads: 1);

    private static string Render(Written written)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            written.Write(json);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void AssertSame(Written written, MetadataCondition parsed)
    {
        switch (written)
        {
            case WrittenField field:
                var condition = Assert.IsType<FieldCondition>(parsed);
                Assert.Equal(field.Path, condition.Path);
                Assert.Equal(field.Operator, condition.Operator);
                Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(field.RawValue).RootElement, condition.Value), $"{field.RawValue} read as {condition.Value.GetRawText()}");
                break;
            case WrittenGroup group:
                var parts = group.Name == "and" ? Assert.IsType<AllOf>(parsed).Conditions : Assert.IsType<AnyOf>(parsed).Conditions;
                Assert.Equal(group.Parts.Length, parts.Count);
                for (var i = 0; i < parts.Count; i++)
                {
                    AssertSame(group.Parts[i], parts[i]);
                }

                break;
            case WrittenNot not:
                AssertSame(not.Inner, Assert.IsType<NoneOf>(parsed).Condition);
                break;
        }
    }
}
