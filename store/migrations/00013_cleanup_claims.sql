-- +goose Up

-- Each run of a cleanup policy the scheduler (or an operator's run-now)
-- claimed: the revision of its selection and batch size, and whether it was
-- a dry run, as they stood at the claim. A cleanup:run task makes a batch
-- only for a claimed run, and only while that revision still stands,
-- enabled and approved; otherwise the run is dropped with its reason.
CREATE TABLE cleanup_runs (
    tenant_id bigint NOT NULL,
    policy_id bigint NOT NULL,
    due timestamptz NOT NULL,
    revision bigint NOT NULL,
    dry_run boolean NOT NULL,
    run_now boolean NOT NULL DEFAULT false,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL DEFAULT 'claimed' CHECK (outcome IN ('claimed', 'batch', 'dropped')),
    import_id bigint,
    reason text,
    decided_at timestamptz,
    PRIMARY KEY (tenant_id, policy_id, due),
    FOREIGN KEY (tenant_id, policy_id) REFERENCES cleanup_policies (tenant_id, id) ON DELETE CASCADE
);

-- The last run a policy dropped, and why, shown with the policy.
ALTER TABLE cleanup_policies
    ADD COLUMN last_dropped_at timestamptz,
    ADD COLUMN last_drop_reason text;

-- When an import was queued to run without a second person's approval: the
-- tenant's rolling limit counts what such imports deleted (or will) in the
-- last 24 hours.
ALTER TABLE imports ADD COLUMN unapproved_at timestamptz;
CREATE INDEX imports_unapproved_idx ON imports (tenant_id, finished_at) WHERE unapproved_at IS NOT NULL;

-- A tenant's own rolling limit (NULL: sweep's default; 0: none).
ALTER TABLE tenants ADD COLUMN approval_daily_limit bigint CHECK (approval_daily_limit >= 0);

-- +goose Down
ALTER TABLE tenants DROP COLUMN approval_daily_limit;
DROP INDEX imports_unapproved_idx;
ALTER TABLE imports DROP COLUMN unapproved_at;
ALTER TABLE cleanup_policies DROP COLUMN last_drop_reason, DROP COLUMN last_dropped_at;
DROP TABLE cleanup_runs;
