package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
// so it is required and unique in the tenant among active tokens, ignoring
// letter case and surrounding spaces: a name taken is ECONFLICT naming the
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
func (db *DB) ReplaceToken(ctx context.Context, tenant int64, name string, scopes []sweep.Scope) (token string, id, revoked int64, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = now()
			WHERE tenant_id = $1 AND lower(btrim(name)) = lower(btrim($2)) AND revoked_at IS NULL RETURNING id`, tenant, name).Scan(&revoked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revoke the token named %q: %w", name, err)
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
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || sweep.HasControl(name) {
		return "", 0, sweep.Errorf(sweep.EINVALID, "a token needs a name of at most 100 characters, without control characters, that people know its holder by, such as \"risk lead\": the timeline and every approval show it.")
	}
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	// The unique index decides; this only names the token in the way, and
	// keeps the transaction usable for the answer.
	var taken int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM api_tokens WHERE tenant_id = $1 AND lower(btrim(name)) = lower($2) AND revoked_at IS NULL`,
		tenant, name).Scan(&taken)
	if err == nil {
		return "", 0, takenName(tenant, name, taken)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return "", 0, fmt.Errorf("token names of tenant %d: %w", tenant, err)
	}
	token = sweep.NewToken()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO api_tokens (tenant_id, token_hash, name, scopes)
		SELECT id, $2, $3, $4 FROM tenants WHERE id = $1
		RETURNING id`,
		tenant, sweep.HashToken(token), name, pq.Array(names)).Scan(&id)
	if isSQLState(err, sqlstateUniqueViolation) {
		// Another token of that name was made meanwhile.
		return "", 0, takenName(tenant, name, 0)
	} else if err != nil {
		return "", 0, notFound(err, "tenant %d does not exist; create it first (sweep seed --tenant %d creates it).", tenant, tenant)
	}
	return token, id, nil
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
