-- Re-posting a document with changed text: each new chunk gets the vectors of the chunk it replaces as provisional
-- embeddings, so vector search finds the passage without a gap until a worker embeds the new text, which replaces
-- them. Provisional embeddings count as missing in every status, backfill and redelivery query. Adding a column
-- with a constant default rewrites nothing.
ALTER TABLE embeddings ADD COLUMN provisional boolean NOT NULL DEFAULT false;
