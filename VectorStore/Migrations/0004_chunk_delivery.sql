-- Delivery of chunk messages: nothing lost between the commit of a document and the publish of its chunks.
--
-- queued_at: when the chunk was last queued for embedding (set in the transaction that stores it, and by a
-- retry); NULL once the redelivery sweep (Ingest.Api, Delivery/ChunkRedeliveryService) has seen it embedded by
-- every enabled model or failed. A chunk still waiting a timeout after queued_at has its message published
-- again (and queued_at moved to now), so a message lost to a crash between commit and publish, a broker
-- refusing the publish, or a purged queue is made good. Duplicate messages are harmless: the worker skips
-- chunks that already have their embedding.
ALTER TABLE chunks ADD COLUMN queued_at timestamptz;

-- The sweep pages through waiting chunks by key (keyset pagination). Only chunks in flight have queued_at,
-- so this partial index stays as small as the backlog, whatever the number of chunks stored.
CREATE INDEX chunks_queued ON chunks (id) WHERE queued_at IS NOT NULL;

-- Chunks stored before this migration that still lack an embedding of some enabled model are swept too.
UPDATE chunks c SET queued_at = now()
 WHERE EXISTS (SELECT 1 FROM embedding_models m
                WHERE m.enabled AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id = m.id)
                  AND NOT EXISTS (SELECT 1 FROM embedding_errors x WHERE x.chunk_id = c.id AND x.model_id = m.id));
