-- +goose Up

-- Four eyes that hold: who approved is kept by token id as well as by name,
-- for imports and for cleanup policies, so two tokens that share a name are
-- never one person to a reader.
ALTER TABLE imports ADD COLUMN approved_token bigint;
ALTER TABLE cleanup_policies ADD COLUMN approved_token bigint;

-- A token's name is unique in its tenant among active tokens, whatever its
-- letter case and surrounding spaces. Active tokens that already share a
-- name keep the oldest one as it is; each later one is renamed by appending
-- " #<its id>" (an unnamed one becomes "token #<its id>"), which the README
-- tells administrators to look for.
UPDATE api_tokens t
SET name = CASE WHEN btrim(t.name) = '' THEN 'token #' || t.id ELSE t.name || ' #' || t.id END
WHERE t.revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM api_tokens o
    WHERE o.tenant_id = t.tenant_id AND o.revoked_at IS NULL AND o.id < t.id
      AND lower(btrim(o.name)) = lower(btrim(t.name)));
CREATE UNIQUE INDEX api_tokens_active_name_idx ON api_tokens (tenant_id, lower(btrim(name))) WHERE revoked_at IS NULL;

-- The timeline's approval steps name the tokens as well as their names: the
-- one that asked on awaiting_approval and approved, and the one that
-- approved on approved; and the customers the run deletes as the preview
-- counted them when the step was taken. The steps themselves are written
-- by sweep_import_event, which this leaves as it is.
-- +goose StatementBegin
CREATE FUNCTION sweep_approval_event_tokens() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    asked bigint;
    approved bigint;
    customers bigint;
BEGIN
    SELECT i.approval_requested_token, i.approved_token, m.customers INTO asked, approved, customers
    FROM imports i LEFT JOIN import_impacts m ON m.tenant_id = i.tenant_id AND m.import_id = i.id
    WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.import_id;
    NEW.detail := NEW.detail || jsonb_strip_nulls(jsonb_build_object(
        'requested_by_token_id', asked,
        'approved_by_token_id', CASE WHEN NEW.kind = 'approved' THEN approved END,
        'customers', customers));
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER import_events_approval_tokens BEFORE INSERT ON import_events
    FOR EACH ROW WHEN (NEW.kind IN ('awaiting_approval', 'approved', 'approval_rejected'))
    EXECUTE FUNCTION sweep_approval_event_tokens();

-- The preview is counted again when an approval is asked and when an
-- approver reads it: a recount that changes nothing leaves no step in the
-- timeline, one that changes the figures does.
DROP TRIGGER import_impacts_events ON import_impacts;
CREATE TRIGGER import_impacts_events AFTER INSERT ON import_impacts
    FOR EACH ROW EXECUTE FUNCTION sweep_impact_event();
CREATE TRIGGER import_impacts_changed AFTER UPDATE ON import_impacts
    FOR EACH ROW WHEN (OLD.customers IS DISTINCT FROM NEW.customers OR OLD.related_rows IS DISTINCT FROM NEW.related_rows)
    EXECUTE FUNCTION sweep_impact_event();

-- +goose Down
DROP TRIGGER import_impacts_changed ON import_impacts;
DROP TRIGGER import_impacts_events ON import_impacts;
CREATE TRIGGER import_impacts_events AFTER INSERT OR UPDATE ON import_impacts
    FOR EACH ROW EXECUTE FUNCTION sweep_impact_event();
DROP TRIGGER import_events_approval_tokens ON import_events;
DROP FUNCTION sweep_approval_event_tokens();
DROP INDEX api_tokens_active_name_idx;
ALTER TABLE cleanup_policies DROP COLUMN approved_token;
ALTER TABLE imports DROP COLUMN approved_token;
