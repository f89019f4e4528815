// Package throttle decides whether a deletion run may take its next chunk:
// it reads the platform's signals (replica lag, database load, the
// operator's throttle query, an HTTP check) and the manual holds, any one of
// them enough to hold the runs, and paces runs under rows-per-second caps
// shared by every worker process through Redis.
//
// Readings are cached for an interval and refreshed in the background, so a
// check before a chunk costs a lock and a comparison, not a round trip.
package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
)

// Config says which signals hold runs; each is off at its zero value.
type Config struct {
	// MaxReplicaLag holds runs while a replica streaming from the database,
	// or one of ReplicaURLs, replays later than this.
	MaxReplicaLag time.Duration
	// ReplicaURLs are replicas read directly (one that does not answer counts
	// as lagging); they are checked only when MaxReplicaLag is set.
	ReplicaURLs []string
	// MaxActiveBackends holds runs while more of the platform's sessions
	// than this are busy in the database.
	MaxActiveBackends int
	// Query is the operator's throttle query: one number, above 0 holds.
	Query string
	// HTTPURL is the platform's own check: anything but 200 within
	// HTTPTimeout holds.
	HTTPURL     string
	HTTPTimeout time.Duration // 0 means 1 s
	// Interval is how long a reading is trusted; 0 means 1 s.
	Interval time.Duration
	Logger   *slog.Logger
}

// Reading is one signal's last reading.
type Reading struct {
	Signal  sweep.HoldReason `json:"signal"`
	Holding bool             `json:"holding"`
	Message string           `json:"message"` // what was read, in words
	At      time.Time        `json:"read_at"`
}

// Checker reads the signals of a Config and the manual holds of the
// database; it is safe for concurrent use.
type Checker struct {
	cfg      Config
	db       *store.DB
	replicas []replica
	http     *http.Client
	log      *slog.Logger

	mu         sync.Mutex
	readings   []Reading
	readAt     time.Time
	refreshing chan struct{} // closed when the refresh under way ends; nil when none is
	standbys   map[string]lsnSeen
	holds      map[int64]manualReading
}

type replica struct {
	name string // host:port, never a password
	db   *sql.DB
}

// lsnSeen is when a standby's replay position last moved: a standby whose
// replay stopped (paused, or stuck on a lock) shows no lag in the primary's
// own measure, but its position stands still while the primary's moves on.
type lsnSeen struct {
	lsn   string
	since time.Time
}

type manualReading struct {
	holds []store.RunHold
	at    time.Time
}

// New returns a Checker over db. It opens no connection to the replicas until
// the first check.
func New(db *store.DB, cfg Config) (*Checker, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Checker{cfg: cfg, db: db, log: log.With("component", "throttle"),
		standbys: map[string]lsnSeen{}, holds: map[int64]manualReading{},
		http: &http.Client{
			Timeout: cfg.HTTPTimeout,
			// The answer of the URL configured is the signal; a redirect is
			// an answer other than 200.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	if cfg.MaxReplicaLag > 0 {
		for _, raw := range cfg.ReplicaURLs {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
				c.Close()
				return nil, fmt.Errorf("replica URL %q is not a postgres:// URL with a host", redact(raw))
			}
			db, err := sql.Open("postgres", raw)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("replica %s: %w", u.Host, err)
			}
			db.SetMaxOpenConns(1)
			c.replicas = append(c.replicas, replica{name: u.Host, db: db})
		}
	}
	if cfg.HTTPURL != "" {
		if u, err := url.Parse(cfg.HTTPURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.Close()
			return nil, fmt.Errorf("throttle HTTP URL %q is not an http:// or https:// URL", cfg.HTTPURL)
		}
	}
	return c, nil
}

// Close closes the connections to the replicas.
func (c *Checker) Close() {
	for _, r := range c.replicas {
		r.db.Close()
	}
}

// redact hides a URL's password.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// Check says whether tenant's runs must wait before their next chunk, and
// why (nil: go on). Any signal holding is enough; a manual hold comes first.
func (c *Checker) Check(ctx context.Context, tenant int64) *sweep.Hold {
	if h := c.manual(ctx, tenant); h != nil {
		return h
	}
	for _, r := range c.Readings(ctx) {
		if r.Holding {
			return &sweep.Hold{Reason: r.Signal, Message: r.Message}
		}
	}
	return nil
}

