// Package pgcluster starts a throwaway PostgreSQL primary and a streaming
// replica of it, for tests and for `sweep-dev bench` to measure sweep's throttle
// on replica lag against real replication.
//
// Both servers live in a temporary directory, listen on free ports on
// 127.0.0.1 only, and trust every local connection; the machine's own
// PostgreSQL is left alone. They run from the machine's server programs
// (BinDir), as the postgres system user when this process is root.
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq" // the postgres driver
)

// Options configures Start.
type Options struct {
	// Dir is where Start makes the cluster's own directory (removed by
	// Stop); "" is os.TempDir(). When this process is root, the postgres
	// user must be able to enter it.
	Dir string
	// Settings are postgresql.conf settings for the primary, over Start's
	// own (fsync stays on unless set here: the benchmark needs realistic
	// WAL). The replica starts from a copy of the primary's configuration,
	// so they apply to it too. Keys are setting names; values are written
	// quoted.
	Settings map[string]string
	// Log receives the servers' logs and the setup programs' output, each
	// line after "primary: ", "replica: " or the program's name. Nil keeps
	// the logs in the cluster's directory only; an error from Start
	// carries the end of the relevant log either way.
	Log io.Writer
}

// Cluster is a running primary and its streaming replica.
type Cluster struct {
	// PrimaryURL and ReplicaURL connect as the superuser postgres to the
	// database postgres: postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable.
	PrimaryURL, ReplicaURL string

	bin      string
	acct     *account
	root     string // the cluster's own directory, removed by Stop
	sockDir  string // a second directory for Unix sockets, when root's path is too long; else ""
	env      []string
	log      io.Writer // nil, or Options.Log behind a lock
	copier   *logCopier
	primary  server
	replica  server
	primaryD *sql.DB
	replicaD *sql.DB

	stopOnce sync.Once
	stopErr  error
}

type server struct {
	name    string // "primary" or "replica"
	data    string // data directory
	logFile string
	port    int
}

// Timeouts for steps that wait on a server, within ctx's own deadline.
const (
	startTimeout  = 60 * time.Second // pg_ctl start -w, and the replica's first streaming
	stopTimeout   = 60 * time.Second // each pg_ctl stop
	portAttempts  = 5                // starts of one server that lose its port to another process
	unixPathLimit = 107              // sun_path's length less the terminating NUL
)

// Start creates, starts and connects a primary and a streaming replica of it,
// and returns when the replica streams from the primary and both accept
// connections. On an error it leaves nothing behind.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	for k := range opts.Settings {
		if !settingName.MatchString(k) {
			return nil, fmt.Errorf("pgcluster: %q is not a setting name", k)
		}
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}
	parent := opts.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if parent, err = filepath.Abs(parent); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := acct.reach(parent); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(parent, "pgcluster-")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c = &Cluster{
		bin:     bin,
		acct:    acct,
		root:    root,
		env:     serverEnv(),
		primary: server{name: "primary", data: filepath.Join(root, "primary"), logFile: filepath.Join(root, "primary.log")},
		replica: server{name: "replica", data: filepath.Join(root, "replica"), logFile: filepath.Join(root, "replica.log")},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
			c = nil
		}
	}()
	if err := acct.own(root); err != nil {
		return c, err
	}
	sockDir := root
	if len(root)+len("/.s.PGSQL.65535.lock") > unixPathLimit {
		if c.sockDir, err = os.MkdirTemp("/tmp", "pgs-"); err != nil {
			return c, fmt.Errorf("pgcluster: a directory for Unix sockets: %w", err)
		}
		if err := acct.own(c.sockDir); err != nil {
			return c, err
		}
		sockDir = c.sockDir
	}
	if opts.Log != nil {
		c.log = &lockedWriter{w: opts.Log}
		c.copier = newLogCopier(c.log, map[string]string{
			"primary: ": c.primary.logFile,
			"replica: ": c.replica.logFile,
		})
	}

	if err := c.run(ctx, "initdb", "-D", c.primary.data, "--auth=trust", "-U", "postgres",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return c, fmt.Errorf("pgcluster: create the primary: %w", err)
	}
	conf := []setting{
		{"wal_level", "replica"},
		{"max_wal_senders", "4"},
		{"hot_standby", "on"},
		{"cluster_name", "pgcluster_primary"},
	}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		conf = append(conf, setting{k, opts.Settings[k]})
	}
	// Last, so that Settings cannot move the servers off their own
	// address; Start appends each port as it picks it.
	conf = append(conf, setting{"listen_addresses", "127.0.0.1"}, setting{"unix_socket_directories", sockDir})
	if err := appendConf(filepath.Join(c.primary.data, "postgresql.conf"), conf); err != nil {
		return c, err
	}
	hba := "\n# pgcluster: a throwaway cluster on 127.0.0.1 trusts every local connection\n" +
		"host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := appendFile(filepath.Join(c.primary.data, "pg_hba.conf"), hba); err != nil {
		return c, err
	}
	if err := c.startServer(ctx, &c.primary); err != nil {
		return c, err
	}
	c.PrimaryURL = url(c.primary.port)
	if c.primaryD, err = connect(ctx, c.PrimaryURL); err != nil {
		return c, fmt.Errorf("pgcluster: connect to the primary: %w%s", err, tail(c.primary.logFile))
	}

	if err := c.run(ctx, "pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(c.primary.port), "-U", "postgres",
		"-D", c.replica.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		return c, fmt.Errorf("pgcluster: copy the primary for the replica: %w\n  the primary's log ends:%s", err, tail(c.primary.logFile))
	}
	if err := appendConf(filepath.Join(c.replica.data, "postgresql.conf"), []setting{
		{"hot_standby", "on"},
		{"cluster_name", "pgcluster_replica"},
	}); err != nil {
		return c, err
	}
	if err := c.startServer(ctx, &c.replica); err != nil {
		return c, err
	}
	c.ReplicaURL = url(c.replica.port)
	if c.replicaD, err = connect(ctx, c.ReplicaURL); err != nil {
		return c, fmt.Errorf("pgcluster: connect to the replica: %w%s", err, tail(c.replica.logFile))
	}
	if err := c.waitStreaming(ctx); err != nil {
		return c, err
	}
	return c, nil
}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

