namespace VectorPipeline.Ingest.Apis;

/// <summary>Body of <c>POST /models/{model}/backfill</c> (optional).</summary>
/// <param name="ActivateWhenComplete">Make the model the active one by itself as soon as every chunk has its embedding; false by default (activate with <c>POST /models/{model}/activate</c>).</param>
public sealed record BackfillRequest(bool? ActivateWhenComplete);

/// <summary>Backfill progress of a model over all stored chunks; exact counts.</summary>
/// <param name="Embedded">Chunks with an embedding of this model.</param>
/// <param name="Failed">Chunks whose embedding with this model failed and has not succeeded since.</param>
/// <param name="Total">All stored chunks.</param>
/// <param name="Percent">Embedded / total × 100, rounded down to 0.1 (100 when there are no chunks).</param>
/// <param name="RequestedAt">When a backfill was last asked for; null if never.</param>
/// <param name="CompletedAt">When that backfill was seen complete; null until then.</param>
/// <param name="ActivateWhenComplete">The model becomes active by itself when complete.</param>
public sealed record BackfillProgressResponse(long Embedded, long Failed, long Total, double Percent, DateTimeOffset? RequestedAt, DateTimeOffset? CompletedAt, bool ActivateWhenComplete);

/// <summary>One embedding model, as <c>GET /models</c> and <c>GET /models/{model}</c> answer.</summary>
/// <param name="Id">Database id (also accepted wherever a model is named).</param>
/// <param name="Key">The model's name in every API: <c>{name}@{dimensions}</c>.</param>
/// <param name="Name">Model name as its server knows it.</param>
/// <param name="Dimensions">Vector length.</param>
/// <param name="Provider">Provider that registered it (<c>onnx</c>, <c>hashing</c>, <c>ollama</c>, <c>openai</c>, <c>http</c>).</param>
/// <param name="Status"><c>active</c> (searches use it by default), <c>backfilling</c>, <c>ready</c> (every chunk embedded, not active) or <c>registered</c> (known, not embedding).</param>
/// <param name="Enabled">Workers embed new and changed chunks with it.</param>
/// <param name="Backfill">Progress over all stored chunks.</param>
/// <param name="Index">The vector index holding the model's vectors, as built.</param>
/// <param name="ChunkTemplate">The chunk template (<c>Chunking:Template</c>) recorded with the model: what its vectors were made from; null until Ingest.Api records it.</param>
public sealed record ModelResponse(int Id, string Key, string Name, int Dimensions, string Provider, string Status, bool Enabled,
    BackfillProgressResponse Backfill, VectorIndexResponse Index, string? ChunkTemplate = null);

/// <summary>A model's vector index, as built.</summary>
/// <param name="Name">PostgreSQL index name (changes when the index is rebuilt).</param>
/// <param name="Method"><c>hnsw</c> or <c>ivfflat</c>.</param>
/// <param name="Distance"><c>cosine</c>, <c>l2</c> or <c>inner_product</c>: the operator class of the index and the operator of searches.</param>
/// <param name="M">HNSW <c>m</c>; null for IVFFlat.</param>
/// <param name="EfConstruction">HNSW <c>ef_construction</c>; null for IVFFlat.</param>
/// <param name="Lists">IVFFlat <c>lists</c>; null for HNSW.</param>
public sealed record VectorIndexResponse(string Name, string Method, string Distance, int? M, int? EfConstruction, int? Lists);
