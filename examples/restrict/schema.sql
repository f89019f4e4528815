-- A lending platform as real ones are: foreign keys that RESTRICT (none
-- cascades), children of children, a partitioned child, records the law
-- keeps for years, a reference no foreign key declares, an address the
-- customer owns, and customers who referred other customers.
CREATE TABLE IF NOT EXISTS public.addresses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    line1 text NOT NULL,
    city text NOT NULL
);
CREATE TABLE IF NOT EXISTS public.clients (
    tenant_id bigint NOT NULL,
    id bigint NOT NULL,
    name text NOT NULL,
    email text,
    national_id text,
    referred_by bigint,
    address_id bigint REFERENCES public.addresses (id) ON DELETE RESTRICT,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, referred_by) REFERENCES public.clients (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS clients_referred_by_idx ON public.clients (tenant_id, referred_by);
CREATE INDEX IF NOT EXISTS clients_address_idx ON public.clients (address_id);
-- Children and a grandchild, all RESTRICT.
CREATE TABLE IF NOT EXISTS public.client_contacts (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    client_id bigint NOT NULL,
    phone text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS client_contacts_client_idx ON public.client_contacts (tenant_id, client_id);
CREATE TABLE IF NOT EXISTS public.contact_consents (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    contact_id bigint NOT NULL,
    given_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES public.client_contacts (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS contact_consents_contact_idx ON public.contact_consents (tenant_id, contact_id);
-- A partitioned child: the platform's event log, by month.
CREATE TABLE IF NOT EXISTS public.client_events (
    tenant_id bigint NOT NULL,
    client_id bigint NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE RESTRICT
) PARTITION BY RANGE (at);
CREATE TABLE IF NOT EXISTS public.client_events_2026 PARTITION OF public.client_events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE IF NOT EXISTS public.client_events_later PARTITION OF public.client_events FOR VALUES FROM ('2027-01-01') TO (MAXVALUE);
CREATE INDEX IF NOT EXISTS client_events_client_idx ON public.client_events (tenant_id, client_id);
-- Loans: an open one refuses the erasure; a closed one's link goes.
CREATE TABLE IF NOT EXISTS public.credits (
    tenant_id bigint NOT NULL,
    id bigint NOT NULL,
    status text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS public.credit_holders (
    tenant_id bigint NOT NULL,
    credit_id bigint NOT NULL,
    client_id bigint NOT NULL,
    PRIMARY KEY (tenant_id, credit_id, client_id),
    FOREIGN KEY (tenant_id, credit_id) REFERENCES public.credits (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS credit_holders_client_idx ON public.credit_holders (tenant_id, client_id);
-- Payments are kept seven years, their personal columns anonymized; older
-- ones go.
CREATE TABLE IF NOT EXISTS public.payments (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    client_id bigint,
    payer_name text,
    iban text,
    amount_cents bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS payments_client_idx ON public.payments (tenant_id, client_id);
-- The ledger is immutable and holds no personal data: its link is nulled.
CREATE TABLE IF NOT EXISTS public.ledger_entries (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    client_id bigint,
    amount_cents bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES public.clients (tenant_id, id) ON DELETE SET NULL (client_id)
);
CREATE INDEX IF NOT EXISTS ledger_entries_client_idx ON public.ledger_entries (tenant_id, client_id);
-- Documents name their owner by entity_type and entity_id, with no key.
CREATE TABLE IF NOT EXISTS public.documents (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    entity_type text NOT NULL,
    entity_id bigint NOT NULL,
    title text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS documents_entity_idx ON public.documents (tenant_id, entity_id);
