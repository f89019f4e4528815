package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ApplicationName is the application_name of sweep's database sessions
// (SessionURL sets it), by which the load signal leaves them out.
const ApplicationName = "sweep"

// StandbyLag is one streaming replica as the primary sees it in
// pg_stat_replication.
type StandbyLag struct {
	Name      string         // application_name and address, to tell replicas apart
	ReplayLag *time.Duration // the server's own measure; nil when it has none (an idle primary)
	Bytes     int64          // WAL written on the primary that the replica has not replayed
	ReplayLSN string
}

// StandbyLags reads the replicas streaming from this database's server.
func (db *DB) StandbyLags(ctx context.Context) ([]StandbyLag, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT application_name || coalesce('@' || host(client_addr), ''),
			extract(epoch FROM replay_lag)::float8,
			coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
			coalesce(replay_lsn::text, '')
		FROM pg_stat_replication`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_replication: %w", err)
	}
	defer rows.Close()
	var out []StandbyLag
	for rows.Next() {
		var (
			s   StandbyLag
			lag sql.NullFloat64
		)
		if err := rows.Scan(&s.Name, &lag, &s.Bytes, &s.ReplayLSN); err != nil {
			return nil, err
		}
		if lag.Valid {
			d := time.Duration(lag.Float64 * float64(time.Second))
			s.ReplayLag = &d
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReplicaLag reads, on a replica, how far its replay is behind: 0 when it has
// replayed all it received, else the age of the last transaction it replayed.
func ReplicaLag(ctx context.Context, replica *sql.DB) (time.Duration, error) {
	var secs float64
	err := replica.QueryRowContext(ctx, `
		SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
			WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
			ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8`).Scan(&secs)
	return time.Duration(secs * float64(time.Second)), err
}

// ActiveBackends counts the sessions of the platform busy in this database
// now: client sessions running a statement, sweep's own left out.
func (db *DB) ActiveBackends(ctx context.Context) (int, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend' AND state = 'active'
		  AND pid <> pg_backend_pid() AND application_name NOT LIKE $1 || '%'`, ApplicationName).Scan(&n)
	return n, err
}

// ThrottleQuery runs the operator's throttle query, which must return one
// number: above 0 holds the runs.
func (db *DB) ThrottleQuery(ctx context.Context, query string) (float64, error) {
	var v sql.NullFloat64
	if err := db.db.QueryRowContext(ctx, query).Scan(&v); err != nil {
		return 0, err
	}
	return v.Float64, nil
}
