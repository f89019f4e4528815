-- Customers whose key is not a whole number (a uuid, text): sweep numbers
-- each key it is given, per tenant, and its files, chunks and audit rows
-- hold the number. The erasure plan's statements turn the number back into
-- the key (plan.Options.KeyTable). A platform with whole-number keys never
-- writes a row here. The key is what the platform calls the customer, as
-- deletion_audit's customer_id is for whole numbers: an identifier, never a
-- name or an address.

-- +goose Up
CREATE TABLE subject_keys (
    tenant_id bigint NOT NULL,
    key text NOT NULL,
    n bigint GENERATED ALWAYS AS IDENTITY,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key),
    UNIQUE (tenant_id, n)
);

-- +goose Down
DROP TABLE subject_keys;
