-- Chunk templates (Chunking:Template, e.g. '{title}\n\n{chunk}'): what is embedded for a chunk may differ from the
-- chunk text that search returns. embed_text holds the rendered text when it differs (NULL = the text itself);
-- content_hash is the hash of what is embedded, so vectors are reused only for identical embedded texts and a new
-- title re-embeds the document's chunks. Each model records the template its vectors were made with.
ALTER TABLE chunks ADD COLUMN embed_text text;
ALTER TABLE embedding_models ADD COLUMN chunk_template text;
