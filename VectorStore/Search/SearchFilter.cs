using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace VectorPipeline.VectorStore.Search;

/// <summary>
/// Restricts a search to some documents: by document id, by source, and by a condition on the document's
/// metadata (JSONB). All parts must hold (and). Values and field paths become query parameters, never SQL text.
/// </summary>
/// <param name="DocumentIds">Only these documents; null = any.</param>
/// <param name="Sources">Only documents whose source is one of these; null = any.</param>
/// <param name="Metadata">A condition on <c>documents.metadata</c>; null = any.</param>
public sealed record SearchFilter(IReadOnlyList<string>? DocumentIds, IReadOnlyList<string>? Sources, MetadataCondition? Metadata)
{
    /// <summary>A filter that restricts nothing but the tenant.</summary>
    /// <param name="tenant">The tenant whose documents to search (empty = the default tenant).</param>
    public static SearchFilter ForTenant(string tenant) => new(null, null, null) { Tenant = tenant };

    /// <summary>
    /// Only documents of this tenant (<c>documents.tenant</c>; empty = the default tenant), with
    /// <see cref="DocumentIds"/> read as that tenant's ids (<see cref="DocumentKey"/>); null = every tenant (for tools
    /// and tests; Search.Api always sets it).
    /// </summary>
    public string? Tenant { get; init; }

    /// <summary>True when the filter restricts nothing.</summary>
    public bool IsEmpty => DocumentIds is null && Sources is null && Metadata is null && Tenant is null;

    /// <summary>
    /// Appends the SQL predicate on <c>d</c> (documents) to <paramref name="sql"/>, adding its values to
    /// <paramref name="parameters"/> (a command's or a batch command's) as positional parameters (<c>$n</c>).
    /// </summary>
    public void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters)
    {
        sql.Append("TRUE");
        if (Tenant is not null)
        {
            sql.Append(" AND d.tenant = ").Append(Add(parameters, Tenant, NpgsqlDbType.Text));
        }

        if (DocumentIds is not null)
        {
            var ids = Tenant is null ? DocumentIds.ToArray() : DocumentIds.Select(id => DocumentKey.Stored(Tenant, id)).ToArray();
            sql.Append(" AND d.id = ANY(").Append(Add(parameters, ids, NpgsqlDbType.Array | NpgsqlDbType.Text)).Append(')');
        }

        if (Sources is not null)
        {
            sql.Append(" AND d.source = ANY(").Append(Add(parameters, Sources.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)).Append(')');
        }

        if (Metadata is not null)
        {
            sql.Append(" AND ");
            Metadata.AppendSql(sql, parameters);
        }
    }

    internal static string Add(NpgsqlParameterCollection parameters, object value, NpgsqlDbType type)
    {
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>A condition on document metadata: a comparison on one field, or and / or / not of conditions.</summary>
public abstract record MetadataCondition
{
    /// <summary>Appends the SQL predicate (on <c>d.metadata</c>) and its parameters.</summary>
    public abstract void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters);
}

/// <summary>All of the conditions hold.</summary>
/// <param name="Conditions">At least one condition.</param>
public sealed record AllOf(IReadOnlyList<MetadataCondition> Conditions) : MetadataCondition
{
    /// <inheritdoc />
    public override void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters) => Join(sql, parameters, Conditions, " AND ");

    internal static void Join(StringBuilder sql, NpgsqlParameterCollection parameters, IReadOnlyList<MetadataCondition> conditions, string separator)
    {
        sql.Append('(');
        for (var i = 0; i < conditions.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(separator);
            }

            conditions[i].AppendSql(sql, parameters);
        }

        sql.Append(')');
    }
}

/// <summary>At least one of the conditions holds.</summary>
/// <param name="Conditions">At least one condition.</param>
public sealed record AnyOf(IReadOnlyList<MetadataCondition> Conditions) : MetadataCondition
{
    /// <inheritdoc />
    public override void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters) => AllOf.Join(sql, parameters, Conditions, " OR ");
}