// Readings returns the last reading of every signal switched on, refreshed
// when older than the interval: in the background while the last one is
// still recent, waited for when it is not (the first check, or after a
// pause in the checks).
func (c *Checker) Readings(ctx context.Context) []Reading {
	c.mu.Lock()
	age := time.Since(c.readAt)
	if age < c.cfg.Interval {
		defer c.mu.Unlock()
		return c.readings
	}
	done := c.refreshing
	if done == nil {
		done = make(chan struct{})
		c.refreshing = done
		go c.refresh(done)
	}
	if age < 3*c.cfg.Interval {
		defer c.mu.Unlock()
		return c.readings
	}
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readings
}

// refresh reads every signal at once, each bounded by the HTTP timeout or the
// interval, whichever is longer, and publishes the readings.
func (c *Checker) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), max(c.cfg.HTTPTimeout, c.cfg.Interval)+time.Second)
	defer cancel()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []Reading
	)
	read := func(f func(context.Context) Reading) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f(ctx)
			r.At = time.Now()
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		}()
	}
	if c.cfg.MaxReplicaLag > 0 {
		read(c.replicaLag)
	}
	if c.cfg.MaxActiveBackends > 0 {
		read(c.load)
	}
	if c.cfg.Query != "" {
		read(c.query)
	}
	if c.cfg.HTTPURL != "" {
		read(c.httpCheck)
	}
	wg.Wait()
	// The same order every time: the first holding signal names the hold.
	slices.SortFunc(out, func(a, b Reading) int {
		return slices.Index(sweep.HoldReasons, a.Signal) - slices.Index(sweep.HoldReasons, b.Signal)
	})
	c.mu.Lock()
	c.readings, c.readAt, c.refreshing = out, time.Now(), nil
	c.mu.Unlock()
	close(done)
	for _, r := range out {
		if r.Holding {
			c.log.Debug("runs held", "signal", r.Signal, "reading", r.Message)
		}
	}
}

