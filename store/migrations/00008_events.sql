-- +goose Up

-- The import's timeline: every step with who and when, written by triggers in
-- the same transaction as the change that is the step, so no code path can
-- change an import without its event, and a crash loses both or neither.
-- Events name people by their token's name (the transaction's sweep.actor
-- setting; sweep's own workers when unset), never a customer: details hold
-- counts, states and sweep's own sentences only.
CREATE TABLE import_events (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind text NOT NULL,
    actor text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, import_id, id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);

-- +goose StatementBegin
CREATE FUNCTION sweep_actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('sweep.actor', true), ''), 'sweep')
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION sweep_import_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    detail jsonb := '{}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, 'uploaded', coalesce(nullif(NEW.created_by, ''), sweep_actor()),
            jsonb_build_object('source', NEW.source, 'policy', NEW.policy, 'auto_start', NEW.auto_start, 'run_at', NEW.run_at));
        IF NEW.status <> 'uploaded' THEN -- a cleanup run that found nothing is created completed
            INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
            VALUES (NEW.tenant_id, NEW.id, NEW.status, 'sweep', jsonb_build_object('total_rows', NEW.total_rows));
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        kind := NEW.status;
        CASE NEW.status
        WHEN 'validated' THEN
            detail := jsonb_build_object('total_rows', NEW.total_rows, 'valid_rows', NEW.valid_rows, 'error_rows', NEW.error_rows);
        WHEN 'rejected', 'failed' THEN
            detail := jsonb_build_object('total_rows', NEW.total_rows, 'error_rows', NEW.error_rows, 'error', NEW.error);
        WHEN 'queued' THEN
            kind := CASE OLD.status WHEN 'paused' THEN 'resumed' WHEN 'validated' THEN 'started' ELSE 'queued' END;
            detail := jsonb_build_object('run_at', NEW.run_at, 'parallelism', NEW.parallelism);
        WHEN 'completed', 'completed_with_errors', 'cancelled', 'paused' THEN
            detail := jsonb_build_object('processed_rows', NEW.processed_rows, 'deleted_rows', NEW.deleted_rows,
                'skipped_rows', NEW.skipped_rows, 'error_rows', NEW.error_rows, 'valid_rows', NEW.valid_rows);
        ELSE
            NULL;
        END CASE;
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, kind, sweep_actor(), detail);
    ELSIF NEW.cancel_requested AND NOT OLD.cancel_requested THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, 'cancel_requested', sweep_actor(),
            jsonb_build_object('processed_rows', NEW.processed_rows, 'valid_rows', NEW.valid_rows));
    END IF;
    IF NEW.run_window IS DISTINCT FROM OLD.run_window OR NEW.max_rows_per_second IS DISTINCT FROM OLD.max_rows_per_second THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.id, 'run_changed', sweep_actor(),
            jsonb_build_object('run_window', NEW.run_window, 'max_rows_per_second', NEW.max_rows_per_second));
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- Only statements that set these columns fire it: a chunk's counters do not.
CREATE TRIGGER imports_events AFTER INSERT OR UPDATE OF status, cancel_requested, run_window, max_rows_per_second ON imports
    FOR EACH ROW EXECUTE FUNCTION sweep_import_event();

-- +goose StatementBegin
CREATE FUNCTION sweep_hold_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.import_id, 'held', 'sweep', jsonb_build_object('reason', NEW.reason, 'message', NEW.message));
    ELSIF NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL THEN
        INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
        VALUES (NEW.tenant_id, NEW.import_id, 'hold_ended', 'sweep',
            jsonb_build_object('reason', NEW.reason, 'held_seconds', round(extract(epoch FROM NEW.ended_at - NEW.started_at))));
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER import_holds_events AFTER INSERT OR UPDATE OF ended_at ON import_holds
    FOR EACH ROW EXECUTE FUNCTION sweep_hold_event();

-- +goose Down
DROP TRIGGER import_holds_events ON import_holds;
DROP FUNCTION sweep_hold_event();
DROP TRIGGER imports_events ON imports;
DROP FUNCTION sweep_import_event();
DROP FUNCTION sweep_actor();
DROP TABLE import_events;
