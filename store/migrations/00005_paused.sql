-- +goose Up

-- A paused import: an operator stopped its run after the chunk in flight; it
-- holds no worker until it is resumed (queued again) or cancelled.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'queued', 'running', 'paused', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));

-- The state table of status.go, with the pause edges.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sweep_import_edge(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (from_status, to_status) IN (VALUES
        ('uploaded', 'validating'), ('uploaded', 'cancelled'),
        ('validating', 'validated'), ('validating', 'rejected'), ('validating', 'cancelled'), ('validating', 'failed'),
        ('validated', 'queued'), ('validated', 'cancelled'),
        ('rejected', 'validating'),
        ('queued', 'running'), ('queued', 'paused'), ('queued', 'cancelled'), ('queued', 'failed'),
        ('running', 'completed'), ('running', 'completed_with_errors'), ('running', 'paused'), ('running', 'cancelled'), ('running', 'failed'),
        ('paused', 'queued'), ('paused', 'cancelled'))
$$;
-- +goose StatementEnd

-- +goose Down
UPDATE imports SET status = 'cancelled', error = 'Cancelled: paused when sweep was downgraded.' WHERE status = 'paused';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sweep_import_edge(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (from_status, to_status) IN (VALUES
        ('uploaded', 'validating'), ('uploaded', 'cancelled'),
        ('validating', 'validated'), ('validating', 'rejected'), ('validating', 'cancelled'), ('validating', 'failed'),
        ('validated', 'queued'), ('validated', 'cancelled'),
        ('rejected', 'validating'),
        ('queued', 'running'), ('queued', 'cancelled'), ('queued', 'failed'),
        ('running', 'completed'), ('running', 'completed_with_errors'), ('running', 'cancelled'), ('running', 'failed'))
$$;
-- +goose StatementEnd
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'queued', 'running', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));
