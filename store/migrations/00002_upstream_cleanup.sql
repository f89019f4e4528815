-- +goose Up

-- Customer ids an upstream service stages for a customers:delete task too
-- large to carry its ids in the task body. The task names the batch; the
-- worker turns it into an import and removes it.
CREATE TABLE staged_ids (
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    batch text NOT NULL CHECK (batch <> ''),
    seq integer NOT NULL,
    ids bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, batch, seq)
);
ALTER TABLE staged_ids ALTER COLUMN ids SET STORAGE EXTERNAL;

-- What a cleanup policy's last batch found, for the policy list.
ALTER TABLE cleanup_policies
    ADD COLUMN last_import_id bigint,
    ADD COLUMN last_found bigint,
    ADD CONSTRAINT cleanup_policies_name_key UNIQUE (tenant_id, name);

-- A policy's batches in the import history.
CREATE INDEX imports_cleanup_policy_idx ON imports (tenant_id, cleanup_policy_id) WHERE cleanup_policy_id IS NOT NULL;

-- +goose Down
DROP INDEX imports_cleanup_policy_idx;
ALTER TABLE cleanup_policies
    DROP CONSTRAINT cleanup_policies_name_key,
    DROP COLUMN last_found,
    DROP COLUMN last_import_id;
DROP TABLE staged_ids;
