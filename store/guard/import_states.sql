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

-- The mark of store.transition, the one writer of an import's status: its
-- UPDATE calls this in its WHERE clause, before the row changes, and the
-- trigger lets only a marked statement's status change through.
CREATE OR REPLACE FUNCTION sweep_transition() RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT set_config('sweep.transition', 'on', true) = 'on' $$;

CREATE OR REPLACE FUNCTION sweep_check_import_edge() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('sweep.transition', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'import % of tenant %: % -> % was written outside store.transition, the one writer of an import''s status', OLD.id, OLD.tenant_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT sweep_import_edge(OLD.status, NEW.status) THEN
        RAISE EXCEPTION 'import % of tenant %: % -> % is not an edge of the import state table', OLD.id, OLD.tenant_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
