-- Documents, their chunks, the embedding models in use, the embeddings keyed by (chunk, model),
-- and the embedding errors the status API shows. One vector column holds every model's vectors;
-- each model gets its own partial HNSW expression index when it is registered (EmbeddingModelStore).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE documents (
    id          text        PRIMARY KEY,
    title       text,
    source      text,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    chunk_count integer     NOT NULL CHECK (chunk_count >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chunks (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  text        NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal      integer     NOT NULL CHECK (ordinal >= 0),
    text         text        NOT NULL,
    content_hash bytea       NOT NULL CHECK (length(content_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_content_hash ON chunks (content_hash);

CREATE TABLE embedding_models (
    id         integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider   text        NOT NULL,
    name       text        NOT NULL,
    dimensions integer     NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, name, dimensions)
);

CREATE TABLE embeddings (
    chunk_id     bigint      NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    model_id     integer     NOT NULL REFERENCES embedding_models (id),
    content_hash bytea       NOT NULL,
    embedding    vector      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chunk_id, model_id)
);

CREATE TABLE embedding_errors (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chunk_id    bigint      NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    model_id    integer     NOT NULL REFERENCES embedding_models (id),
    error       text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embedding_errors_chunk ON embedding_errors (chunk_id, model_id);
