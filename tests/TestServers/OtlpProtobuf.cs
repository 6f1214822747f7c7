using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace VectorPipeline.TestServers;

/// <summary>
/// The smallest honest reader of the OTLP protobuf messages the tests receive (ExportTraceServiceRequest and
/// ExportMetricsServiceRequest of opentelemetry-proto v1), written against the protobuf wire format because
/// Google.Protobuf and the generated OTLP types do not restore on this project's machines. It reads only the
/// fields the tests check and skips every other field by its wire type, so newer senders with more fields still
/// decode:
/// <list type="bullet">
/// <item>Resource: attributes (1) → <c>service.name</c>, <c>service.instance.id</c> and the rest as strings.</item>
/// <item>Scope: name (1).</item>
/// <item>Span: trace_id (1), span_id (2), parent_span_id (4), name (5), kind (6), start/end time (7, 8),
/// attributes (9), links (13: trace_id 1, span_id 2), status code (15 → 3).</item>
/// <item>Metric: name (1), unit (3), sum (7) and gauge (5) with NumberDataPoint (attributes 7, as_double 4,
/// as_int 6), histogram (9) with HistogramDataPoint (attributes 9, count 4, sum 5).</item>
/// </list>
/// Attribute values are turned into strings (string, bool, int, double; arrays and maps are left out).
/// </summary>
public static class OtlpProtobuf
{
    /// <summary>Decodes an <c>ExportTraceServiceRequest</c> into its spans, each with its resource and scope.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed protobuf message.</exception>
    public static IReadOnlyList<OtlpSpan> ReadTraces(ReadOnlyMemory<byte> request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            var resource = new Dictionary<string, string>();
            foreach (var field in Fields(resourceSpans.Bytes))
            {
                if (field.Number == 1)
                {
                    ReadAttributes(field.Bytes, 1, resource);
                }
            }

            foreach (var scopeSpans in Fields(resourceSpans.Bytes).Where(f => f.Number == 2))
            {
                var scope = "";
                foreach (var field in Fields(scopeSpans.Bytes).Where(f => f.Number == 1))
                {
                    scope = Fields(field.Bytes).Where(f => f.Number == 1).Select(f => f.String).LastOrDefault() ?? "";
                }

                foreach (var span in Fields(scopeSpans.Bytes).Where(f => f.Number == 2))
                {
                    spans.Add(ReadSpan(span.Bytes, resource, scope));
                }
            }
        }

