-- +goose Up

-- sweep's own objects live in sweep's own schema (SWEEP_SCHEMA, sweep by
-- default), which the migrator makes and puts first in the search_path, apart
-- from the platform's tables. A fresh install made every object there, and
-- this finds nothing to move. An install from before this release made them
-- in public, beside the platform's tables: each moves now, where the schema
-- has none of its name yet, with its rows, indexes, constraints, triggers and
-- owned sequences (the migrator moved goose's history before this ran).
--
-- The platform's tables must not depend on sweep's: the foreign keys that
-- tables other than sweep's hold on sweep's tables (the demo platform's
-- customers and loans referenced tenants) are dropped. sweep's own tables
-- have no foreign key into the platform's.
-- +goose StatementBegin
DO $$
DECLARE
    target name := current_schema();
    own text[] := ARRAY['tenants', 'api_tokens', 'imports', 'import_files', 'import_blocks', 'import_errors',
        'deletion_audit', 'cleanup_policies', 'staged_ids', 'import_holds', 'run_holds', 'import_impacts',
        'import_events', 'webhook_endpoints', 'webhook_messages', 'webhook_deliveries', 'cleanup_runs',
        'unapproved_deletions'];
    funcs text[] := ARRAY['sweep_import_edge', 'sweep_check_import_edge', 'sweep_end_hold', 'sweep_actor',
        'sweep_import_event', 'sweep_hold_event', 'sweep_impact_event', 'sweep_webhook_emit',
        'sweep_import_webhook_type', 'sweep_import_webhook', 'sweep_approval_event_tokens'];
    r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND n.nspname <> target
          AND ((c.relkind IN ('r', 'p') AND c.relname = ANY (own)) OR (c.relkind = 'S' AND c.relname = 'imports_id_seq'))
          AND NOT EXISTS (SELECT 1 FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
              WHERE tn.nspname = target AND t.relname = c.relname)
        ORDER BY c.relkind DESC -- tables first: a sequence they own goes with them
    LOOP
        IF r.relkind = 'S' THEN
            -- Still in public only if no table of sweep's owns it.
            IF to_regclass(format('public.%I', r.relname)) IS NOT NULL THEN
                EXECUTE format('ALTER SEQUENCE public.%I SET SCHEMA %I', r.relname, target);
            END IF;
        ELSE
            EXECUTE format('ALTER TABLE public.%I SET SCHEMA %I', r.relname, target);
        END IF;
    END LOOP;

    FOR r IN
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND n.nspname <> target AND p.proname = ANY (funcs)
          AND NOT EXISTS (SELECT 1 FROM pg_proc t JOIN pg_namespace tn ON tn.oid = t.pronamespace
              WHERE tn.nspname = target AND t.proname = p.proname AND t.proargtypes = p.proargtypes)
    LOOP
        EXECUTE format('ALTER FUNCTION public.%I(%s) SET SCHEMA %I', r.proname, r.args, target);
    END LOOP;

    FOR r IN
        SELECT con.conname, fn.nspname AS from_schema, f.relname AS from_table
        FROM pg_constraint con
        JOIN pg_class f ON f.oid = con.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE con.contype = 'f' AND tn.nspname = target AND t.relname = ANY (own)
          AND NOT (fn.nspname = target AND f.relname = ANY (own))
    LOOP
        EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', r.from_schema, r.from_table, r.conname);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Left as they are: sweep's objects stay in their schema and the platform's
-- tables get no foreign key back. Rolling back further works on them there,
-- through the search_path; a build from before this migration would look for
-- them in public.
