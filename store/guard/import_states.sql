-- Code generated from the state table of status.go and the timeline's
-- steps of timeline.go by "go generate ./store"; DO NOT EDIT.
--
-- sweep migrate up applies this file after the migrations, every time: an
-- UPDATE that moves imports.status along an edge the Go table lacks is
-- refused by the trigger imports_status_edge, whatever code runs it, and
-- every move writes its step of the timeline as the Go table says.

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

-- The timeline's steps an import's row makes, written in the statement
-- that makes them (sweep.StatusSteps in timeline.go).
CREATE OR REPLACE FUNCTION sweep_import_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := to_jsonb(NEW);
    was jsonb;
    kind text;
    detail jsonb := '{}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
            VALUES (NEW.tenant_id, NEW.id, 'uploaded', coalesce(nullif(r ->> 'created_by', ''), sweep_actor()), jsonb_build_object('source', r -> 'source', 'policy', r -> 'policy', 'auto_start', r -> 'auto_start', 'run_at', r -> 'run_at'));
        IF NEW.status <> 'uploaded' THEN -- a cleanup run that found nothing is created completed
            INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
            VALUES (NEW.tenant_id, NEW.id, NEW.status, 'sweep', jsonb_build_object('total_rows', r -> 'total_rows'));
        END IF;
        RETURN NEW;
    END IF;
    was := to_jsonb(OLD);
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        kind := NEW.status;
        CASE NEW.status
        WHEN 'validated' THEN
            detail := jsonb_build_object('total_rows', r -> 'total_rows', 'valid_rows', r -> 'valid_rows', 'error_rows', r -> 'error_rows');
        WHEN 'awaiting_approval' THEN
            detail := jsonb_build_object('valid_rows', r -> 'valid_rows', 'expires_at', r -> 'approval_expires_at', 'run_at', r -> 'run_at');
        WHEN 'queued' THEN
            kind := CASE OLD.status WHEN 'validated' THEN 'started' WHEN 'awaiting_approval' THEN 'approved' WHEN 'paused' THEN 'resumed' ELSE 'queued' END;
            detail := jsonb_build_object('run_at', r -> 'run_at', 'parallelism', r -> 'parallelism', 'valid_rows', r -> 'valid_rows');
        WHEN 'paused' THEN
            detail := jsonb_build_object('processed_rows', r -> 'processed_rows', 'deleted_rows', r -> 'deleted_rows', 'skipped_rows', r -> 'skipped_rows', 'error_rows', r -> 'error_rows', 'valid_rows', r -> 'valid_rows');
        WHEN 'completed' THEN
            detail := jsonb_build_object('processed_rows', r -> 'processed_rows', 'deleted_rows', r -> 'deleted_rows', 'skipped_rows', r -> 'skipped_rows', 'error_rows', r -> 'error_rows', 'valid_rows', r -> 'valid_rows');
        WHEN 'completed_with_errors' THEN
            detail := jsonb_build_object('processed_rows', r -> 'processed_rows', 'deleted_rows', r -> 'deleted_rows', 'skipped_rows', r -> 'skipped_rows', 'error_rows', r -> 'error_rows', 'valid_rows', r -> 'valid_rows');
        WHEN 'rejected' THEN
            kind := CASE OLD.status WHEN 'awaiting_approval' THEN 'approval_rejected' ELSE 'rejected' END;
            detail := jsonb_build_object('total_rows', r -> 'total_rows', 'error_rows', r -> 'error_rows', 'error', r -> 'error');
        WHEN 'cancelled' THEN
            detail := jsonb_build_object('processed_rows', r -> 'processed_rows', 'deleted_rows', r -> 'deleted_rows', 'skipped_rows', r -> 'skipped_rows', 'error_rows', r -> 'error_rows', 'valid_rows', r -> 'valid_rows');
        WHEN 'failed' THEN
            kind := CASE OLD.status WHEN 'awaiting_approval' THEN 'approval_rejected' ELSE 'failed' END;
            detail := jsonb_build_object('total_rows', r -> 'total_rows', 'error_rows', r -> 'error_rows', 'error', r -> 'error');
        ELSE
            NULL;
        END CASE;
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, kind, sweep_actor(), detail);
    ELSIF coalesce((r ->> 'cancel_requested')::boolean, false) AND NOT coalesce((was ->> 'cancel_requested')::boolean, false) THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
            VALUES (NEW.tenant_id, NEW.id, 'cancel_requested', sweep_actor(), jsonb_build_object('processed_rows', r -> 'processed_rows', 'valid_rows', r -> 'valid_rows'));
    END IF;
    IF r -> 'run_window' IS DISTINCT FROM was -> 'run_window' OR r -> 'max_rows_per_second' IS DISTINCT FROM was -> 'max_rows_per_second' THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
            VALUES (NEW.tenant_id, NEW.id, 'run_changed', sweep_actor(), jsonb_build_object('run_window', r -> 'run_window', 'max_rows_per_second', r -> 'max_rows_per_second'));
    END IF;
    RETURN NEW;
END
$$;
