-- A delivery given up as failed can be sent again (POST
-- /v1/webhooks/{id}/deliveries/{delivery}/resend, or every failed one of an
-- endpoint since a time with .../recover): resent_at is when, and the time
-- a delivery may keep failing before it is given up again counts from it.

-- +goose Up
ALTER TABLE webhook_deliveries ADD COLUMN resent_at timestamptz;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN resent_at;
