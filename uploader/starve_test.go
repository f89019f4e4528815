package uploader_test

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/devdata"
	"github.com/sweephq/sweep/uploader"
)

// trickle starts an upload that sends its first bytes and then one byte
// every second until stop is closed, counting each byte sent in ticks; it
// reports the answer's status.
func (a *api) trickle(stop <-chan struct{}, codes chan<- int, ticks *atomic.Int64) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", "slow.csv")
		if err != nil {
			return // refused before the body was asked for: the client closed it
		}
		fw.Write([]byte("action,customerId\n"))
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			case <-t.C:
				if _, err := fw.Write([]byte("\n")); err != nil {
					return
				}
				ticks.Add(1)
			}
		}
	}()
	req, _ := http.NewRequest("POST", a.url+"/v1/imports", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.token)
	// As careful clients do (package client too): the body goes only once the
	// server has taken the request, so a refusal is read as the 429 it is, not
	// as a connection closed under a body still being written.
	req.Header.Set("Expect", "100-continue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		codes <- 0
		return
	}
	resp.Body.Close()
	codes <- resp.StatusCode
}

// One tenant's slow clients (forty uploads trickling a byte a second,
// thirty-six downloads of results that are never read) take no database
// session and no more than their share of the API: past it they are
// answered 429 with Retry-After at once, and another tenant is served as
// usual meanwhile.
func TestSlowClientsOfOneTenantDoNotStarveAnother(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	_, imp := a.upload("action,customerId\nremove,20\nremove,21\n")
	a.waitStatus(imp["id"])
	ctx := context.Background()
	if _, err := devdata.Seed(ctx, a.db, storeSeed(7100, 20)); err != nil {
		t.Fatal(err)
	}
	other, _, err := a.db.CreateToken(ctx, 7100, "other", []sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var ticks atomic.Int64 // bytes the trickling uploads sent
	codes := make(chan int, 100)
	var wg sync.WaitGroup
	var held []*http.Response
	defer func() {
		close(stop)
		wg.Wait()
		for _, r := range held {
			r.Body.Close()
		}
	}()
	// collect waits for n answers to the slow tenant's requests.
	collect := func(n int) map[int]int {
		answered := map[int]int{}
		deadline := time.After(20 * time.Second)
		for i := 0; i < n; i++ {
			select {
			case c := <-codes:
				answered[c]++
			case <-deadline:
				t.Fatalf("only %d of %d slow requests answered in 20s: %v", i, n, answered)
			}
		}
		return answered
	}
	slots := uploader.DefaultTenantTransfers
	for range 40 {
		wg.Add(1)
		go func() { defer wg.Done(); a.trickle(stop, codes, &ticks) }()
	}
	// All but the tenant's share are refused at once; the rest trickle on.
	if got := collect(40 - slots); got[http.StatusTooManyRequests] != 40-slots {
		t.Errorf("answers to 40 trickling uploads = %v; want %d of 429", got, 40-slots)
	}
	// Downloads of results that are never read.
	var mu sync.Mutex
	for range 36 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/imports/%v/results", a.url, imp["id"]), nil)
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			mu.Lock()
			held = append(held, resp)
			mu.Unlock()
			codes <- resp.StatusCode
		}()
	}
	if got := collect(36); got[http.StatusTooManyRequests] != 36 {
		t.Errorf("answers to 36 downloads while the uploads trickle = %v; want 36 of 429", got)
	}
	code, h, _ := a.request("GET", fmt.Sprintf("/v1/imports/%v/results", imp["id"]), nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("another download while the tenant's slots are taken = %d, Retry-After %q; want 429 with Retry-After", code, h.Get("Retry-After"))
	}

	// The other tenant is served as usual, downloads and uploads included.
	client := &http.Client{Timeout: 2 * time.Second}
	for _, path := range []string{"/v1/me", "/v1/imports", "/readyz"} {
		req, _ := http.NewRequest("GET", a.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+other)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("other tenant GET %s = %v %v; want 200 within 2 s", path, resp, err)
			continue
		}
		resp.Body.Close()
	}
	b := *a
	b.token = other
	if code, body := b.upload("action,customerId\nremove,3\n"); code != http.StatusAccepted {
		t.Errorf("other tenant's upload = %d %v", code, body)
	}

	// No session of this database waits in a transaction for a client: once
	// every upload in flight has sent two more bytes (over a second more of
	// trickling, on any machine), none has been in one for over a second
	// (the worker's own transactions last milliseconds).
	for from := ticks.Load(); ticks.Load() < from+2*int64(slots); {
		time.Sleep(20 * time.Millisecond)
	}
	idle := a.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND state LIKE 'idle in transaction%' AND xact_start < now() - interval '1 second'`)
	if idle != 0 {
		t.Errorf("%d sessions idle in a transaction for over a second while clients trickle; want 0", idle)
	}
}

func storeSeed(tenant int64, n int) devdata.SeedOptions {
	return devdata.SeedOptions{Tenant: tenant, Customers: n, Seed: 11}
}
