-- Distance and index kind per model.
--
-- distance: the metric the model's index is built for and its queries order by: cosine (<=>,
-- vector_cosine_ops), l2 (<->, vector_l2_ops) or inner_product (<#>, vector_ip_ops).
-- index_method: hnsw (default; hnsw_m and hnsw_ef_construction are its build parameters) or ivfflat
-- (low-memory alternative; ivfflat_lists is the number of lists it was built with).
-- index_name: the partial index that holds the model's vectors now. A rebuild with new settings
-- creates a new index under a new name, switches this column, then drops the old one, so searches
-- always find a valid index that matches the row they read.
ALTER TABLE embedding_models
    ADD COLUMN distance             text    NOT NULL DEFAULT 'cosine',
    ADD COLUMN index_method         text    NOT NULL DEFAULT 'hnsw',
    ADD COLUMN hnsw_m               integer NOT NULL DEFAULT 16,
    ADD COLUMN hnsw_ef_construction integer NOT NULL DEFAULT 64,
    ADD COLUMN ivfflat_lists        integer,
    ADD COLUMN index_name           text,
    ADD CONSTRAINT embedding_models_distance_known CHECK (distance IN ('cosine', 'l2', 'inner_product')),
    ADD CONSTRAINT embedding_models_index_method_known CHECK (index_method IN ('hnsw', 'ivfflat')),
    ADD CONSTRAINT embedding_models_hnsw_parameters CHECK (hnsw_m BETWEEN 2 AND 100 AND hnsw_ef_construction BETWEEN 4 AND 1000 AND hnsw_ef_construction >= 2 * hnsw_m),
    ADD CONSTRAINT embedding_models_ivfflat_lists CHECK (ivfflat_lists IS NULL OR ivfflat_lists BETWEEN 1 AND 32768);

-- Models registered before this migration have a cosine HNSW index with pgvector's defaults
-- (m 16, ef_construction 64) under the name the previous version gave it.
UPDATE embedding_models SET index_name = 'embeddings_hnsw_m' || id;