        return spans;
    }

    /// <summary>Decodes an <c>ExportMetricsServiceRequest</c> into its metrics' data points, each with its resource and scope.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed protobuf message.</exception>
    public static IReadOnlyList<OtlpMetricPoint> ReadMetrics(ReadOnlyMemory<byte> request)
    {
        var points = new List<OtlpMetricPoint>();
        foreach (var resourceMetrics in Fields(request).Where(f => f.Number == 1))
        {
            var resource = new Dictionary<string, string>();
            foreach (var field in Fields(resourceMetrics.Bytes).Where(f => f.Number == 1))
            {
                ReadAttributes(field.Bytes, 1, resource);
            }

            foreach (var scopeMetrics in Fields(resourceMetrics.Bytes).Where(f => f.Number == 2))
            {
                var scope = "";
                foreach (var field in Fields(scopeMetrics.Bytes).Where(f => f.Number == 1))
                {
                    scope = Fields(field.Bytes).Where(f => f.Number == 1).Select(f => f.String).LastOrDefault() ?? "";
                }

                foreach (var metric in Fields(scopeMetrics.Bytes).Where(f => f.Number == 2))
                {
                    ReadMetric(metric.Bytes, resource, scope, points);
                }
            }
        }

        return points;
    }

    private static OtlpSpan ReadSpan(ReadOnlyMemory<byte> bytes, Dictionary<string, string> resource, string scope)
    {
        string traceId = "", spanId = "", parentSpanId = "", name = "";
        int kind = 0, status = 0;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, string>();
        var links = new List<OtlpLink>();
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: traceId = field.Hex; break;
                case 2: spanId = field.Hex; break;
                case 4: parentSpanId = field.Hex; break;
                case 5: name = field.String; break;
                case 6: kind = (int)field.Varint; break;
                case 7: start = field.Fixed; break;
                case 8: end = field.Fixed; break;
                case 9: ReadKeyValue(field.Bytes, attributes); break;
                case 13:
                    string linkTrace = "", linkSpan = "";
                    foreach (var linkField in Fields(field.Bytes))
                    {
                        if (linkField.Number == 1)
                        {
                            linkTrace = linkField.Hex;
                        }
                        else if (linkField.Number == 2)
                        {
                            linkSpan = linkField.Hex;
                        }
                    }

                    links.Add(new OtlpLink(linkTrace, linkSpan));
                    break;
                case 15:
                    status = Fields(field.Bytes).Where(f => f.Number == 3).Select(f => (int)f.Varint).LastOrDefault();
                    break;
            }
        }

        return new OtlpSpan(traceId, spanId, parentSpanId, name, (OtlpSpanKind)kind, start, end, status, attributes, links,
            resource.GetValueOrDefault("service.name", ""), resource.GetValueOrDefault("service.instance.id", ""), scope, resource);
    }

    private static void ReadMetric(ReadOnlyMemory<byte> bytes, Dictionary<string, string> resource, string scope, List<OtlpMetricPoint> points)
    {
        string name = "", unit = "";
        var data = new List<(int Type, ReadOnlyMemory<byte> Bytes)>();
        foreach (var field in Fields(bytes))
        {
            switch (field.Number)
            {
                case 1: name = field.String; break;
                case 3: unit = field.String; break;
                case 5 or 7 or 9: data.Add((field.Number, field.Bytes)); break;
            }
        }

        foreach (var (type, body) in data)
        {
            foreach (var pointField in Fields(body).Where(f => f.Number == 1))
            {
                var attributes = new Dictionary<string, string>();
                double value = 0;
                ulong count = 0;
                foreach (var field in Fields(pointField.Bytes))
                {
                    if (type == 9)
                    {
                        switch (field.Number)
                        {
                            case 9: ReadKeyValue(field.Bytes, attributes); break;
                            case 4: count = field.Fixed; break;
                            case 5: value = BitConverter.UInt64BitsToDouble(field.Fixed); break;
                        }
                    }
                    else
                    {
                        switch (field.Number)
                        {
                            case 7: ReadKeyValue(field.Bytes, attributes); break;
                            case 4: value = BitConverter.UInt64BitsToDouble(field.Fixed); break;
                            case 6: value = unchecked((long)field.Fixed); break;
                        }
                    }
                }

                var kind = type switch { 5 => OtlpMetricKind.Gauge, 7 => OtlpMetricKind.Sum, _ => OtlpMetricKind.Histogram };
                points.Add(new OtlpMetricPoint(name, unit, kind, value, count, attributes,
                    resource.GetValueOrDefault("service.name", ""), resource.GetValueOrDefault("service.instance.id", ""), scope));
            }
        }
    }

    // Repeated KeyValue (field `number` of the enclosing message).
    private static void ReadAttributes(ReadOnlyMemory<byte> bytes, int number, Dictionary<string, string> into)
    {
        foreach (var field in Fields(bytes).Where(f => f.Number == number))
        {
            ReadKeyValue(field.Bytes, into);
        }
    }

    // KeyValue: key (1), value (2: AnyValue string 1, bool 2, int 3, double 4).
    private static void ReadKeyValue(ReadOnlyMemory<byte> bytes, Dictionary<string, string> into)
    {
        string? key = null, value = null;
        foreach (var field in Fields(bytes))
        {
            if (field.Number == 1)
            {
                key = field.String;
            }
            else if (field.Number == 2)
            {
                foreach (var any in Fields(field.Bytes))
                {
                    value = any.Number switch
                    {
                        1 => any.String,
                        2 => any.Varint != 0 ? "true" : "false",
                        3 => unchecked((long)any.Varint).ToString(CultureInfo.InvariantCulture),
                        4 => BitConverter.UInt64BitsToDouble(any.Fixed).ToString("R", CultureInfo.InvariantCulture),
                        _ => value,
                    };
                }
            }
        }

        if (key is not null && value is not null)
        {
            into[key] = value;
        }
    }

    /// <summary>The fields of one message, in wire order.</summary>
    /// <exception cref="FormatException">Truncated input, a bad varint or an unknown wire type.</exception>
    public static IEnumerable<ProtoField> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message.Span, ref position);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0:
                    yield return new ProtoField(number, wireType, ReadVarint(message.Span, ref position), default);
                    break;
                case 1:
                    Need(message, position, 8);
                    yield return new ProtoField(number, wireType, BinaryPrimitives.ReadUInt64LittleEndian(message.Span.Slice(position, 8)), default);
                    position += 8;
                    break;
                case 2:
                    var length = ReadVarint(message.Span, ref position);
                    if (length > (ulong)(message.Length - position))
                    {
                        throw new FormatException($"Length-delimited field {number} of {length} bytes runs past the end of the message.");
                    }

                    yield return new ProtoField(number, wireType, 0, message.Slice(position, (int)length));
                    position += (int)length;
                    break;
                case 5:
                    Need(message, position, 4);
                    yield return new ProtoField(number, wireType, BinaryPrimitives.ReadUInt32LittleEndian(message.Span.Slice(position, 4)), default);
                    position += 4;
                    break;
                default:
                    throw new FormatException($"Unsupported wire type {wireType} (field {number}).");
            }
        }
    }

    private static void Need(ReadOnlyMemory<byte> message, int position, int bytes)
    {
        if (message.Length - position < bytes)
        {
            throw new FormatException("Fixed-width field runs past the end of the message.");
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= span.Length)
            {
                throw new FormatException("Truncated varint.");
            }

            var b = span[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new FormatException("Varint longer than 10 bytes.");
    }
}

