using System.Globalization;

namespace VectorPipeline.VectorStore.Indexing;

/// <summary>
/// The metric a model's vectors are compared with. Its index is built with the matching pgvector operator
/// class and its queries order by the matching operator, so the planner can use the index
/// (pgvector README, "Querying" and "Indexing").
/// </summary>
public enum VectorDistance
{
    /// <summary>Cosine distance, <c>&lt;=&gt;</c> / <c>vector_cosine_ops</c>; score = cosine similarity = 1 − distance, in −1..1.</summary>
    Cosine,

    /// <summary>Euclidean (L2) distance, <c>&lt;-&gt;</c> / <c>vector_l2_ops</c>; score = 1 / (1 + distance), in 0..1.</summary>
    L2,

    /// <summary>Negative inner product, <c>&lt;#&gt;</c> / <c>vector_ip_ops</c>; score = inner product (equals cosine similarity for unit vectors).</summary>
    InnerProduct,
}

/// <summary>The kind of approximate nearest-neighbour index that holds a model's vectors.</summary>
public enum VectorIndexMethod
{
    /// <summary>HNSW graph (the default): best speed/recall trade-off; build parameters <c>m</c> and <c>ef_construction</c>; query knob <c>hnsw.ef_search</c>.</summary>
    Hnsw,

    /// <summary>IVFFlat inverted lists: smaller and faster to build, lower recall; build parameter <c>lists</c>; query knob <c>ivfflat.probes</c>.</summary>
    IvfFlat,
}

