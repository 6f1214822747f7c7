-- Several models side by side, model changes by backfill, and no wasted embedding calls.
--
-- A model is identified by its name and dimensions; the provider only says how it is reached, so the
-- same model served by another server keeps its vectors.
ALTER TABLE embedding_models DROP CONSTRAINT embedding_models_provider_name_dimensions_key;
ALTER TABLE embedding_models ADD CONSTRAINT embedding_models_name_dimensions_key UNIQUE (name, dimensions);

-- enabled: workers embed every new or changed chunk with this model.
-- active: searches without a model use this one (at most one row).
-- backfill_*: an operator asked for every existing chunk to be embedded with this model, and when that finished.
ALTER TABLE embedding_models
    ADD COLUMN enabled                boolean     NOT NULL DEFAULT false,
    ADD COLUMN active                 boolean     NOT NULL DEFAULT false,
    ADD COLUMN activate_when_complete boolean     NOT NULL DEFAULT false,
    ADD COLUMN backfill_requested_at  timestamptz,
    ADD COLUMN backfill_completed_at  timestamptz,
    ADD CONSTRAINT embedding_models_active_is_enabled CHECK (NOT active OR enabled);
CREATE UNIQUE INDEX embedding_models_one_active ON embedding_models ((true)) WHERE active;
-- No model is active after this migration: each service makes its primary model active at start when
-- none is (EmbeddingModelStore.ActivateIfNoneActiveAsync).

-- Every embedding row records its dimensions next to the model and the chunk's content hash. The
-- column is nullable and existing rows are left as they are (their model row has the dimensions), so
-- the migration rewrites nothing and workers of the previous version, which do not write it, keep working
-- during a rolling upgrade; the check holds for every row that has it.
ALTER TABLE embeddings
    ADD COLUMN dimensions integer,
    ADD CONSTRAINT embeddings_dimensions_match CHECK (dimensions IS NULL OR vector_dims(embedding) = dimensions);

-- Dropping a model removes its embeddings and errors with it, including rows a worker wrote while the
-- drop was deleting in batches.
ALTER TABLE embeddings DROP CONSTRAINT embeddings_model_id_fkey,
    ADD CONSTRAINT embeddings_model_id_fkey FOREIGN KEY (model_id) REFERENCES embedding_models (id) ON DELETE CASCADE;
ALTER TABLE embedding_errors DROP CONSTRAINT embedding_errors_model_id_fkey,
    ADD CONSTRAINT embedding_errors_model_id_fkey FOREIGN KEY (model_id) REFERENCES embedding_models (id) ON DELETE CASCADE;

-- Reuse of a vector by content hash (identical chunk texts are embedded once per model), and counts
-- per model for backfill progress.
CREATE INDEX embeddings_model_content_hash ON embeddings (model_id, content_hash);

-- Re-posting a document keeps its unchanged chunks (and their embeddings) and only renumbers them;
-- a deferred check lets ordinals swap inside one transaction.
ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_ordinal_key;
ALTER TABLE chunks ADD CONSTRAINT chunks_document_id_ordinal_key UNIQUE (document_id, ordinal) DEFERRABLE INITIALLY DEFERRED;
