-- +goose Up

-- The impact preview of a validated import (the root package's Impact), kept
-- with the import so whoever starts or approves it reads what was computed
-- when it validated. The figures that a rule may compare against a threshold
-- (customers, related rows, estimated seconds) are columns; the lists
-- (related rows by kind, skipped rows by reason, the sample of ids) and the
-- speed's basis are one jsonb document, read whole and never searched, so a
-- related table added to the schema needs no change here.
CREATE TABLE import_impacts (
    tenant_id bigint NOT NULL,
    import_id bigint NOT NULL,
    customers bigint NOT NULL CHECK (customers >= 0),
    related_rows bigint NOT NULL CHECK (related_rows >= 0),
    estimated_seconds bigint NOT NULL CHECK (estimated_seconds >= 0),
    figures jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, import_id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE import_impacts;
