-- Sync sources (Ingest.Api/Sync): how far each source table has been read. The mark is written only after
-- every document of a page was accepted, so a crash makes the next pass read that page again (re-posting
-- an unchanged document costs no embedding) rather than skip rows.
CREATE TABLE sync_marks (
    source             text        PRIMARY KEY,
    mark               text        NOT NULL,
    mark_key           text        NOT NULL,
    rows_synced        bigint      NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_delete_check  timestamptz
);
