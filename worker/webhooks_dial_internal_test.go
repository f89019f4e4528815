package worker

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sweephq/sweep"
)

// loopbackName finds a host name that resolves only to loopback addresses
// and that the check of a URL as typed lets through (not localhost nor a
// *.localhost name): the machine's own name or one of /etc/hosts (Debian
// and most images map ip6-localhost to ::1), with the addresses it
// resolves to.
func loopbackName(t *testing.T) (string, []netip.Addr) {
	t.Helper()
	var names []string
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	if f, err := os.Open("/etc/hosts"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			if fs := strings.Fields(line); len(fs) > 1 {
				names = append(names, fs[1:]...)
			}
		}
	}
	open := sweep.WebhookTargets{AllowHTTP: true}
names:
	for _, name := range names {
		if open.CheckURL("http://"+name+":8080/hook") != nil {
			continue // localhost and the like: refused as typed already
		}
		hosts, err := net.LookupHost(name)
		if err != nil || len(hosts) == 0 {
			continue
		}
		var addrs []netip.Addr
		for _, h := range hosts {
			a, err := netip.ParseAddr(h)
			if err != nil || !a.Unmap().IsLoopback() {
				continue names
			}
			addrs = append(addrs, a)
		}
		return name, addrs
	}
	t.Fatalf("no host name here resolves only to loopback (tried %q); add one to /etc/hosts, such as \"::1 ip6-localhost\"", names)
	return "", nil
}

// The address check at connect time refuses a receiver whose name resolves
// to loopback, although the URL as typed passes (a name, not an address):
// the worker's own client never reaches it, and says why. With loopback
// allowed, the same request arrives, so the refusal is the address check's.
func TestWebhookNameResolvingToLoopbackIsRefusedAtConnect(t *testing.T) {
	name, addrs := loopbackName(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(addrs[0].String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	url := "http://" + net.JoinHostPort(name, port) + "/hook"

	send := func(targets sweep.WebhookTargets) error {
		t.Helper()
		if err := targets.CheckURL(url); err != nil {
			t.Fatalf("CheckURL(%s) = %v; the URL as typed must pass for this test to mean anything", url, err)
		}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
		resp, err := newWebhooks(WebhookConfig{Targets: targets}, nil).http.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	public := netip.MustParsePrefix("203.0.113.0/24")
	err = send(sweep.WebhookTargets{AllowHTTP: true, Allow: []netip.Prefix{public}})
	if err == nil || hits.Load() != 0 {
		t.Fatalf("POST %s (%s resolves to %v) = %v, %d requests arrived; want refused before connecting", url, name, addrs, err, hits.Load())
	}
	if msg := describeSendError(err); !strings.Contains(msg, "Webhooks are not sent to") || !strings.Contains(msg, "loopback") {
		t.Errorf("the attempt says %q; want it to say the address is refused", msg)
	}

	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if err := send(sweep.WebhookTargets{AllowHTTP: true, Allow: loopback}); err != nil || hits.Load() != 1 {
		t.Fatalf("with loopback allowed: %v, %d requests arrived; want the request delivered", err, hits.Load())
	}
}