/// <summary>
/// How a model's vectors are indexed: the distance and the index method with its build parameters.
/// Configured per model (<c>Embedding:Distance</c>, <c>Embedding:Index</c>, <c>Embedding:HnswM</c>,
/// <c>Embedding:HnswEfConstruction</c>, <c>Embedding:IvfflatLists</c>) and recorded in
/// <c>embedding_models</c> with the index actually built.
/// </summary>
/// <param name="Distance">Metric of the index and of the queries.</param>
/// <param name="Method">HNSW or IVFFlat.</param>
/// <param name="HnswM">HNSW: links per node, 2..100 (pgvector's default 16).</param>
/// <param name="HnswEfConstruction">HNSW: candidate list size while building, 4..1000 and at least 2 × m (pgvector's default 64).</param>
/// <param name="IvfFlatLists">
/// IVFFlat: number of lists, 1..32768; null means "from the row count" (<see cref="ListsFor"/>) when the
/// index is built. Stored models always carry the number their index was built with.
/// </param>
public sealed record VectorIndexSettings(
    VectorDistance Distance = VectorDistance.Cosine,
    VectorIndexMethod Method = VectorIndexMethod.Hnsw,
    int HnswM = VectorIndexSettings.DefaultHnswM,
    int HnswEfConstruction = VectorIndexSettings.DefaultHnswEfConstruction,
    int? IvfFlatLists = null)
{
    /// <summary>pgvector's default HNSW <c>m</c>.</summary>
    public const int DefaultHnswM = 16;

    /// <summary>pgvector's default HNSW <c>ef_construction</c>.</summary>
    public const int DefaultHnswEfConstruction = 64;

    /// <summary>Largest IVFFlat <c>lists</c> pgvector accepts.</summary>
    public const int MaxIvfFlatLists = 32768;

    /// <summary>Cosine HNSW with pgvector's default parameters.</summary>
    public static readonly VectorIndexSettings Default = new();

    /// <summary>Configuration and database spelling of each distance.</summary>
    public static readonly IReadOnlyDictionary<string, VectorDistance> DistanceNames = new Dictionary<string, VectorDistance>
    {
        ["cosine"] = VectorDistance.Cosine,
        ["l2"] = VectorDistance.L2,
        ["inner_product"] = VectorDistance.InnerProduct,
    };

    /// <summary>Configuration and database spelling of each index method.</summary>
    public static readonly IReadOnlyDictionary<string, VectorIndexMethod> MethodNames = new Dictionary<string, VectorIndexMethod>
    {
        ["hnsw"] = VectorIndexMethod.Hnsw,
        ["ivfflat"] = VectorIndexMethod.IvfFlat,
    };

    /// <summary>The distance's name: <c>cosine</c>, <c>l2</c> or <c>inner_product</c>.</summary>
    public string DistanceName => Name(Distance);

    /// <summary>The method's name: <c>hnsw</c> or <c>ivfflat</c>.</summary>
    public string MethodName => Method == VectorIndexMethod.Hnsw ? "hnsw" : "ivfflat";

    /// <summary>The pgvector distance operator: <c>&lt;=&gt;</c>, <c>&lt;-&gt;</c> or <c>&lt;#&gt;</c>.</summary>
    public string Operator => Distance switch
    {
        VectorDistance.L2 => "<->",
        VectorDistance.InnerProduct => "<#>",
        _ => "<=>",
    };

    /// <summary>The pgvector operator class for the <c>vector</c> type: <c>vector_cosine_ops</c>, <c>vector_l2_ops</c> or <c>vector_ip_ops</c>.</summary>
    public string OperatorClass => Distance switch
    {
        VectorDistance.L2 => "vector_l2_ops",
        VectorDistance.InnerProduct => "vector_ip_ops",
        _ => "vector_cosine_ops",
    };

    /// <summary>
    /// SQL turning a distance expression into a score where higher is closer: cosine → <c>1 − d</c>
    /// (cosine similarity), inner product → <c>−d</c> (pgvector's <c>&lt;#&gt;</c> is the negative inner
    /// product), L2 → <c>1 / (1 + d)</c>.
    /// </summary>
    /// <param name="distanceSql">An expression using <see cref="Operator"/>.</param>
    public string ScoreSql(string distanceSql) => Distance switch
    {
        VectorDistance.L2 => $"1 / (1 + ({distanceSql}))",
        VectorDistance.InnerProduct => $"-({distanceSql})",
        _ => $"1 - ({distanceSql})",
    };

    /// <summary>The index's <c>WITH (...)</c> storage parameters; <paramref name="lists"/> is used for IVFFlat.</summary>
    public string StorageParameters(int lists) => Method == VectorIndexMethod.Hnsw
        ? string.Create(CultureInfo.InvariantCulture, $"m = {HnswM}, ef_construction = {HnswEfConstruction}")
        : string.Create(CultureInfo.InvariantCulture, $"lists = {lists}");

    /// <summary>One line for logs and errors, e.g. <c>hnsw, cosine, m 16, ef_construction 64</c>.</summary>
    public string Describe() => Method == VectorIndexMethod.Hnsw
        ? string.Create(CultureInfo.InvariantCulture, $"hnsw, {DistanceName}, m {HnswM}, ef_construction {HnswEfConstruction}")
        : $"ivfflat, {DistanceName}, lists {(IvfFlatLists is { } lists ? lists.ToString(CultureInfo.InvariantCulture) : "from the row count")}";

    /// <summary>
    /// True when an index built with <paramref name="built"/> serves these settings: same distance and
    /// method, same HNSW parameters, and for IVFFlat the same lists unless these leave lists to the row count.
    /// </summary>
    public bool IsSatisfiedBy(VectorIndexSettings built)
    {
        ArgumentNullException.ThrowIfNull(built);
        if (Distance != built.Distance || Method != built.Method)
        {
            return false;
        }

        return Method == VectorIndexMethod.Hnsw
            ? HnswM == built.HnswM && HnswEfConstruction == built.HnswEfConstruction
            : IvfFlatLists is null || IvfFlatLists == built.IvfFlatLists;
    }

    /// <summary>Checks the parameters against pgvector's limits.</summary>
    /// <exception cref="ArgumentException">A parameter is out of range; the message names it and the range.</exception>
    public VectorIndexSettings Validate()
    {
        if (HnswM is < 2 or > 100)
        {
            throw new ArgumentException($"HNSW m is {HnswM}; it must be between 2 and 100.", nameof(HnswM));
        }

        if (HnswEfConstruction is < 4 or > 1000 || HnswEfConstruction < 2 * HnswM)
        {
            throw new ArgumentException(
                $"HNSW ef_construction is {HnswEfConstruction}; it must be between 4 and 1000 and at least 2 × m ({2 * HnswM}).", nameof(HnswEfConstruction));
        }

        if (IvfFlatLists is < 1 or > MaxIvfFlatLists)
        {
            throw new ArgumentException($"IVFFlat lists is {IvfFlatLists}; it must be between 1 and {MaxIvfFlatLists}.", nameof(IvfFlatLists));
        }

        return this;
    }

    /// <summary>
    /// IVFFlat lists for a number of rows, as pgvector's README recommends: rows / 1000 up to one million
    /// rows, √rows above; at least 1, at most <see cref="MaxIvfFlatLists"/>.
    /// </summary>
    /// <param name="rows">Vectors the index will hold.</param>
    public static int ListsFor(long rows) =>
        (int)Math.Clamp(rows <= 1_000_000 ? rows / 1000 : (long)Math.Sqrt(rows), 1, MaxIvfFlatLists);

    /// <summary>Default <c>ivfflat.probes</c> for an index with <paramref name="lists"/> lists: √lists (pgvector's README), at least 1.</summary>
    public static int DefaultProbes(int lists) => Math.Max(1, (int)Math.Round(Math.Sqrt(lists)));

    /// <summary>The name of a distance: <c>cosine</c>, <c>l2</c> or <c>inner_product</c>.</summary>
    public static string Name(VectorDistance distance) => DistanceNames.Single(p => p.Value == distance).Key;

    /// <summary>Parses a distance name (case-insensitive; <c>ip</c> and <c>euclidean</c> are accepted too).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static VectorDistance ParseDistance(string name)
    {
        var key = name.Trim().ToLowerInvariant() switch
        {
            "ip" or "innerproduct" or "dot" => "inner_product",
            "euclidean" => "l2",
            var other => other,
        };
        return DistanceNames.TryGetValue(key, out var distance)
            ? distance
            : throw new ArgumentException($"Unknown distance '{name}'; use one of: {string.Join(", ", DistanceNames.Keys)}.", nameof(name));
    }

    /// <summary>Parses an index method name (<c>hnsw</c> or <c>ivfflat</c>, case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static VectorIndexMethod ParseMethod(string name) =>
        MethodNames.TryGetValue(name.Trim().ToLowerInvariant(), out var method)
            ? method
            : throw new ArgumentException($"Unknown index method '{name}'; use one of: {string.Join(", ", MethodNames.Keys)}.", nameof(name));
}
