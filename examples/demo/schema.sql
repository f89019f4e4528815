-- The demo platform: a lending platform's customers, the eleven kinds of
-- record that belong to a customer and go with it (ON DELETE CASCADE), and the
-- loans whose link keeps a customer from being deleted. sweep's migrations make
-- none of this: a real platform has its own tables, and sweep keeps its own in
-- its own schema. `sweep-dev seed` and the tests make these when missing; every
-- statement may run again on a database that has them.

CREATE TABLE IF NOT EXISTS public.customers (
    tenant_id bigint NOT NULL,
    id bigint NOT NULL CHECK (id > 0),
    first_name text NOT NULL,
    last_name text NOT NULL,
    birth_date date,
    national_id text,
    status text NOT NULL DEFAULT 'active',
    source text NOT NULL DEFAULT '',
    created_by_import_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    erasure_requested_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- For the cleanup policies' menu: inactivity, origin and erasure requests.
CREATE INDEX IF NOT EXISTS customers_activity_idx ON public.customers (tenant_id, last_activity_at);
CREATE INDEX IF NOT EXISTS customers_erasure_idx ON public.customers (tenant_id) WHERE erasure_requested_at IS NOT NULL;
-- The candidates of a created_by policy naming an import.
CREATE INDEX IF NOT EXISTS customers_created_by_import_idx ON public.customers (tenant_id, created_by_import_id) WHERE created_by_import_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS public.customer_addresses (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    kind text NOT NULL,
    line1 text NOT NULL,
    line2 text NOT NULL DEFAULT '',
    city text NOT NULL,
    region text NOT NULL,
    postal_code text NOT NULL,
    country text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_addresses_customer_idx ON public.customer_addresses (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_phones (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    kind text NOT NULL,
    number text NOT NULL,
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_phones_customer_idx ON public.customer_phones (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_emails (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    address text NOT NULL,
    verified boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_emails_customer_idx ON public.customer_emails (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_employers (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    name text NOT NULL,
    position text NOT NULL,
    monthly_income_cents bigint NOT NULL,
    started_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_employers_customer_idx ON public.customer_employers (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_references (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    name text NOT NULL,
    relationship text NOT NULL,
    phone text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_references_customer_idx ON public.customer_references (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_payment_accounts (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    bank_name text NOT NULL,
    account_last4 text NOT NULL,
    routing_number text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_payment_accounts_customer_idx ON public.customer_payment_accounts (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_notes (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    author text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_notes_customer_idx ON public.customer_notes (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_documents (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    kind text NOT NULL,
    file_name text NOT NULL,
    size_bytes bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_documents_customer_idx ON public.customer_documents (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_custom_field_values (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    field text NOT NULL,
    value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_custom_field_values_customer_idx ON public.customer_custom_field_values (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_credit_scores (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    bureau text NOT NULL,
    score integer NOT NULL,
    pulled_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_credit_scores_customer_idx ON public.customer_credit_scores (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.customer_social_profiles (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL,
    network text NOT NULL,
    handle text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS customer_social_profiles_customer_idx ON public.customer_social_profiles (tenant_id, customer_id);

CREATE TABLE IF NOT EXISTS public.loans (
    tenant_id bigint NOT NULL,
    id bigint NOT NULL CHECK (id > 0),
    principal_cents bigint NOT NULL,
    status text NOT NULL DEFAULT 'open',
    opened_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- The link that blocks a delete: a customer referenced here is never deleted. The
-- foreign key has no CASCADE on purpose, so even a mistaken DELETE fails (23503)
-- instead of silently detaching a loan.
CREATE TABLE IF NOT EXISTS public.loan_customers (
    tenant_id bigint NOT NULL,
    loan_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    role text NOT NULL DEFAULT 'borrower',
    PRIMARY KEY (tenant_id, loan_id, customer_id),
    FOREIGN KEY (tenant_id, loan_id) REFERENCES public.loans (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES public.customers (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS loan_customers_customer_idx ON public.loan_customers (tenant_id, customer_id);
