-- +goose Up

-- Four eyes: a deletion above the tenant's threshold waits, after it is asked
-- to start, in awaiting_approval until another token with imports:approve
-- approves it (queued, as it was asked to run) or rejects it, or the request
-- expires (rejected, saying so). The state table of status.go, as the
-- database enforces it, gains those edges.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'awaiting_approval', 'queued', 'running', 'paused', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));


-- Who asked and who decided: token names for people to read, the asking
-- token's id so that it can never approve its own request.
ALTER TABLE imports
    ADD COLUMN created_by_token bigint,
    ADD COLUMN approval_requested_by text,
    ADD COLUMN approval_requested_token bigint,
    ADD COLUMN approval_requested_at timestamptz,
    ADD COLUMN approval_expires_at timestamptz,
    ADD COLUMN approved_by text,
    ADD COLUMN approved_at timestamptz;
CREATE INDEX imports_awaiting_approval_idx ON imports (approval_expires_at) WHERE status = 'awaiting_approval';

-- A tenant's own threshold (NULL: sweep's configured default).
ALTER TABLE tenants ADD COLUMN approval_threshold bigint CHECK (approval_threshold >= 0);

-- The timeline names the approval steps: sweep.StatusSteps (timeline.go),
-- generated into store/guard/import_states.sql.

-- The impact preview, once worked out, is a step of the timeline too.
-- +goose StatementBegin
CREATE FUNCTION sweep_impact_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO import_events (tenant_id, import_id, kind, actor, detail)
    VALUES (NEW.tenant_id, NEW.import_id, 'impact_computed', sweep_actor(),
        jsonb_build_object('customers', NEW.customers, 'related_rows', NEW.related_rows, 'estimated_seconds', NEW.estimated_seconds));
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER import_impacts_events AFTER INSERT OR UPDATE ON import_impacts
    FOR EACH ROW EXECUTE FUNCTION sweep_impact_event();

-- +goose Down
DROP TRIGGER import_impacts_events ON import_impacts;
DROP FUNCTION sweep_impact_event();
-- A change of state, marked as store.transition marks its own.
UPDATE imports SET status = 'cancelled', error = 'Cancelled: it awaited approval when sweep was downgraded.' WHERE status = 'awaiting_approval' AND sweep_transition();
ALTER TABLE tenants DROP COLUMN approval_threshold;
DROP INDEX imports_awaiting_approval_idx;
ALTER TABLE imports DROP COLUMN created_by_token, DROP COLUMN approval_requested_by, DROP COLUMN approval_requested_token,
    DROP COLUMN approval_requested_at, DROP COLUMN approval_expires_at, DROP COLUMN approved_by, DROP COLUMN approved_at;
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN (
    'uploaded', 'validating', 'validated', 'queued', 'running', 'paused', 'completed',
    'completed_with_errors', 'rejected', 'cancelled', 'failed'));