type setting struct{ name, value string }

func appendConf(path string, settings []setting) error {
	var b strings.Builder
	b.WriteString("\n# pgcluster\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s = '%s'\n", s.name, strings.ReplaceAll(s.value, "'", "''"))
	}
	return appendFile(path, b.String())
}

// appendFile appends to a file the server's user already owns, so that it
// stays theirs.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func url(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// serverEnv is this process's environment without the PG* variables, which
// would point the programs elsewhere, and with messages in English, which
// the port clash check reads.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

func (c *Cluster) command(ctx context.Context, program string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, program), args...)
	// The programs look up their working directory, which the postgres user
	// may not be allowed to enter.
	cmd.Dir = c.root
	cmd.Env = c.env
	cmd.SysProcAttr = c.acct.sysProcAttr()
	return cmd
}

// run runs a program to its end; its error carries the program's output.
func (c *Cluster) run(ctx context.Context, program string, args ...string) error {
	out, err := c.command(ctx, program, args...).CombinedOutput()
	prefixed(c.log, program+": ", out)
	if err != nil {
		return fmt.Errorf("%s: %w%s", program, err, indent(out, false))
	}
	return nil
}

// startServer starts s on a free port. Another process may take the port
// between the check and the server's bind: then it starts again on another.
func (c *Cluster) startServer(ctx context.Context, s *server) error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		if err := appendConf(filepath.Join(s.data, "postgresql.conf"), []setting{{"port", fmt.Sprint(port)}}); err != nil {
			return err
		}
		var logSize int64
		if fi, err := os.Stat(s.logFile); err == nil {
			logSize = fi.Size()
		}
		err = c.run(ctx, "pg_ctl", "start", "-w", "-t", fmt.Sprint(int(startTimeout.Seconds())),
			"-D", s.data, "-l", s.logFile)
		if err == nil {
			return nil
		}
		if b, _ := readFrom(s.logFile, logSize); attempt < portAttempts && ctx.Err() == nil &&
			strings.Contains(string(b), "already in use") {
			continue
		}
		return fmt.Errorf("pgcluster: start the %s on port %d: %w\n  its log ends:%s", s.name, port, err, tail(s.logFile))
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// connect opens a pool on url and waits until the server answers.
func connect(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	err = poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		return db.PingContext(ctx) == nil, nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// waitStreaming waits until the primary lists the replica as streaming.
func (c *Cluster) waitStreaming(ctx context.Context) error {
	err := poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		var n int
		err := c.primaryD.QueryRowContext(ctx,
			`SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgcluster_replica' AND state = 'streaming'`).Scan(&n)
		return n > 0, err
	})
	if err != nil {
		return fmt.Errorf("pgcluster: wait for the replica to stream from the primary: %w\n  the replica's log ends:%s", err, tail(c.replica.logFile))
	}
	return nil
}

// poll calls check every 20 ms until it returns true or an error, ctx ends,
// or limit passes.
func poll(ctx context.Context, limit time.Duration, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := check(ctx)
		if ok || err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Stop stops the replica and then the primary (fast shutdown: sessions are
// ended, the replica's and primary's work is kept), and removes their
// directories. It is safe to call again, and on a Cluster whose Start
// failed. A server that would not stop keeps its directory, named in the
// error.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	for _, db := range []*sql.DB{c.replicaD, c.primaryD} {
		if db != nil {
			db.Close()
		}
	}
	var errs []error
	for _, s := range []*server{&c.replica, &c.primary} {
		if err := c.stopServer(s); err != nil {
			errs = append(errs, err)
		}
	}
	c.copier.Close()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, dir := range []string{c.root, c.sockDir} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("pgcluster: %w", err))
		}
	}
	return errors.Join(errs...)
}

// stopServer stops s if it runs: a failed Start may leave a server running
// (pg_ctl start cut short by ctx, or a later step failing).
func (c *Cluster) stopServer(s *server) error {
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", s.data)
	if err == nil || !c.running(s) {
		return nil
	}
	if err2 := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", s.data); err2 == nil || !c.running(s) {
		return nil
	}
	return fmt.Errorf("pgcluster: stop the %s (its files stay in %s): %w", s.name, c.root, err)
}

// running asks pg_ctl status, which exits with 3 when no server runs on s.
func (c *Cluster) running(s *server) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.command(ctx, "pg_ctl", "status", "-D", s.data).Run()
	var exit *exec.ExitError
	return !(errors.As(err, &exit) && exit.ExitCode() == 3)
}
