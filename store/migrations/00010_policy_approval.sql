-- +goose Up

-- Four eyes on cleanup policies: a policy whose batch may delete more
-- customers than the tenant's approval threshold makes no batch until
-- another token with imports:approve approves it, when it is created and
-- whenever its selection (kind, params) or batch size changes. Its batches
-- then run as approved. Policies made before this stay as they were.
ALTER TABLE cleanup_policies
    ADD COLUMN awaiting_approval boolean NOT NULL DEFAULT false,
    ADD COLUMN approval_requested_by text,
    ADD COLUMN approval_requested_token bigint,
    ADD COLUMN approval_requested_at timestamptz,
    ADD COLUMN approved_by text,
    ADD COLUMN approved_at timestamptz;

-- +goose Down
ALTER TABLE cleanup_policies DROP COLUMN awaiting_approval, DROP COLUMN approval_requested_by,
    DROP COLUMN approval_requested_token, DROP COLUMN approval_requested_at, DROP COLUMN approved_by, DROP COLUMN approved_at;