// seconds writes d as seconds for a sentence: "3.4 s", "2 s".
func seconds(d time.Duration, exact bool) string {
	if exact {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// replicaLag reads the lag of every replica the primary streams to and of
// every configured replica; the worst one is the reading.
func (c *Checker) replicaLag(ctx context.Context) Reading {
	limit := c.cfg.MaxReplicaLag
	r := Reading{Signal: sweep.HoldReplicaLag}
	var (
		worst     time.Duration
		worstName string
		problems  []string
	)
	if standbys, err := c.db.StandbyLags(ctx); err != nil {
		// Without the primary's view, the configured replicas still speak;
		// with none configured, the lag is unknown: hold rather than guess.
		c.log.Warn("read replica lag on the primary", "err", err)
		if len(c.replicas) == 0 {
			problems = append(problems, "replica lag unknown: pg_stat_replication cannot be read ("+errText(err)+")")
		}
	} else {
		now := time.Now()
		c.mu.Lock()
		last := c.standbys
		c.mu.Unlock()
		seen := map[string]lsnSeen{}
		for _, s := range standbys {
			// A standby that has replayed all the primary wrote has no lag,
			// whatever the server's own measure, which keeps an old figure
			// for seconds after catching up.
			var lag time.Duration
			if s.ReplayLag != nil && s.Bytes > 0 {
				lag = *s.ReplayLag
			}
			prev, ok := last[s.Name]
			if !ok || prev.lsn != s.ReplayLSN || s.Bytes == 0 {
				prev = lsnSeen{lsn: s.ReplayLSN, since: now}
			} else if stuck := now.Sub(prev.since); stuck > lag {
				lag = stuck
			}
			seen[s.Name] = prev
			if lag >= worst {
				worst, worstName = lag, s.Name
			}
		}
		c.mu.Lock()
		c.standbys = seen
		c.mu.Unlock()
	}
	for _, rep := range c.replicas {
		qctx, cancel := context.WithTimeout(ctx, max(c.cfg.HTTPTimeout, time.Second))
		lag, err := store.ReplicaLag(qctx, rep.db)
		cancel()
		if err != nil {
			problems = append(problems, fmt.Sprintf("replica %s does not answer (%s)", rep.name, errText(err)))
			continue
		}
		if lag >= worst {
			worst, worstName = lag, rep.name
		}
	}
	switch {
	case len(problems) > 0:
		r.Holding, r.Message = true, strings.Join(problems, "; ")
	case worst > limit:
		r.Holding, r.Message = true, fmt.Sprintf("replica lag %s above %s", seconds(worst, false), seconds(limit, true))
	case worstName == "":
		r.Message = fmt.Sprintf("no replica streams from the database (limit %s)", seconds(limit, true))
	default:
		r.Message = fmt.Sprintf("replica lag %s (limit %s)", seconds(worst, false), seconds(limit, true))
	}
	if worstName != "" && r.Holding && len(problems) == 0 {
		r.Message += " on " + worstName
	}
	return r
}

// load counts the platform's busy sessions.
func (c *Checker) load(ctx context.Context) Reading {
	r := Reading{Signal: sweep.HoldDatabaseLoad}
	n, err := c.db.ActiveBackends(ctx)
	switch {
	case err != nil:
		r.Holding, r.Message = true, "database load unknown: "+errText(err)
	case n > c.cfg.MaxActiveBackends:
		r.Holding, r.Message = true, fmt.Sprintf("%d of the platform's sessions active, above %d", n, c.cfg.MaxActiveBackends)
	default:
		r.Message = fmt.Sprintf("%d of the platform's sessions active (limit %d)", n, c.cfg.MaxActiveBackends)
	}
	return r
}

// query runs the operator's throttle query.
func (c *Checker) query(ctx context.Context) Reading {
	r := Reading{Signal: sweep.HoldThrottleQuery}
	qctx, cancel := context.WithTimeout(ctx, max(c.cfg.HTTPTimeout, time.Second))
	defer cancel()
	v, err := c.db.ThrottleQuery(qctx, c.cfg.Query)
	switch {
	case err != nil:
		r.Holding, r.Message = true, "throttle query failed: "+errText(err)
	case v > 0:
		r.Holding, r.Message = true, "throttle query returned "+strconv.FormatFloat(v, 'f', -1, 64)
	default:
		r.Message = "throttle query returned " + strconv.FormatFloat(v, 'f', -1, 64)
	}
	return r
}

// httpCheck asks the platform's own check.
func (c *Checker) httpCheck(ctx context.Context) Reading {
	r := Reading{Signal: sweep.HoldHTTPCheck}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.HTTPURL, nil)
	if err != nil {
		r.Holding, r.Message = true, "throttle check cannot be asked: "+errText(err)
		return r
	}
	where := redact(c.cfg.HTTPURL)
	resp, err := c.http.Do(req)
	if err != nil {
		var timeout interface{ Timeout() bool }
		if errors.As(err, &timeout) && timeout.Timeout() {
			r.Holding, r.Message = true, fmt.Sprintf("throttle check %s did not answer within %s", where, seconds(c.cfg.HTTPTimeout, true))
		} else {
			r.Holding, r.Message = true, fmt.Sprintf("throttle check %s did not answer (%s)", where, errText(err))
		}
		return r
	}
	resp.Body.Close()
	r.Holding = resp.StatusCode != http.StatusOK
	r.Message = fmt.Sprintf("throttle check %s answered %d", where, resp.StatusCode)
	return r
}

// errText is an error in a few words for a hold's message: the driver's own
// text, without a URL's password (url.Error carries the URL).
func errText(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// manual returns the manual hold over tenant's runs, if any; holds are
// read again once an interval has passed.
func (c *Checker) manual(ctx context.Context, tenant int64) *sweep.Hold {
	c.mu.Lock()
	m, ok := c.holds[tenant]
	c.mu.Unlock()
	if !ok || time.Since(m.at) >= c.cfg.Interval {
		holds, err := c.db.RunHolds(ctx, tenant)
		if err != nil {
			c.log.Warn("read manual holds", "tenant_id", tenant, "err", err)
			holds = m.holds // the last known holds stand
		}
		m = manualReading{holds: holds, at: time.Now()}
		c.mu.Lock()
		c.holds[tenant] = m
		c.mu.Unlock()
	}
	if len(m.holds) == 0 {
		return nil
	}
	return &sweep.Hold{Reason: sweep.HoldManual, Message: m.holds[0].Message()}
}
