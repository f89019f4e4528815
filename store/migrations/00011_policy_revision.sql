-- +goose Up

-- A cleanup policy's revision counts the changes of what it selects and how
-- much; an approval names the revision its approver read, so a change made
-- meanwhile is never approved unseen.
ALTER TABLE cleanup_policies ADD COLUMN revision bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE cleanup_policies DROP COLUMN revision;
