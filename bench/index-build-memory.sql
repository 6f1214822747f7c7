-- How maintenance_work_mem changes the time of the index build Ingest.Api runs (EmbeddingModelStore.RebuildIndexAsync:
-- CREATE INDEX CONCURRENTLY of a partial HNSW index, m 16, ef_construction 64, cosine) over 100,000 random vectors
-- of 384 dimensions: first with the server's setting (PostgreSQL's default is 64MB), then with 1GB (the default of
-- VectorIndex:MaintenanceWorkMem). Run against an empty database with pgvector available, for example one started by
-- eng/postgres.sh:   psql -h 127.0.0.1 -p PORT -U postgres -d DB -f bench/index-build-memory.sql
-- It creates and drops its own table (index_build_memory).
CREATE EXTENSION IF NOT EXISTS vector;
DROP TABLE IF EXISTS index_build_memory;
CREATE TABLE index_build_memory (id bigserial PRIMARY KEY, model_id int NOT NULL, embedding vector NOT NULL);
INSERT INTO index_build_memory (model_id, embedding)
SELECT 1, (SELECT array_agg(random())::vector FROM generate_series(1, 384) WHERE g > 0) FROM generate_series(1, 100000) g;
ANALYZE index_build_memory;
SHOW maintenance_work_mem;
\timing on
CREATE INDEX CONCURRENTLY index_build_memory_hnsw ON index_build_memory
    USING hnsw (((embedding)::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE model_id = 1;
DROP INDEX index_build_memory_hnsw;
SET maintenance_work_mem = '1GB';
CREATE INDEX CONCURRENTLY index_build_memory_hnsw ON index_build_memory
    USING hnsw (((embedding)::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE model_id = 1;
\timing off
DROP TABLE index_build_memory;
