-- A platform that names its customers by a text code ("CUST-000042")
-- under the tenant, with a reference no foreign key declares: notes name
-- their subject by kind and code.
CREATE TABLE IF NOT EXISTS public.subscribers (
    tenant_id bigint NOT NULL,
    code varchar(40) NOT NULL,
    display_name text NOT NULL,
    phone text,
    PRIMARY KEY (tenant_id, code)
);
CREATE TABLE IF NOT EXISTS public.subscriptions (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    subscriber_code varchar(40) NOT NULL,
    plan_name text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subscriber_code) REFERENCES public.subscribers (tenant_id, code)
);
CREATE INDEX IF NOT EXISTS subscriptions_subscriber_idx ON public.subscriptions (tenant_id, subscriber_code);
CREATE TABLE IF NOT EXISTS public.invoices (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    subscriber_code varchar(40),
    billed_name text,
    amount_cents bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subscriber_code) REFERENCES public.subscribers (tenant_id, code)
);
CREATE INDEX IF NOT EXISTS invoices_subscriber_idx ON public.invoices (tenant_id, subscriber_code);
CREATE TABLE IF NOT EXISTS public.notes (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    subject_kind text NOT NULL,
    subject_code text NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS notes_subject_idx ON public.notes (tenant_id, subject_code);
