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

-- The trigger's function is generated from sweep.StatusSteps (timeline.go)
-- into store/guard/import_states.sql, which every migrate up applies after
-- the migrations; until then it writes nothing.
-- +goose StatementBegin
CREATE FUNCTION sweep_import_event() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
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
