-- +goose Up

-- Why a start waits for a second person's approval: above the tenant's
-- threshold, or past its rolling limit with the total named.
ALTER TABLE imports ADD COLUMN approval_reason text;

-- +goose Down
ALTER TABLE imports DROP COLUMN approval_reason;
