package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a Sentinel-managed Redis group a test starts on its own free
// ports: a master, a replica and three sentinels, all stopped when the test
// ends.
type Sentinel struct {
	URL        string // redis-sentinel://…/sweepmaster?db=0
	master     *exec.Cmd
	MasterAddr string
}

// StartSentinel starts the group with the machine's redis-server (in
// sentinel mode for the sentinels). Without redis-server the test is skipped,
// or fails under SWEEP_TEST_REQUIRE_SERVICES=1.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server is not installed (the Sentinel test starts its own)")
	}
	dir := t.TempDir()
	common := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	master, mport := startOnFreePort(t, bin, dir, "master", func(port int) []string {
		return append([]string{"--port", fmt.Sprint(port)}, common...)
	})
	s := &Sentinel{MasterAddr: fmt.Sprintf("127.0.0.1:%d", mport), master: master}
	_, rport := startOnFreePort(t, bin, dir, "replica", func(port int) []string {
		return append([]string{"--port", fmt.Sprint(port), "--replicaof", "127.0.0.1", fmt.Sprint(mport)}, common...)
	})
	var addrs []string
	for i := range 3 {
		name := fmt.Sprintf("sentinel-%d", i)
		_, port := startOnFreePort(t, bin, dir, name, func(port int) []string {
			conf := filepath.Join(dir, name+".conf")
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor sweepmaster 127.0.0.1 %d 2\n"+
				"sentinel down-after-milliseconds sweepmaster 1000\nsentinel failover-timeout sweepmaster 5000\nsentinel parallel-syncs sweepmaster 1\n",
				port, dir, mport)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		})
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	s.URL = "redis-sentinel://" + strings.Join(addrs, ",") + "/sweepmaster?db=0"
	// A failover needs every sentinel to know the replica (they learn it from
	// the master's INFO, every 10 s) and the other sentinels (from hello
	// messages): wait for both, or a master killed early has no successor.
	for _, addr := range addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		deadline := time.Now().Add(30 * time.Second)
		for {
			m, err := sc.Master(context.Background(), "sweepmaster").Result()
			if err == nil && m["num-slaves"] == "1" && m["num-other-sentinels"] == "2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sentinel %s does not know the replica and the other sentinels after 30 s: %v %v", addr, m, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sc.Close()
	}
	// The replica must have caught up before a failover can promote it.
	replica := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rport)})
	defer replica.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, _ := replica.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not sync with the master in 30 s:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// KillMaster kills the current master with SIGKILL, as a host that dies.
func (s *Sentinel) KillMaster() {
	s.master.Process.Signal(syscall.SIGKILL)
}

// portAttempts is how many free ports a server is started on before the
// test gives up.
const portAttempts = 5

// startOnFreePort starts redis-server with args(port) on a port nothing
// listens on, stopped when the test ends, and waits until it answers. Another
// process may take the port between the check and the server's bind: the
// server then exits saying so, or another process answers there, and it
// starts again on another port, as the PostgreSQL cluster's servers do.
func startOnFreePort(t testing.TB, bin, dir, name string, args func(port int) []string) (*exec.Cmd, int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, attempt))
		log, _ := os.Create(logPath)
		cmd := exec.Command(bin, args(port)...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); log.Close(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		})
		err := waitRedis(fmt.Sprintf("127.0.0.1:%d", port), cmd.Process.Pid, exited)
		if err == nil {
			return cmd, port
		}
		b, _ := os.ReadFile(logPath)
		if attempt < portAttempts && (strings.Contains(string(b), "already in use") || strings.Contains(err.Error(), "another process")) {
			cmd.Process.Signal(syscall.SIGKILL)
			continue
		}
		t.Fatalf("start %s on port %d: %v\n%s", name, port, err, b)
	}
}

// waitRedis waits until the redis-server of process pid answers on addr: an
// answer from another process, or the server's exit, is an error.
func waitRedis(addr string, pid int, exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited")
		default:
		}
		if info, err := c.Info(context.Background(), "server").Result(); err == nil {
			if strings.Contains(info, fmt.Sprintf("process_id:%d\r\n", pid)) {
				return nil
			}
			return fmt.Errorf("another process answers on %s", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on %s did not come up in 20 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a port nothing listens on now, for a server the test
// starts as another process.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
