-- +goose Up

-- Webhook endpoints of a tenant. The signing secret must be readable to sign
-- with, so it is stored as is (unlike API tokens, which are only compared);
-- the API shows it once, when it is made.
CREATE TABLE webhook_endpoints (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    url text NOT NULL CHECK (url <> ''),
    description text NOT NULL DEFAULT '',
    events text[] NOT NULL DEFAULT '{}', -- empty: every event
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    disabled_at timestamptz,
    failing_since timestamptz,
    last_success_at timestamptz,
    secret text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    previous_secret text,
    previous_secret_expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- One event to send: written in the same transaction as what it tells, so a
-- crash loses both or neither. snapshot is the import's row as the event left
-- it (the body shows the import as it was then), or the event's own data.
-- body is the JSON as first sent, so every attempt sends the same bytes.
CREATE TABLE webhook_messages (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    message_id text NOT NULL UNIQUE DEFAULT 'msg_' || replace(gen_random_uuid()::text, '-', ''),
    type text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    import_id bigint,
    customer_id bigint,
    snapshot jsonb NOT NULL DEFAULT '{}',
    body text,
    PRIMARY KEY (tenant_id, id)
);

-- A message on its way to one endpoint: the delivery log. A dispatcher that
-- enqueued an attempt holds dispatched_until (a task lost from Redis is
-- dispatched again after it, under a new dispatch number); the attempt in
-- flight holds lease_until (one whose worker vanished is taken again after it).
CREATE TABLE webhook_deliveries (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    endpoint_id bigint NOT NULL,
    message_id bigint NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    dispatches integer NOT NULL DEFAULT 0,
    dispatched_until timestamptz,
    lease_until timestamptz,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, endpoint_id, message_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, message_id) REFERENCES webhook_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (tenant_id, endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (tenant_id, message_id);

-- sweep_webhook_emit records an event of a tenant for every enabled endpoint
-- that subscribes to it (only endpoint only_to when given, whatever it
-- subscribes to: a test send). Nothing is written when no endpoint wants it.
-- +goose StatementBegin
CREATE FUNCTION sweep_webhook_emit(p_tenant bigint, p_type text, p_import bigint, p_customer bigint,
    p_snapshot jsonb, only_to bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    msg bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = p_tenant AND e.enabled
            AND (e.id = only_to OR (only_to IS NULL AND (e.events = '{}' OR p_type = ANY (e.events))))) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_messages (tenant_id, type, import_id, customer_id, snapshot)
    VALUES (p_tenant, p_type, p_import, p_customer, coalesce(p_snapshot, '{}'))
    RETURNING id INTO msg;
    INSERT INTO webhook_deliveries (tenant_id, endpoint_id, message_id)
    SELECT p_tenant, e.id, msg FROM webhook_endpoints e
    WHERE e.tenant_id = p_tenant AND e.enabled
        AND (e.id = only_to OR (only_to IS NULL AND (e.events = '{}' OR p_type = ANY (e.events))));
    RETURN msg;
END
$$;
-- +goose StatementEnd

-- The event an import entering a status sends (the root package's
-- ImportEventType holds the same table; a test checks they agree).
-- +goose StatementBegin
CREATE FUNCTION sweep_import_webhook_type(status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'validated' THEN 'import.validated'
        WHEN 'rejected' THEN 'import.rejected'
        WHEN 'awaiting_approval' THEN 'import.awaiting_approval'
        WHEN 'completed' THEN 'import.completed'
        WHEN 'completed_with_errors' THEN 'import.completed'
        WHEN 'failed' THEN 'import.failed'
        WHEN 'cancelled' THEN 'import.cancelled'
    END
$$;
-- +goose StatementEnd

-- Import events are recorded by the status change's own transaction.
-- +goose StatementBegin
CREATE FUNCTION sweep_import_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t text := sweep_import_webhook_type(NEW.status);
BEGIN
    IF t IS NOT NULL THEN
        PERFORM sweep_webhook_emit(NEW.tenant_id, t, NEW.id, NULL, to_jsonb(NEW));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER imports_webhook_update AFTER UPDATE OF status ON imports
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION sweep_import_webhook();
CREATE TRIGGER imports_webhook_insert AFTER INSERT ON imports
    FOR EACH ROW WHEN (NEW.status <> 'uploaded') EXECUTE FUNCTION sweep_import_webhook();

-- +goose Down
DROP TRIGGER imports_webhook_insert ON imports;
DROP TRIGGER imports_webhook_update ON imports;
DROP FUNCTION sweep_import_webhook();
DROP FUNCTION sweep_import_webhook_type(text);
DROP FUNCTION sweep_webhook_emit(bigint, text, bigint, bigint, jsonb, bigint);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_messages;
DROP TABLE webhook_endpoints;
