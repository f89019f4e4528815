-- Imports follow the erasure plan: the hash of the plan an import was
-- validated under (a run under another plan is refused), and the rows its
-- run touched, by "schema.table action".

-- +goose Up
ALTER TABLE imports
    ADD COLUMN plan_hash text NOT NULL DEFAULT '',
    ADD COLUMN erased_rows jsonb NOT NULL DEFAULT '{}';

-- +goose StatementBegin
CREATE FUNCTION sweep_add_counts(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(k, coalesce((a ->> k)::bigint, 0) + coalesce((b ->> k)::bigint, 0)), '{}'::jsonb)
    FROM (SELECT jsonb_object_keys(a) UNION SELECT jsonb_object_keys(b)) AS ks (k)
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sweep_add_counts(jsonb, jsonb);
ALTER TABLE imports DROP COLUMN erased_rows, DROP COLUMN plan_hash;