/// <summary>The condition does not hold (a missing field counts as not holding, so <c>not</c> of it holds).</summary>
/// <param name="Condition">The negated condition.</param>
public sealed record NoneOf(MetadataCondition Condition) : MetadataCondition
{
    /// <inheritdoc />
    public override void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters)
    {
        sql.Append("NOT coalesce(");
        Condition.AppendSql(sql, parameters);
        sql.Append(", false)");
    }
}

/// <summary>Comparison operators on one metadata field.</summary>
public enum FieldOperator
{
    /// <summary>The field equals the JSON value (type and value).</summary>
    Eq,

    /// <summary>The field differs from the JSON value, or is missing.</summary>
    Ne,

    /// <summary>The field equals one of the JSON values.</summary>
    In,

    /// <summary>Greater than (numbers, or ISO 8601 dates).</summary>
    Gt,

    /// <summary>Greater than or equal.</summary>
    Gte,

    /// <summary>Less than.</summary>
    Lt,

    /// <summary>Less than or equal.</summary>
    Lte,

    /// <summary>The field is present (value true) or absent (value false).</summary>
    Exists,
}

/// <summary>
/// One comparison on a metadata field. <see cref="Path"/> addresses nested objects (<c>["author", "name"]</c>
/// for <c>author.name</c>). Ranges compare numbers with numbers and dates with dates (ISO 8601 strings in the
/// metadata, compared as <c>timestamptz</c>); a field of another type never matches a range.
/// </summary>
/// <param name="Path">Field path, one element per nesting level.</param>
/// <param name="Operator">The comparison.</param>
/// <param name="Value">The JSON value (an array for <see cref="FieldOperator.In"/>, a boolean for <see cref="FieldOperator.Exists"/>).</param>
public sealed record FieldCondition(IReadOnlyList<string> Path, FieldOperator Operator, JsonElement Value) : MetadataCondition
{
    private const string IsoDatePattern = @"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$";

    /// <inheritdoc />
    public override void AppendSql(StringBuilder sql, NpgsqlParameterCollection parameters)
    {
        var path = SearchFilter.Add(parameters, Path.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
        var field = $"(d.metadata #> {path})";
        switch (Operator)
        {
            case FieldOperator.Eq:
                sql.Append($"coalesce({field} = {SearchFilter.Add(parameters, Value.GetRawText(), NpgsqlDbType.Jsonb)}, false)");
                break;
            case FieldOperator.Ne:
                sql.Append($"coalesce({field} <> {SearchFilter.Add(parameters, Value.GetRawText(), NpgsqlDbType.Jsonb)}, true)");
                break;
            case FieldOperator.In:
                var values = Value.EnumerateArray().Select(v => v.GetRawText()).ToArray();
                sql.Append($"coalesce({field} = ANY({SearchFilter.Add(parameters, values, NpgsqlDbType.Array | NpgsqlDbType.Jsonb)}), false)");
                break;
            case FieldOperator.Exists:
                sql.Append(Value.GetBoolean() ? $"({field} IS NOT NULL)" : $"({field} IS NULL)");
                break;
            default:
                var op = Operator switch { FieldOperator.Gt => ">", FieldOperator.Gte => ">=", FieldOperator.Lt => "<", _ => "<=" };
                if (Value.ValueKind == JsonValueKind.Number)
                {
                    var number = SearchFilter.Add(parameters, Value.GetDecimal(), NpgsqlDbType.Numeric);
                    sql.Append($"coalesce(CASE WHEN jsonb_typeof({field}) = 'number' THEN ({field} #>> '{{}}')::numeric END {op} {number}, false)");
                }
                else
                {
                    var date = SearchFilter.Add(parameters, DateTimeOffset.Parse(Value.GetString()!, CultureInfo.InvariantCulture).ToUniversalTime(), NpgsqlDbType.TimestampTz);
                    var pattern = SearchFilter.Add(parameters, IsoDatePattern, NpgsqlDbType.Text);
                    sql.Append($"coalesce(CASE WHEN jsonb_typeof({field}) = 'string' AND ({field} #>> '{{}}') ~ {pattern} THEN ({field} #>> '{{}}')::timestamptz END {op} {date}, false)");
                }

                break;
        }
    }
}
