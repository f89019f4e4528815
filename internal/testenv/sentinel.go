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
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		log, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		})
		return cmd
	}
	common := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	mport, rport := sentinelPort(t), sentinelPort(t)
	s := &Sentinel{MasterAddr: fmt.Sprintf("127.0.0.1:%d", mport)}
	s.master = start("master", append([]string{"--port", fmt.Sprint(mport)}, common...)...)
	start("replica", append([]string{"--port", fmt.Sprint(rport), "--replicaof", "127.0.0.1", fmt.Sprint(mport)}, common...)...)
	waitRedis(t, s.MasterAddr)
	var addrs []string
	for i := range 3 {
		port := sentinelPort(t)
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor sweepmaster 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds sweepmaster 1000\nsentinel failover-timeout sweepmaster 5000\nsentinel parallel-syncs sweepmaster 1\n",
			port, dir, mport)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		start(fmt.Sprintf("sentinel-%d", i), conf, "--sentinel")
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
		waitRedis(t, addrs[i])
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

func waitRedis(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis on %s did not come up in 20 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sentinelPort returns a port nothing listens on now, for a server the test
// starts as another process.
func sentinelPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
