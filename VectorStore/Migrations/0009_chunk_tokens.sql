-- Chunk sizes in the primary embedding model's tokens, where Ingest.Api knows its tokenizer (the onnx provider):
-- tokens = word pieces of what is embedded for the chunk (document prefix, [CLS] and [SEP] included); truncated_at =
-- the model's maximum sequence length when tokens exceed it (the model saw only that many), else null. Null for
-- chunks stored before this migration or embedded by a model whose tokenizer is not known. Adding nullable columns
-- rewrites nothing.
ALTER TABLE chunks ADD COLUMN tokens integer, ADD COLUMN truncated_at integer;
