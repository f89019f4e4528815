-- A platform that names its customers by uuid, as many newer ones do: the
-- key and every link to it are uuids, under the tenant. Devices are
-- children (RESTRICT), their push tokens grandchildren; an open account
-- keeps its holder; consents are kept with the person's link nulled; a
-- person may have invited another.
CREATE TABLE IF NOT EXISTS public.people (
    tenant_id bigint NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    full_name text NOT NULL,
    email text,
    invited_by uuid,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invited_by) REFERENCES public.people (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS people_invited_by_idx ON public.people (tenant_id, invited_by);
CREATE TABLE IF NOT EXISTS public.person_devices (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    person_id uuid NOT NULL,
    model text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES public.people (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS person_devices_person_idx ON public.person_devices (tenant_id, person_id);
CREATE TABLE IF NOT EXISTS public.push_tokens (
    tenant_id bigint NOT NULL,
    device_id bigint NOT NULL,
    token text NOT NULL,
    PRIMARY KEY (tenant_id, device_id, token),
    FOREIGN KEY (tenant_id, device_id) REFERENCES public.person_devices (tenant_id, id) ON DELETE RESTRICT
);
CREATE TABLE IF NOT EXISTS public.accounts (
    tenant_id bigint NOT NULL,
    id bigint NOT NULL,
    status text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS public.account_holders (
    tenant_id bigint NOT NULL,
    account_id bigint NOT NULL,
    person_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, account_id, person_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES public.accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES public.people (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS account_holders_person_idx ON public.account_holders (tenant_id, person_id);
-- Consents are evidence the platform keeps; the person's link is nulled.
CREATE TABLE IF NOT EXISTS public.consents (
    tenant_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    person_id uuid,
    purpose text NOT NULL,
    given_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES public.people (tenant_id, id) ON DELETE SET NULL (person_id)
);
CREATE INDEX IF NOT EXISTS consents_person_idx ON public.consents (tenant_id, person_id);
