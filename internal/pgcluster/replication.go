package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReplayPaused is WaitCaughtUp's error while the replica's replay is
// paused: it would never catch up.
var ErrReplayPaused = errors.New("pgcluster: the replica's replay is paused")

// PauseReplay stops the replica applying WAL, as a replica too busy to keep up
// would: it still receives and stores the primary's WAL, and answers queries
// on the data as it was. It returns once replay has stopped.
func (c *Cluster) PauseReplay(ctx context.Context) error {
	if _, err := c.replicaD.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		return fmt.Errorf("pgcluster: pause replay: %w", err)
	}
	// Since PostgreSQL 14 the call only requests the pause; the startup
	// process honours it at its next record or wait for WAL.
	var version int
	if err := c.replicaD.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("pgcluster: pause replay: %w", err)
	}
	if version < 140000 {
		return nil
	}
	err := poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		var state string
		err := c.replicaD.QueryRowContext(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state)
		return state == "paused", err
	})
	if err != nil {
		return fmt.Errorf("pgcluster: wait for replay to pause: %w", err)
	}
	return nil
}

// ResumeReplay lets the replica apply WAL again.
func (c *Cluster) ResumeReplay(ctx context.Context) error {
	if _, err := c.replicaD.ExecContext(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		return fmt.Errorf("pgcluster: resume replay: %w", err)
	}
	return nil
}

// ReplicaLag is the replica's replay lag as measured on the replica: 0 when
// it has replayed all the WAL it received, else the time since the commit of
// the last transaction it replayed. So after the primary was idle for a
// while, a new transaction not yet replayed shows that whole idle time at
// once; and it is 0 while the replica has replayed no transaction since it
// started, having nothing to measure from.
func (c *Cluster) ReplicaLag(ctx context.Context) (time.Duration, error) {
	var seconds float64
	err := c.replicaD.QueryRowContext(ctx, `
		SELECT CASE
			WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0
			ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
		END::float8`).Scan(&seconds)
	if err != nil {
		return 0, fmt.Errorf("pgcluster: replica lag: %w", err)
	}
	return max(time.Duration(seconds*float64(time.Second)), 0), nil
}

// WaitCaughtUp returns once the replica has replayed the primary's WAL up to
// its position at the call, so that what was committed on the primary
// before is visible on the replica. While replay is paused it returns
// ErrReplayPaused at once.
func (c *Cluster) WaitCaughtUp(ctx context.Context) error {
	var target string
	if err := c.primaryD.QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		return fmt.Errorf("pgcluster: the primary's WAL position: %w", err)
	}
	for {
		var done, paused bool
		err := c.replicaD.QueryRowContext(ctx,
			"SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn, pg_is_wal_replay_paused()", target).Scan(&done, &paused)
		switch {
		case err != nil:
			return fmt.Errorf("pgcluster: wait for the replica to replay up to %s: %w", target, err)
		case done:
			return nil
		case paused:
			return fmt.Errorf("%w: resume it to catch up to %s", ErrReplayPaused, target)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: wait for the replica to replay up to %s: %w", target, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
