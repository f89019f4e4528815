package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sweephq/sweep"
)

// EnsureTenant creates tenant id when it does not exist yet.
func (db *DB) EnsureTenant(ctx context.Context, id int64, name string) error {
	if id <= 0 {
		return sweep.Errorf(sweep.EINVALID, "tenant must be a positive instance id such as 5200243; found %d.", id)
	}
	_, err := db.db.ExecContext(ctx,
		`INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, name)
	if err != nil {
		return fmt.Errorf("ensure tenant %d: %w", id, err)
	}
	return nil
}

// Principal is who a request acts for: the tenant and scopes fixed by its token.
type Principal struct {
	TokenID  int64
	TenantID int64
	Name     string
	Scopes   []sweep.Scope
}

// CreateToken makes a new token for tenant with the given scopes and returns it.
// The token itself is returned once and never stored; only its hash is.
//
// Its name is how people tell who asked for and who approved a deletion,
// so it is required, free of characters that are not shown
// (sweep.CheckTokenName), and unique in the tenant among active tokens as
// sweep.SameTokenName compares names: a name taken is ECONFLICT naming the
// token that has it.
func (db *DB) CreateToken(ctx context.Context, tenant int64, name string, scopes []sweep.Scope) (token string, id int64, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		token, id, err = db.createToken(ctx, tx, tenant, name, scopes)
		return err
	})
	return token, id, err
}

// ReplaceToken is CreateToken that first revokes the tenant's active token
// of that name, if there is one, in the same transaction; it returns the id
// of the token it revoked (0: none).
//
// A name that reads as several active tokens' (stored before names were
// checked) revokes the oldest of them and is refused naming the next one.
func (db *DB) ReplaceToken(ctx context.Context, tenant int64, name string, scopes []sweep.Scope) (token string, id, revoked int64, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		clean, err := sweep.CheckTokenName(name)
		if err != nil {
			return err
		}
		if revoked, err = activeTokenNamed(ctx, tx, tenant, clean); err != nil {
			return err
		}
		if revoked != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1`, revoked); err != nil {
				return fmt.Errorf("revoke the token named %q: %w", clean, err)
			}
		}
		token, id, err = db.createToken(ctx, tx, tenant, name, scopes)
		return err
	})
	return token, id, revoked, err
}

func (db *DB) createToken(ctx context.Context, tx *sqlx.Tx, tenant int64, name string, scopes []sweep.Scope) (token string, id int64, err error) {
	if len(scopes) == 0 {
		return "", 0, sweep.Errorf(sweep.EINVALID, "a token needs at least one scope.")
	}
	name, err = sweep.CheckTokenName(name)
	if err != nil {
		return "", 0, err
	}
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	taken, err := activeTokenNamed(ctx, tx, tenant, name)
	if err != nil {
		return "", 0, err
	} else if taken != 0 {
		return "", 0, takenName(tenant, name, taken)
	}
	token = sweep.NewToken()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO api_tokens (tenant_id, token_hash, name, scopes)
		SELECT id, $2, $3, $4 FROM tenants WHERE id = $1
		RETURNING id`,
		tenant, sweep.HashToken(token), name, pq.Array(names)).Scan(&id)
	if isSQLState(err, sqlstateUniqueViolation) {
		// The index's lower() folded a letter that strings.EqualFold does not.
		return "", 0, takenName(tenant, name, 0)
	} else if err != nil {
		return "", 0, notFound(err, "tenant %d does not exist; create it first (sweep-dev seed --tenant %d creates it).", tenant, tenant)
	}
	return token, id, nil
}

// activeTokenNamed returns the oldest active token of tenant whose name
// reads as name (sweep.SameTokenName), 0 when there is none. It holds the
// tenant's token names until tx ends, so what it finds stays true: the
// unique index compares names only by letter case and surrounding spaces,
// and names stored before sweep.CheckTokenName may differ from a new one
// only by characters nobody sees.
func activeTokenNamed(ctx context.Context, tx *sqlx.Tx, tenant int64, name string) (int64, error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('token names:' || $1::text, 0))`, tenant); err != nil {
		return 0, fmt.Errorf("token names of tenant %d: %w", tenant, err)
	}
	var active []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := tx.SelectContext(ctx, &active, `SELECT id, name FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id`, tenant); err != nil {
		return 0, fmt.Errorf("token names of tenant %d: %w", tenant, err)
	}
	for _, t := range active {
		if sweep.SameTokenName(t.Name, name) {
			return t.ID, nil
		}
	}
	return 0, nil
}

// takenName refuses a token name that an active token of the tenant has
// (token id, 0 when unknown).
func takenName(tenant int64, name string, id int64) error {
	which, revoke := "an active token", "revoke that token first"
	if id != 0 {
		which = fmt.Sprintf("token %d", id)
		revoke = fmt.Sprintf("revoke token %d first (sweep token revoke --tenant %d --id %d)", id, tenant, id)
	}
	return sweep.Errorf(sweep.ECONFLICT, "Tenant %d already has an active token named %q (%s): two tokens of one name read as one person in the timeline and in approvals. Give this holder a name of their own, %s, or replace it (sweep token create --replace).",
		tenant, name, which, revoke)
}

// Authenticate returns the principal of a bearer token, and EUNAUTHORIZED when
// the token is unknown or revoked. It records when the token was last used, to
// the minute: writing on every request would cost a commit per request.
func (db *DB) Authenticate(ctx context.Context, token string) (Principal, error) {
	var (
		p        Principal
		scopes   []string
		lastUsed sql.NullTime
	)
	hash := sweep.HashToken(token)
	err := db.db.QueryRowContext(ctx, `
		SELECT id, tenant_id, name, scopes, last_used_at FROM api_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL`,
		hash).Scan(&p.TokenID, &p.TenantID, &p.Name, pq.Array(&scopes), &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, sweep.Errorf(sweep.EUNAUTHORIZED, "The token is unknown or revoked; ask an administrator for a new one (sweep token create).")
	} else if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if !lastUsed.Valid || time.Since(lastUsed.Time) > time.Minute {
		if _, err := db.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, p.TokenID); err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	for _, s := range scopes {
		p.Scopes = append(p.Scopes, sweep.Scope(s))
	}
	return p, nil
}

// RevokeToken revokes a token of tenant by its id.
func (db *DB) RevokeToken(ctx context.Context, tenant, id int64) error {
	res, err := db.db.ExecContext(ctx,
		`UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`, tenant, id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sweep.Errorf(sweep.ENOTFOUND, "tenant %d has no active token %d.", tenant, id)
	}
	return nil
}
