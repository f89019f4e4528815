-- +goose Up

-- What a run may do and why it waits. run_window (the root package's Window
-- in its canonical text) and max_rows_per_second are the operator's; the
-- held_* columns are the run's: a queued or running import that waits for a
-- throttle signal, a manual hold or its window says so here. They are not a
-- state of the lifecycle table: a held run is still queued or running.
ALTER TABLE imports
    ADD COLUMN run_window text NOT NULL DEFAULT '',
    ADD COLUMN max_rows_per_second integer CHECK (max_rows_per_second > 0),
    ADD COLUMN held_reason text,
    ADD COLUMN held_message text NOT NULL DEFAULT '',
    ADD COLUMN held_since timestamptz,
    ADD COLUMN held_until timestamptz;

ALTER TABLE cleanup_policies ADD COLUMN run_window text NOT NULL DEFAULT '';

-- The short history of an import's holds: one row per hold, closed when the
-- run goes on or leaves queued/running. Only the newest rows are kept.
CREATE TABLE import_holds (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    reason text NOT NULL,
    message text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    PRIMARY KEY (tenant_id, import_id, id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);

-- Manual holds of every run: tenant_id 0 holds all tenants' runs (set from the
-- command line by whoever runs the platform), any other a tenant's own (its
-- admin token, through the API or the page).
CREATE TABLE run_holds (
    tenant_id bigint PRIMARY KEY CHECK (tenant_id >= 0),
    reason text NOT NULL,
    held_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- An import that leaves queued and running is no longer held: its hold ends
-- with it, whichever operation moved it.
-- +goose StatementBegin
CREATE FUNCTION sweep_end_hold() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN ('queued', 'running') AND OLD.held_reason IS NOT NULL THEN
        NEW.held_reason := NULL;
        NEW.held_message := '';
        NEW.held_since := NULL;
        NEW.held_until := NULL;
        UPDATE import_holds SET ended_at = now()
        WHERE tenant_id = OLD.tenant_id AND import_id = OLD.id AND ended_at IS NULL;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER imports_end_hold BEFORE UPDATE OF status ON imports
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION sweep_end_hold();

-- +goose Down
DROP TRIGGER imports_end_hold ON imports;
DROP FUNCTION sweep_end_hold();
DROP TABLE run_holds;
DROP TABLE import_holds;
ALTER TABLE cleanup_policies DROP COLUMN run_window;
ALTER TABLE imports DROP COLUMN run_window, DROP COLUMN max_rows_per_second, DROP COLUMN held_reason,
    DROP COLUMN held_message, DROP COLUMN held_since, DROP COLUMN held_until;
