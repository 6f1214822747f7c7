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

-- A database from the walking pipeline had exactly the model the services were configured with.
UPDATE embedding_models SET enabled = true, active = true WHERE id = (SELECT max(id) FROM embedding_models);

-- Every embedding row records its dimensions next to the model and the chunk's content hash.
ALTER TABLE embeddings ADD COLUMN dimensions integer;
UPDATE embeddings SET dimensions = vector_dims(embedding);
ALTER TABLE embeddings
    ALTER COLUMN dimensions SET NOT NULL,
    ADD CONSTRAINT embeddings_dimensions_match CHECK (vector_dims(embedding) = dimensions);

-- Reuse of a vector by content hash (identical chunk texts are embedded once per model), and counts
-- per model for backfill progress.
CREATE INDEX embeddings_model_content_hash ON embeddings (model_id, content_hash);

-- Re-posting a document keeps its unchanged chunks (and their embeddings) and only renumbers them;
-- a deferred check lets ordinals swap inside one transaction.
ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_ordinal_key;
ALTER TABLE chunks ADD CONSTRAINT chunks_document_id_ordinal_key UNIQUE (document_id, ordinal) DEFERRABLE INITIALLY DEFERRED;
