-- +goose Up

-- An idempotency key binds the request it was first used with: the same key
-- with another request is refused instead of replaying the first import.
-- request_sha256 is sweep.ImportRequest's fingerprint (NULL for imports made
-- before this migration, which are compared by their file's digest alone).
ALTER TABLE imports ADD COLUMN request_sha256 text;

-- Keys live in separate spaces: what clients send over HTTP, what upstream
-- services give package jobs, and what sweep makes for its cleanup batches.
-- A client can no longer take the key of a batch sweep is about to make.
ALTER TABLE imports ADD COLUMN key_space text NOT NULL DEFAULT 'http';
UPDATE imports SET key_space = CASE WHEN source IN ('upload', 'api') THEN 'http' ELSE source END;
ALTER TABLE imports ALTER COLUMN key_space DROP DEFAULT;
ALTER TABLE imports DROP CONSTRAINT imports_tenant_id_idempotency_key_key;
ALTER TABLE imports ADD CONSTRAINT imports_idempotency_key UNIQUE (tenant_id, key_space, idempotency_key);

-- +goose Down
ALTER TABLE imports DROP CONSTRAINT imports_idempotency_key;
-- Keys that now coincide across spaces cannot share the old constraint: the
-- older import keeps its key.
UPDATE imports i SET idempotency_key = NULL
WHERE idempotency_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM imports o WHERE o.tenant_id = i.tenant_id AND o.idempotency_key = i.idempotency_key AND o.id < i.id);
ALTER TABLE imports ADD CONSTRAINT imports_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);
ALTER TABLE imports DROP COLUMN key_space;
ALTER TABLE imports DROP COLUMN request_sha256;
