package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sweephq/sweep"
)

type actorKey struct{}

// WithActor names who acts in ctx: the token's name of an API request. The
// import's timeline records the steps taken under ctx as theirs; steps
// without a name are sweep's own (its workers and scheduler).
func WithActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

func actorOf(ctx context.Context) string {
	name, _ := ctx.Value(actorKey{}).(string)
	return name
}

// acting runs fn with q, in a transaction whose sweep.actor setting names
// ctx's actor when there is one: the timeline's triggers read it. Without an
// actor, q is used as it is.
func (db *DB) acting(ctx context.Context, q sqlx.QueryerContext, fn func(q sqlx.QueryerContext) error) error {
	name := actorOf(ctx)
	if name == "" {
		return fn(q)
	}
	set := func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT set_config('sweep.actor', $1, true)`, name); err != nil {
			return fmt.Errorf("name who acts: %w", err)
		}
		return fn(tx)
	}
	if tx, ok := q.(*sqlx.Tx); ok {
		return set(tx)
	}
	return db.withTx(ctx, set)
}

// ImportEvents returns the import's timeline, oldest first.
func (db *DB) ImportEvents(ctx context.Context, tenant, id int64) ([]sweep.Event, error) {
	if _, err := db.GetImport(ctx, tenant, id); err != nil {
		return nil, err
	}
	var rows []struct {
		At     time.Time `db:"at"`
		Kind   string    `db:"kind"`
		Actor  string    `db:"actor"`
		Detail []byte    `db:"detail"`
	}
	if err := db.db.SelectContext(ctx, &rows, `SELECT at, kind, actor, detail FROM import_events
		WHERE tenant_id = $1 AND import_id = $2 ORDER BY id`, tenant, id); err != nil {
		return nil, fmt.Errorf("events of import %d: %w", id, err)
	}
	out := make([]sweep.Event, len(rows))
	for i, r := range rows {
		out[i] = sweep.Event{At: r.At, Kind: r.Kind, Actor: r.Actor}
		if err := json.Unmarshal(r.Detail, &out[i].Detail); err != nil {
			return nil, fmt.Errorf("event %d of import %d: %w", i, id, err)
		}
	}
	return out, nil
}
