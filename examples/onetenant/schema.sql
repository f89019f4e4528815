-- One database per tenant: no table has a tenant column.
CREATE TABLE IF NOT EXISTS public.members (
    member_no integer PRIMARY KEY,
    full_name text NOT NULL,
    phone text
);
CREATE TABLE IF NOT EXISTS public.member_cards (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_no integer NOT NULL REFERENCES public.members (member_no),
    pan_last4 text NOT NULL
);
CREATE INDEX IF NOT EXISTS member_cards_member_idx ON public.member_cards (member_no);
CREATE TABLE IF NOT EXISTS public.card_transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id bigint NOT NULL REFERENCES public.member_cards (id),
    amount_cents bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS card_transactions_card_idx ON public.card_transactions (card_id);
