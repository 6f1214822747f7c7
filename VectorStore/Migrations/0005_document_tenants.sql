-- Tenants: every document belongs to one, and every read, write and search is confined to the caller's.
--
-- documents.id stays the primary key (chunks reference it): a named tenant's document is stored under
-- '{tenant}' || E'\x1f' || '{id}' (DocumentKey), the default tenant '' keeps the plain id, so the rows that exist
-- already belong to the default tenant and nothing is rewritten. The tenant column repeats the key's tenant so
-- that searches filter on it; the check keeps the two in agreement.
ALTER TABLE documents
    ADD COLUMN tenant text NOT NULL DEFAULT '',
    ADD CONSTRAINT documents_tenant_matches_id CHECK (
        CASE WHEN tenant = '' THEN strpos(id, E'\x1f') = 0
             ELSE left(id, length(tenant) + 1) = tenant || E'\x1f' END);
CREATE INDEX documents_tenant ON documents (tenant);
