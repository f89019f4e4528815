package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/wire"
)

// `sweep webhooks` adds an endpoint and prints its secret once, sends it a
// test event, shows the delivery log, disables, rotates and removes it.
func TestWebhooksCommand(t *testing.T) {
	t.Parallel()
	url, _, db := cliSweep(t)
	admin, _, err := db.CreateToken(context.Background(), 5200243, "integrations", []sweep.Scope{sweep.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer rc.Close()
	env := map[string]string{"SWEEP_URL": url, "SWEEP_TOKEN": admin}
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := runCLI(t, env, args...)
		if err != nil {
			t.Fatalf("sweep %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}

	if _, _, err := runCLI(t, env, "webhooks", "add", rc.URL, "--events", "import.done"); err == nil || !strings.Contains(err.Error(), "import.done") {
		t.Errorf("an unknown event: %v", err)
	}
	out := cli("webhooks", "add", rc.URL+"/sweep", "--events", "import.completed", "--description", "billing sync")
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(out)
	if secret == "" || !strings.Contains(out, "shown once") || !strings.Contains(out, "import.completed") {
		t.Fatalf("add printed:\n%s", out)
	}
	var l wire.WebhookList
	if err := json.Unmarshal([]byte(cli("webhooks", "list", "--json")), &l); err != nil || len(l.Webhooks) != 1 {
		t.Fatalf("list --json: %v %+v", err, l)
	}
	id := strings.TrimSpace(strings.Fields(cli("webhooks", "list"))[0])
	if list := cli("webhooks", "list"); strings.Contains(list, secret) || !strings.Contains(list, "billing sync") {
		t.Errorf("list shows the secret or not the description:\n%s", list)
	}
	cli("webhooks", "test", id)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(cli("webhooks", "deliveries", id), "succeeded after 1 attempt(s), last answer 200") {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries never showed the test event delivered:\n%s", cli("webhooks", "deliveries", id))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Load() != 1 {
		t.Errorf("the receiver got %d requests, want the test event", got.Load())
	}
	if out := cli("webhooks", "set", id, "--disable"); !strings.Contains(out, "DISABLED") || !strings.Contains(out, "Disabled by integrations.") {
		t.Errorf("set --disable printed:\n%s", out)
	}
	if out := cli("webhooks", "set", id, "--enable", "--events", "all"); !strings.Contains(out, "enabled  (all events)") {
		t.Errorf("set --enable --events all printed:\n%s", out)
	}
	if out := cli("webhooks", "rotate-secret", id, "--keep-old", "2h"); !strings.Contains(out, "whsec_") || strings.Contains(out, secret) || !strings.Contains(out, "also signs until") {
		t.Errorf("rotate-secret printed:\n%s", out)
	}
	cli("webhooks", "remove", id)
	if _, _, err := runCLI(t, env, "webhooks", "show", id); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show after remove: %v", err)
	}
}
