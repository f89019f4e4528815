-- sweep's own tables. Every tenant-owned table has tenant_id first in its
-- primary key and in its foreign keys, and every query filters by tenant.
--
-- Installs before 00016 also got the demo platform's tables (customers, its
-- eleven customer_* tables, loans, loan_customers) from here and 00002; they
-- are examples/demo/schema.sql now, and those installs keep theirs in public.

-- +goose Up
CREATE TABLE tenants (
    id bigint PRIMARY KEY CHECK (id > 0),
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    name text NOT NULL DEFAULT '',
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id);

CREATE SEQUENCE imports_id_seq;

-- The import history. Ids come from one sequence, so an id is unique across
-- tenants and can name asynq tasks; every lookup still filters by tenant.
CREATE TABLE imports (
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    id bigint NOT NULL DEFAULT nextval('imports_id_seq'),
    source text NOT NULL CHECK (source IN ('upload', 'api', 'upstream', 'schedule')),
    status text NOT NULL DEFAULT 'uploaded' CHECK (status IN (
        'uploaded', 'validating', 'validated', 'queued', 'running', 'completed',
        'completed_with_errors', 'rejected', 'cancelled', 'failed')),
    policy text NOT NULL DEFAULT 'line' CHECK (policy IN ('line', 'file')),
    file_name text NOT NULL DEFAULT '',
    file_size bigint NOT NULL DEFAULT 0,
    file_sha256 text NOT NULL DEFAULT '',
    auto_start boolean NOT NULL DEFAULT false,
    run_at timestamptz,
    parallelism integer NOT NULL DEFAULT 1 CHECK (parallelism BETWEEN 1 AND 64),
    total_rows bigint NOT NULL DEFAULT 0,
    valid_rows bigint NOT NULL DEFAULT 0,
    error_rows bigint NOT NULL DEFAULT 0,
    processed_rows bigint NOT NULL DEFAULT 0,
    deleted_rows bigint NOT NULL DEFAULT 0,
    skipped_rows bigint NOT NULL DEFAULT 0,
    cursor_customer_id bigint NOT NULL DEFAULT 0,
    rows_per_second double precision NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    task_id text NOT NULL DEFAULT '',
    validations integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    error text NOT NULL DEFAULT '',
    idempotency_key text,
    created_by text NOT NULL DEFAULT '',
    cleanup_policy_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    validated_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
ALTER SEQUENCE imports_id_seq OWNED BY imports.id;
CREATE UNIQUE INDEX imports_id_idx ON imports (id);
CREATE INDEX imports_history_idx ON imports (tenant_id, created_at DESC);
-- The reconciler's scan: imports a worker should be holding.
CREATE INDEX imports_active_idx ON imports (status) WHERE status IN ('validating', 'queued', 'running');

-- The uploaded file in chunks of about 1 MiB, so neither upload nor validation
-- holds a whole file in memory.
CREATE TABLE import_files (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (tenant_id, import_id, seq),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
-- Stored as it comes, uncompressed: compressing a megabyte of CSV costs more
-- time than the space is worth while an operator waits for the upload.
ALTER TABLE import_files ALTER COLUMN data SET STORAGE EXTERNAL;

-- Staging: the valid rows of an import in blocks, sorted by customer id, one
-- block per deletion transaction (SWEEP_CHUNK_SIZE ids when validated). A
-- row per customer would cost a million index insertions per million rows; a
-- block is one. outcomes is filled, in the same order, when the block runs.
CREATE TABLE import_blocks (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    block integer NOT NULL,
    customer_ids bigint[] NOT NULL,
    lines bigint[] NOT NULL,
    outcomes text[],
    processed_at timestamptz,
    PRIMARY KEY (tenant_id, import_id, block),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE,
    CHECK (cardinality(customer_ids) = cardinality(lines))
);
-- The run takes the next block not yet processed; this index shrinks as it goes.
CREATE INDEX import_blocks_pending_idx ON import_blocks (tenant_id, import_id, block) WHERE processed_at IS NULL;
-- A block's arrays are kilobytes of numbers that compress poorly; trying costs
-- more than it saves.
ALTER TABLE import_blocks ALTER COLUMN customer_ids SET STORAGE EXTERNAL;
ALTER TABLE import_blocks ALTER COLUMN lines SET STORAGE EXTERNAL;

-- Row errors. No foreign key to imports: a hostile file can have millions of
-- errors, and a per-row trigger would dominate validation. DeleteImport
-- removes them explicitly.
CREATE TABLE import_errors (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    line bigint NOT NULL,
    code text NOT NULL CHECK (code IN ('format', 'duplicate', 'not_found', 'linked_to_loan')),
    column_name text NOT NULL DEFAULT '',
    value text NOT NULL DEFAULT '',
    message text NOT NULL,
    PRIMARY KEY (tenant_id, import_id, line)
);

-- One row per deleted customer. It holds ids and counts only, never a name,
-- address or other personal field, and it outlives the import record and even
-- the tenant (no foreign keys: they would also cost a check per row).
CREATE TABLE deletion_audit (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    import_id bigint,
    api_token_id bigint,
    source text NOT NULL,
    related_rows jsonb NOT NULL DEFAULT '{}',
    deleted_at timestamptz NOT NULL DEFAULT now(),
    -- Keyed by customer: "was customer X deleted, when, by what?" is the
    -- question compliance asks.
    PRIMARY KEY (tenant_id, customer_id, id)
);
-- Audit rows arrive in import order, so a BRIN index finds an import's rows at
-- almost no cost per insert; a B-tree here would slow every deletion chunk.
CREATE INDEX deletion_audit_import_idx ON deletion_audit USING brin (import_id);

-- Recurring cleanup from a fixed menu of kinds; never free-form SQL.
CREATE TABLE cleanup_policies (
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('inactive', 'created_by', 'erasure_requested')),
    params jsonb NOT NULL DEFAULT '{}',
    cron_spec text NOT NULL,
    max_batch integer NOT NULL DEFAULT 10000 CHECK (max_batch > 0),
    enabled boolean NOT NULL DEFAULT true,
    dry_run boolean NOT NULL DEFAULT false,
    last_run_at timestamptz,
    next_run_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX cleanup_policies_due_idx ON cleanup_policies (next_run_at) WHERE enabled;

-- +goose Down
DROP TABLE cleanup_policies;
DROP TABLE deletion_audit;
DROP TABLE import_errors;
DROP TABLE import_blocks;
DROP TABLE import_files;
DROP TABLE imports;
DROP TABLE api_tokens;
DROP TABLE tenants;
