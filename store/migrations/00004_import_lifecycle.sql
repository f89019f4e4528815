-- +goose Up

-- The import state table of the root package's status.go, as the database
-- enforces it: an UPDATE that moves imports.status along an edge the table
-- lacks is refused, whatever code runs it. The function's body is generated
-- from the Go table (store/guard/import_states.sql) and applied by migrate
-- up after the migrations, every time; it is made here only so the trigger
-- below has something to call.
-- +goose StatementBegin
CREATE FUNCTION sweep_import_edge(from_status text, to_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT false $$;
-- +goose StatementEnd

-- The trigger's function, too, is the generated guard's; until migrate up
-- applies it, this placeholder lets every change through.
-- +goose StatementBegin
CREATE FUNCTION sweep_check_import_edge() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
-- +goose StatementEnd

CREATE TRIGGER imports_status_edge BEFORE UPDATE OF status ON imports
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION sweep_check_import_edge();

-- Never read: the run keeps its place in import_blocks, and retries are
-- asynq's.
ALTER TABLE imports DROP COLUMN attempts, DROP COLUMN cursor_customer_id;

-- The reconciler's scan (store.StaleImports): imports a worker should be
-- holding, by how long they have been unchanged. The old index left out
-- uploaded, so that query could not use it.
DROP INDEX imports_active_idx;
CREATE INDEX imports_working_idx ON imports (updated_at) WHERE status IN ('uploaded', 'validating', 'queued', 'running');

-- +goose Down
DROP INDEX imports_working_idx;
CREATE INDEX imports_active_idx ON imports (status) WHERE status IN ('validating', 'queued', 'running');
ALTER TABLE imports ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN cursor_customer_id bigint NOT NULL DEFAULT 0;
DROP TRIGGER imports_status_edge ON imports;
DROP FUNCTION sweep_check_import_edge();
DROP FUNCTION sweep_import_edge(text, text);
DROP FUNCTION IF EXISTS sweep_transition();
