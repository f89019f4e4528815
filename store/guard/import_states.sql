-- Code generated from the state table of status.go by "go generate ./store"; DO NOT EDIT.
--
-- sweep migrate up applies this file after the migrations, every time: an
-- UPDATE that moves imports.status along an edge the Go table lacks is
-- refused by the trigger imports_status_edge, whatever code runs it.

CREATE OR REPLACE FUNCTION sweep_import_edge(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (from_status, to_status) IN (VALUES
        ('uploaded', 'validating'), ('uploaded', 'cancelled'),
        ('validating', 'validated'), ('validating', 'rejected'), ('validating', 'cancelled'), ('validating', 'failed'),
        ('validated', 'queued'), ('validated', 'awaiting_approval'), ('validated', 'cancelled'),
        ('awaiting_approval', 'queued'), ('awaiting_approval', 'rejected'), ('awaiting_approval', 'cancelled'),
        ('queued', 'running'), ('queued', 'paused'), ('queued', 'cancelled'), ('queued', 'failed'),
        ('running', 'completed'), ('running', 'completed_with_errors'), ('running', 'paused'), ('running', 'cancelled'), ('running', 'failed'),
        ('paused', 'queued'), ('paused', 'cancelled'),
        ('rejected', 'validating'))
$$;
