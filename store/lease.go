package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// Lease is a named, exclusive lease held by one process across all replicas: a
// PostgreSQL session advisory lock on a dedicated connection. It ends when
// Release is called or when that connection dies, which Check notices.
type Lease struct {
	conn *sql.Conn
	name string
}

// TryLease takes the lease called name if no other session holds it. It returns
// nil, nil when another process holds it.
func (db *DB) TryLease(ctx context.Context, name string) (*Lease, error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, nil
	}
	return &Lease{conn: conn, name: name}, nil
}

// Check returns an error when the lease may have been lost (its connection no
// longer answers); the holder must then stop acting as leader.
func (l *Lease) Check(ctx context.Context) error {
	if err := l.conn.PingContext(ctx); err != nil {
		return fmt.Errorf("lease %s lost: %w", l.name, err)
	}
	return nil
}

// Release gives the lease up.
func (l *Lease) Release() {
	// Closing the connection ends the session, and with it the advisory lock,
	// whatever state the connection was in.
	l.conn.Raw(func(any) error { return driver.ErrBadConn })
	l.conn.Close()
}
