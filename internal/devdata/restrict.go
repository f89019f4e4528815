package devdata

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
	"github.com/sweephq/sweep/plan"
)

// SeedRestrict fills examples/restrict (whose tables must exist) with n
// clients of tenant, numbered 1 to n, each with rows in every table: two
// contacts with their consents, an event, a credit link on every third, a
// payment (every other one older than seven years), a ledger entry, a
// document and an own address; every fifth client was referred by the one
// before.
func SeedRestrict(ctx context.Context, db *sql.DB, tenant, n int) error {
	tn, ns := strconv.Itoa(tenant), strconv.Itoa(n)
	for _, q := range []string{
		`INSERT INTO public.addresses (line1, city) SELECT 'line', 'city' FROM generate_series(1, ` + ns + `)`,
		`INSERT INTO public.clients (tenant_id, id, name, email, national_id, address_id)
			SELECT ` + tn + `, g, 'name', 'e', 'N', (SELECT max(id) FROM public.addresses) - ` + ns + ` + g FROM generate_series(1, ` + ns + `) g`,
		`UPDATE public.clients SET referred_by = id - 1 WHERE tenant_id = ` + tn + ` AND id % 5 = 0`,
		`INSERT INTO public.client_contacts (tenant_id, client_id, phone) SELECT ` + tn + `, g, 'p' FROM generate_series(1, ` + ns + `) g, generate_series(1, 2)`,
		`INSERT INTO public.contact_consents (tenant_id, contact_id) SELECT tenant_id, id FROM public.client_contacts WHERE tenant_id = ` + tn,
		`INSERT INTO public.client_events SELECT ` + tn + `, g, '2026-06-01'::timestamptz + (g % 2) * interval '1 year', 'login' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.credits VALUES (` + tn + `, 2, 'closed') ON CONFLICT DO NOTHING`,
		`INSERT INTO public.credit_holders SELECT ` + tn + `, 2, g FROM generate_series(3, ` + ns + `, 3) g`,
		`INSERT INTO public.payments (tenant_id, client_id, payer_name, iban, amount_cents, created_at)
			SELECT ` + tn + `, g, 'payer', 'DE', 1, now() - (g % 2) * interval '8 years' FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.ledger_entries (tenant_id, client_id, amount_cents) SELECT ` + tn + `, g, 1 FROM generate_series(1, ` + ns + `) g`,
		`INSERT INTO public.documents (tenant_id, entity_type, entity_id, title) SELECT ` + tn + `, 'client', g, 't' FROM generate_series(1, ` + ns + `) g`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed examples/restrict: %w", err)
		}
	}
	return nil
}

// RestrictByHand erases one chunk of examples/restrict's clients as an
// engineer would by hand, set-based, children first, doing what its plan
// does: the block's look, the payments' keyed hash (HMAC-SHA-256 with
// hashKey), the owned addresses. It is the reference the plan's run is held
// to, in the same transaction shape (one per chunk).
func RestrictByHand(ctx context.Context, tx *sql.Tx, tenant int, ids []int64, hashKey []byte) error {
	inner, outer := plan.HMACPads(hashKey)
	exec := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	if err := exec(`SELECT DISTINCT client_id FROM public.credit_holders h WHERE tenant_id = $1 AND client_id = ANY($2)
		AND EXISTS (SELECT 1 FROM public.credits c WHERE c.tenant_id = h.tenant_id AND c.id = h.credit_id AND c.status = 'open')`, tenant, pq.Array(ids)); err != nil {
		return err
	}
	var owned sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT array_agg(DISTINCT address_id)::text FROM public.clients WHERE tenant_id = $1 AND id = ANY($2)`, tenant, pq.Array(ids)).Scan(&owned); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM public.contact_consents cc USING public.client_contacts c WHERE cc.tenant_id = c.tenant_id AND cc.contact_id = c.id AND c.tenant_id = $1 AND c.client_id = ANY($2)`,
		`DELETE FROM public.client_contacts WHERE tenant_id = $1 AND client_id = ANY($2)`,
		`DELETE FROM public.client_events WHERE tenant_id = $1 AND client_id = ANY($2)`,
		`DELETE FROM public.credit_holders WHERE tenant_id = $1 AND client_id = ANY($2)`,
		`DELETE FROM public.payments WHERE tenant_id = $1 AND client_id = ANY($2) AND created_at <= now() - interval '7 years'`,
		`DELETE FROM public.documents WHERE tenant_id = $1 AND entity_id = ANY($2) AND entity_type = 'client'`,
		`UPDATE public.clients SET referred_by = NULL WHERE tenant_id = $1 AND referred_by = ANY($2)`,
	} {
		if err := exec(q, tenant, pq.Array(ids)); err != nil {
			return err
		}
	}
	if err := exec(`UPDATE public.payments SET payer_name = NULL, iban = encode(sha256($3 || sha256($4 || convert_to(iban, 'UTF8'))), 'hex'), client_id = NULL
		WHERE tenant_id = $1 AND client_id = ANY($2) AND created_at > now() - interval '7 years'`, tenant, pq.Array(ids), outer, inner); err != nil {
		return err
	}
	if err := exec(`DELETE FROM public.clients WHERE tenant_id = $1 AND id = ANY($2)`, tenant, pq.Array(ids)); err != nil {
		return err
	}
	return exec(`DELETE FROM public.addresses a WHERE a.id = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM public.clients c WHERE c.address_id = a.id)`, owned)
}

// EraseInChunks erases clients 1 to n of tenant in chunks of size, each
// chunk its own transaction through chunk, and returns customers per
// second.
func EraseInChunks(ctx context.Context, db *sql.DB, tenant, n, size int, chunk func(tx *sql.Tx, ids []int64) error) (float64, error) {
	start := time.Now()
	for lo := 1; lo <= n; lo += size {
		ids := make([]int64, 0, size)
		for id := lo; id < lo+size && id <= n; id++ {
			ids = append(ids, int64(id))
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		if err := chunk(tx, ids); err != nil {
			tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