/// <summary>One protobuf field: its number, wire type and value (varint or fixed-width in <see cref="Varint"/>/<see cref="Fixed"/>, else <see cref="Bytes"/>).</summary>
public readonly record struct ProtoField(int Number, int WireType, ulong Value, ReadOnlyMemory<byte> Bytes)
{
    /// <summary>The varint value (wire type 0).</summary>
    public ulong Varint => Value;

    /// <summary>The fixed64 / fixed32 value (wire types 1 and 5).</summary>
    public ulong Fixed => Value;

    /// <summary>The bytes as UTF-8 text.</summary>
    public string String => Encoding.UTF8.GetString(Bytes.Span);

    /// <summary>The bytes as lower-case hex (trace and span ids); empty for no bytes.</summary>
    public string Hex => Convert.ToHexStringLower(Bytes.Span);
}

/// <summary>OTLP <c>Span.SpanKind</c>.</summary>
public enum OtlpSpanKind
{
    /// <summary>SPAN_KIND_UNSPECIFIED.</summary>
    Unspecified = 0,

    /// <summary>SPAN_KIND_INTERNAL.</summary>
    Internal = 1,

    /// <summary>SPAN_KIND_SERVER.</summary>
    Server = 2,

    /// <summary>SPAN_KIND_CLIENT.</summary>
    Client = 3,

    /// <summary>SPAN_KIND_PRODUCER.</summary>
    Producer = 4,

    /// <summary>SPAN_KIND_CONSUMER.</summary>
    Consumer = 5,
}

/// <summary>A link of a span to another span (hex ids).</summary>
public sealed record OtlpLink(string TraceId, string SpanId);

/// <summary>
/// One exported span with the resource and scope it came under. Ids are lower-case hex (32 / 16 digits);
/// <see cref="ParentSpanId"/> is empty for a root span. Times are Unix nanoseconds. <see cref="StatusCode"/>: 0 unset, 1 ok, 2 error.
/// </summary>
public sealed record OtlpSpan(
    string TraceId, string SpanId, string ParentSpanId, string Name, OtlpSpanKind Kind, ulong StartUnixNano, ulong EndUnixNano, int StatusCode,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<OtlpLink> Links,
    string ServiceName, string ServiceInstanceId, string Scope, IReadOnlyDictionary<string, string> Resource)
{
    /// <summary>The attribute's value, or null.</summary>
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);

    /// <inheritdoc />
    public override string ToString() => $"{ServiceName}/{ServiceInstanceId} [{Scope}] {Kind} '{Name}' {TraceId}:{SpanId} parent {(ParentSpanId.Length == 0 ? "-" : ParentSpanId)}";
}

/// <summary>Kind of an OTLP metric.</summary>
public enum OtlpMetricKind
{
    /// <summary>Gauge.</summary>
    Gauge,

    /// <summary>Sum (counters).</summary>
    Sum,

    /// <summary>Explicit-bucket histogram.</summary>
    Histogram,
}

/// <summary>
/// One data point of an exported metric. <see cref="Value"/>: the number (gauge, sum) or the histogram's sum;
/// <see cref="Count"/>: the histogram's count (0 otherwise).
/// </summary>
public sealed record OtlpMetricPoint(
    string Name, string Unit, OtlpMetricKind Kind, double Value, ulong Count, IReadOnlyDictionary<string, string> Attributes,
    string ServiceName, string ServiceInstanceId, string Scope);
