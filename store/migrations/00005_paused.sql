-- +goose Up

-- A paused import: an operator stopped its run after the chunk in flight; it
-- holds no worker until it is resumed (queued again) or cancelled.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'queued', 'running', 'paused', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));


-- +goose Down
-- A change of state, marked as store.transition marks its own.
UPDATE imports SET status = 'cancelled', error = 'Cancelled: paused when sweep was downgraded.' WHERE status = 'paused' AND sweep_transition();
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'queued', 'running', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));
