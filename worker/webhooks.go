package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/jobs"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

// WebhookConfig sets how webhooks are sent.
type WebhookConfig struct {
	// Targets says which receivers may be reached (https only, no private
	// or link-local network, unless allowed).
	Targets sweep.WebhookTargets
	// Backoff spaces a delivery's attempts (0: 5 s doubling to 1 h).
	Backoff sweep.WebhookBackoff
	// DisableAfter disables an endpoint whose deliveries failed that long
	// without one success, and gives up a delivery failing that long (0: 72 h).
	DisableAfter time.Duration
	// Poll is how often due deliveries are looked for (0: 500 ms).
	Poll time.Duration
	// Concurrency is how many attempts may be in flight at once in all,
	// and how many this worker process can make at once (0: 32).
	Concurrency int
}

// webhookLease is how long an attempt holds its delivery: its timeout and
// time to record it. A worker that vanished mid-attempt frees it then.
// webhookDispatchLease is how long a dispatched attempt may wait in the queue
// (hardly at all: a worker has a slot for every attempt in flight) before it
// counts as lost, with Redis or with a worker killed after it took the task,
// and is dispatched again. Should the first task run after all, it makes the
// attempt if it is still due, and otherwise does nothing.
const (
	webhookLease         = sweep.WebhookAttemptTimeout + 10*time.Second
	webhookDispatchLease = 45 * time.Second
)

// webhooks sends webhook deliveries: a dispatcher enqueues each due attempt
// as a task, and the task makes it.
type webhooks struct {
	cfg WebhookConfig
	// wake tells this process's dispatcher that an attempt ended: a place
	// in flight is free, so what waits for it need not wait for the poll.
	wake      chan struct{}
	http      *http.Client
	attempts  *prometheus.CounterVec
	disabled  prometheus.Counter
	dispatchE prometheus.Counter
}

func newWebhooks(cfg WebhookConfig, reg *prometheus.Registry) *webhooks {
	if cfg.Backoff.Base <= 0 {
		cfg.Backoff.Base = sweep.DefaultWebhookRetryBase
	}
	if cfg.Backoff.Max <= 0 {
		cfg.Backoff.Max = sweep.DefaultWebhookRetryMax
	}
	if cfg.DisableAfter <= 0 {
		cfg.DisableAfter = sweep.DefaultWebhookDisableAfter
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = sweep.DefaultWebhookConcurrency
	}
	targets := cfg.Targets
	dialer := &net.Dialer{
		Timeout: sweep.WebhookAttemptTimeout,
		// Every address connected to is checked, whatever the name
		// resolved to: a receiver's DNS cannot point sweep at its own
		// network.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			return targets.CheckAddr(ap.Addr())
		},
	}
	w := &webhooks{cfg: cfg, wake: make(chan struct{}, 1),
		http: &http.Client{
			Timeout: sweep.WebhookAttemptTimeout,
			Transport: &http.Transport{
				Proxy:               nil, // straight to the receiver, so the address check means what it says
				DialContext:         dialer.DialContext,
				TLSHandshakeTimeout: sweep.WebhookAttemptTimeout,
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     90 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sweep_webhook_attempts_total", Help: "Webhook delivery attempts, by result: delivered or failed.",
		}, []string{"result"}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_webhook_endpoints_disabled_total", Help: "Webhook endpoints disabled because their deliveries failed for too long.",
		}),
		dispatchE: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sweep_webhook_dispatch_errors_total", Help: "Failures to look for or enqueue due webhook deliveries.",
		}),
	}
	if reg != nil {
		reg.MustRegister(w.attempts, w.disabled, w.dispatchE)
	}
	return w
}

