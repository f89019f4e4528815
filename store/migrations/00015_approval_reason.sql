-- +goose Up

-- Why a start waits for a second person's approval: above the tenant's
-- threshold, or past its rolling limit with the total named.
ALTER TABLE imports ADD COLUMN approval_reason text;

-- A policy's approval covers the revision it approved, no other: a change
-- of its selection or batch size, under the threshold or not, is not
-- approved by it. Approvals made before this release cover the revision the
-- policy has now.
ALTER TABLE cleanup_policies
    ADD COLUMN approved_revision bigint,
    -- Who created the policy or last changed what it selects or how much: the
    -- requester of its scheduled batches, who may not approve them.
    ADD COLUMN selection_by text,
    ADD COLUMN selection_by_token bigint;
UPDATE cleanup_policies SET approved_revision = revision WHERE approved_at IS NOT NULL;

-- Who asked for a run-now: the requester of its batch.
ALTER TABLE cleanup_runs
    ADD COLUMN requested_by text,
    ADD COLUMN requested_token bigint;

-- What imports run without approval deleted, kept when their record is
-- deleted, for the tenant's rolling limit.
CREATE TABLE unapproved_deletions (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    finished_at timestamptz NOT NULL,
    deleted_rows bigint NOT NULL,
    PRIMARY KEY (tenant_id, import_id)
);

-- +goose Down
DROP TABLE unapproved_deletions;
ALTER TABLE cleanup_runs DROP COLUMN requested_token, DROP COLUMN requested_by;
ALTER TABLE cleanup_policies DROP COLUMN selection_by_token, DROP COLUMN selection_by, DROP COLUMN approved_revision;
ALTER TABLE imports DROP COLUMN approval_reason;