// dispatch enqueues due attempts until ctx ends. Every worker process runs
// one: each due delivery is taken in PostgreSQL before it is enqueued, so two
// dispatchers never enqueue it twice, and one lost on its way is dispatched
// again when its lease ends.
func (s *Server) dispatch(ctx context.Context) {
	enq := asynq.NewClientFromRedisClient(s.rdb)
	tick := time.NewTicker(s.hooks.cfg.Poll)
	defer tick.Stop()
	var logged time.Time
	warn := func(msg string, err error) {
		// An outage of PostgreSQL or Redis would fail every poll: say so
		// once a minute, the metric counts them all.
		s.hooks.dispatchE.Inc()
		if time.Since(logged) >= time.Minute {
			logged = time.Now()
			s.log.Warn(msg, "err", err)
		}
	}
	for {
		due, err := s.db.DispatchDeliveries(ctx, s.hooks.cfg.Concurrency, webhookDispatchLease)
		if err != nil && ctx.Err() == nil {
			warn("dispatch due webhook deliveries", err)
		}
		for _, d := range due {
			task, err := jobs.NewWebhookDeliverTask(d.TenantID, d.ID, d.Dispatch, d.MessageID)
			if err == nil {
				_, err = enq.EnqueueContext(ctx, task)
			}
			if err != nil && ctx.Err() == nil {
				// The dispatch's lease ends and it is dispatched again.
				warn("enqueue webhook delivery", err)
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.hooks.wake:
		}
	}
}

// handleWebhookDeliver makes one attempt of a delivery, if it is still that
// attempt's to make, and records how it ended.
func (s *Server) handleWebhookDeliver(ctx context.Context, t *asynq.Task) error {
	p, err := jobs.ParseWebhookPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	o, ok, err := s.db.ClaimDelivery(ctx, store.DueDelivery{TenantID: p.TenantID, ID: p.DeliveryID, Dispatch: p.Dispatch, MessageID: p.MessageID}, webhookLease)
	if err != nil || !ok {
		return err
	}
	res := s.attempt(ctx, o)
	res.GiveUpAfter = s.hooks.cfg.DisableAfter
	if res.Delivered {
		s.hooks.attempts.WithLabelValues("delivered").Inc()
	} else {
		s.hooks.attempts.WithLabelValues("failed").Inc()
	}
	disabled, err := s.db.RecordAttempt(context.WithoutCancel(ctx), o, res)
	if err != nil {
		return err
	}
	select {
	case s.hooks.wake <- struct{}{}:
	default: // already told
	}
	log := s.log.With("tenant_id", o.TenantID, "webhook_endpoint_id", o.EndpointID, "delivery_id", o.ID, "attempt", o.Attempt, "type", o.Type)
	switch {
	case disabled:
		s.hooks.disabled.Inc()
		log.Warn("webhook endpoint disabled: its deliveries failed for too long", "status", res.Code, "error", res.Error)
	case !res.Delivered:
		log.Info("webhook attempt failed", "status", res.Code, "error", res.Error, "retry_in", res.Retry)
	}
	return nil
}

// attempt sends o once and says how it went.
func (s *Server) attempt(ctx context.Context, o store.Outgoing) store.AttemptResult {
	fail := func(code int, retryAfter time.Duration, format string, args ...any) store.AttemptResult {
		return store.AttemptResult{Code: code, Error: fmt.Sprintf(format, args...),
			Retry: s.hooks.cfg.Backoff.Delay(o.Attempt, rand.Float64(), retryAfter)}
	}
	// The endpoint was checked when it was saved; what this sweep allows may
	// have narrowed since (http no longer allowed).
	if err := s.hooks.cfg.Targets.CheckURL(o.URL); err != nil {
		return fail(0, 0, "%s", sweep.ErrorMessage(err))
	}
	body, err := s.webhookBody(ctx, o)
	if err != nil {
		s.log.Error("render webhook body", "tenant_id", o.TenantID, "delivery_id", o.ID, "err", err)
		return fail(0, 0, "sweep could not prepare the event; it tries again.")
	}
	now := time.Now()
	sig, err := sweep.SignWebhook(o.Secrets(), o.MessageID, now, body)
	if err != nil {
		return fail(0, 0, "sweep could not sign the event with the endpoint's secret; rotate the secret.")
	}
	actx, cancel := context.WithTimeout(ctx, sweep.WebhookAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		return fail(0, 0, "The endpoint's URL cannot be sent to (%v); change it.", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sweep-webhooks/1")
	req.Header.Set("webhook-id", o.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.hooks.http.Do(req)
	if err != nil {
		return fail(0, 0, "%s", describeSendError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // the connection can be used again
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return store.AttemptResult{Delivered: true, Code: resp.StatusCode}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(resp.StatusCode, 0, "The receiver answered %s with a redirect to %q; redirects are not followed: point the endpoint at the final address.",
			resp.Status, sweep.SafeValue(resp.Header.Get("Location")))
	}
	return fail(resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), now), "The receiver answered %s.", sweep.SafeValue(resp.Status))
}

// webhookBody is the message's JSON, rendered the first time and kept.
func (s *Server) webhookBody(ctx context.Context, o store.Outgoing) ([]byte, error) {
	if o.Body.Valid {
		return []byte(o.Body.String), nil
	}
	var data any
	switch sweep.EventType(o.Type) {
	case sweep.EventCustomerDeleted:
		var cd wire.CustomerDeleted
		if err := json.Unmarshal(o.Snapshot, &cd); err != nil {
			return nil, fmt.Errorf("customer.deleted data: %w", err)
		}
		cd.DeletedAt = cd.DeletedAt.UTC()
		data = cd
	case sweep.EventWebhookTest:
		data = json.RawMessage(o.Snapshot)
	default:
		imp, err := s.db.ImportSnapshot(ctx, o.Snapshot)
		if err != nil {
			return nil, err
		}
		data = wire.FromImport(imp)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(wire.WebhookMessage{Type: sweep.EventType(o.Type), Timestamp: o.OccurredAt.UTC(), TenantID: o.TenantID, Data: raw})
	if err != nil {
		return nil, err
	}
	kept, err := s.db.KeepBody(ctx, o, b)
	return []byte(kept), err
}

// describeSendError says in words why a request got no answer.
func describeSendError(err error) string {
	var se *sweep.Error
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		return sweep.ErrorMessage(se)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ue) && ue.Timeout()):
		return fmt.Sprintf("The receiver did not answer within %s.", sweep.WebhookAttemptTimeout)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("The receiver's name %q does not resolve.", sweep.SafeValue(dnsErr.Name))
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Sprintf("sweep could not connect to the receiver (%s).", sweep.SafeValue(opErr.Err.Error()))
	}
	return fmt.Sprintf("The request failed (%s).", sweep.SafeValue(err.Error()))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if strings.Trim(h, "0123456789") == "" { // seconds, however many
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n > int64(sweep.MaxRetryAfter/time.Second) {
			return sweep.MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
