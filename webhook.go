package sweep

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EventType names what happened, in a webhook's body and its subscriptions.
type EventType string

// The events a webhook endpoint can subscribe to, and the test event an
// operator sends on demand.
const (
	EventImportValidated        EventType = "import.validated"
	EventImportRejected         EventType = "import.rejected"
	EventImportAwaitingApproval EventType = "import.awaiting_approval"
	EventImportCompleted        EventType = "import.completed" // completed and completed_with_errors
	EventImportFailed           EventType = "import.failed"
	EventImportCancelled        EventType = "import.cancelled"
	// EventImportDeleted: an import record was removed (DELETE
	// /v1/imports/{id}); its data is the import as it was, so a request
	// awaiting approval that was withdrawn is seen as such.
	EventImportDeleted   EventType = "import.deleted"
	EventCustomerDeleted EventType = "customer.deleted" // one customer through the API
	EventWebhookTest     EventType = "webhook.test"     // sent to one endpoint when asked, whatever it subscribes to
)

// EventTypes are the events an endpoint may subscribe to, in the order the
// API lists them.
var EventTypes = []EventType{EventImportValidated, EventImportRejected, EventImportAwaitingApproval,
	EventImportCompleted, EventImportFailed, EventImportCancelled, EventImportDeleted, EventCustomerDeleted}

// ImportEventType returns the event an import entering status s sends, and
// false for a status that sends none. The database's webhook trigger holds the
// same table (migration 00012); a test checks they agree.
func ImportEventType(s Status) (EventType, bool) {
	switch s {
	case StatusValidated:
		return EventImportValidated, true
	case StatusRejected:
		return EventImportRejected, true
	case StatusAwaitingApproval:
		return EventImportAwaitingApproval, true
	case StatusCompleted, StatusCompletedWithErrors:
		return EventImportCompleted, true
	case StatusFailed:
		return EventImportFailed, true
	case StatusCancelled:
		return EventImportCancelled, true
	}
	return "", false
}

// ParseEventTypes checks a subscription list: known types, each once. An
// empty list subscribes to every event.
func ParseEventTypes(list []string) ([]EventType, error) {
	out := make([]EventType, 0, len(list))
	for _, s := range list {
		t := EventType(s)
		if !slices.Contains(EventTypes, t) {
			return nil, Errorf(EINVALID, "There is no event %q; subscribe to some of %s, or to none for all of them.", SafeValue(s), JoinEventTypes(EventTypes))
		}
		if slices.Contains(out, t) {
			return nil, Errorf(EINVALID, "Event %q is listed twice; list each event once.", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// JoinEventTypes lists events for people: "import.completed, import.failed".
func JoinEventTypes(ts []EventType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Webhook is an endpoint of a tenant that sweep sends events to.
type Webhook struct {
	ID          int64
	TenantID    int64
	URL         string
	Description string
	Events      []EventType // empty: every event
	Enabled     bool
	// DisabledReason says why sweep disabled the endpoint (it failed for too
	// long), or that a person did; DisabledAt when.
	DisabledReason string
	DisabledAt     *time.Time
	// FailingSince is when its deliveries began to fail, while they do.
	FailingSince *time.Time
	// PreviousSecretExpiresAt is, during a rotation, until when deliveries
	// are also signed with the secret before the last rotation.
	PreviousSecretExpiresAt *time.Time
	CreatedAt, UpdatedAt    time.Time
}

// Subscribes reports whether the endpoint wants events of type t.
func (w Webhook) Subscribes(t EventType) bool {
	return t == EventWebhookTest || len(w.Events) == 0 || slices.Contains(w.Events, t)
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses: pending until the receiver answers 2xx (succeeded), or
// until its endpoint is disabled or deleted (failed).
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one event on its way to one endpoint: its log entry.
type Delivery struct {
	ID         int64
	WebhookID  int64
	TenantID   int64
	MessageID  string // the webhook-id header: the same on every attempt
	Type       EventType
	Status     DeliveryStatus
	Attempts   int
	LastCode   int    // the receiver's last HTTP status (0: no answer)
	LastError  string // why the last attempt failed, in words
	ImportID   int64
	CustomerID int64
	CreatedAt  time.Time
	// LastAttemptAt, NextAttemptAt (while pending) and DeliveredAt.
	LastAttemptAt, NextAttemptAt, DeliveredAt *time.Time
}

// WebhookSecretPrefix starts every signing secret, as Standard Webhooks has it.
const WebhookSecretPrefix = "whsec_"

// NewWebhookSecret returns a new signing secret: whsec_ and 32 random bytes
// in base64.
func NewWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// SignWebhook returns the webhook-signature header for a message: for each
// secret, v1 and the base64 HMAC-SHA256 of "id.timestamp.body" keyed with
// the secret's bytes, space-separated (Standard Webhooks, symmetric
// signatures). A secret that is not whsec_ and base64 is an error.
func SignWebhook(secrets []string, id string, timestamp time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, WebhookSecretPrefix))
		if err != nil || !strings.HasPrefix(s, WebhookSecretPrefix) {
			return "", fmt.Errorf("webhook secret is not %s and base64", WebhookSecretPrefix)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// WebhookTargets says where webhooks may go. Receivers are outside sweep's
// trust: by default only https, and never an address in a blocked network
// (loopback, private, link-local, the cloud metadata addresses, …) unless an
// operator allows that network.
type WebhookTargets struct {
	AllowHTTP bool
	Allow     []netip.Prefix
}

// blockedNetworks are refused unless allowed: they reach sweep's own host,
// its private network or a cloud's metadata service rather than a receiver
// on the internet.
var blockedNetworks = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "fd00:ec2::254/128", "64:ff9b:1::/48",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// CheckURL checks an endpoint's address as a person typed it: an absolute
// https URL (http when allowed) with a host, no user or fragment, and, when
// the host is an address, one sweep may send to.
func (t WebhookTargets) CheckURL(raw string) error {
	const max = 2000
	if len(raw) > max {
		return Errorf(EINVALID, "The webhook URL is longer than %d characters; use a shorter address.", max)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return Errorf(EINVALID, "The webhook URL %q has a space or a control character; send the address alone, percent-encoded.", SafeValue(raw))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return Errorf(EINVALID, "The webhook URL %q is not an absolute URL; give one such as https://example.com/hooks/sweep.", SafeValue(raw))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && t.AllowHTTP:
	case u.Scheme == "http":
		return Errorf(EINVALID, "The webhook URL must use https; this sweep does not send to http:// addresses (an operator may allow them with SWEEP_WEBHOOK_ALLOW_HTTP).")
	default:
		return Errorf(EINVALID, "The webhook URL must use https, not %q.", SafeValue(u.Scheme))
	}
	if u.User != nil {
		return Errorf(EINVALID, "The webhook URL must not carry a user name or password; authenticate the deliveries by their signature.")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Errorf(EINVALID, "The webhook URL must not have a #fragment; remove it.")
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return Errorf(EINVALID, "The webhook URL's host %q names a network interface (%%zone); give a public name or address.", SafeValue(host))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Errorf(EINVALID, "The webhook URL's port %q is not a port from 1 to 65535.", SafeValue(p))
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return t.CheckAddr(addr)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return t.CheckAddr(netip.MustParseAddr("127.0.0.1"))
	}
	if net.ParseIP(host) != nil || strings.ContainsAny(host, " %") {
		return Errorf(EINVALID, "The webhook URL's host %q is not a name or an address sweep can send to.", SafeValue(host))
	}
	return nil
}

// CheckAddr refuses an address in a blocked network that no allowed one
// covers. Deliveries check every address they connect to, so a name that
// resolves to a blocked address is refused then.
func (t WebhookTargets) CheckAddr(addr netip.Addr) error {
	// A zone (fe80::1%eth0) says which interface, not which host: the
	// address alone is checked. An IPv4 address inside an IPv6 one (mapped,
	// compatible, NAT64, 6to4) is checked as itself too.
	addr = addr.WithZone("").Unmap()
	if v4, ok := embeddedIPv4(addr); ok {
		if err := t.CheckAddr(v4); err != nil {
			return err
		}
	}
	for _, p := range t.Allow {
		if p.Contains(addr) {
			return nil
		}
	}
	for _, p := range blockedNetworks {
		if p.Contains(addr) {
			return Errorf(EINVALID, "Webhooks are not sent to %s: it is in %s, a loopback, private, link-local or metadata network. Use a public address (an operator may allow a network with SWEEP_WEBHOOK_ALLOW_NETWORKS).", addr, p)
		}
	}
	return nil
}

var (
	siit           = netip.MustParsePrefix("::ffff:0:0:0/96")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address carries and reaches.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case ipv4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case nat64.Contains(a), siit.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// ParseNetworks reads a comma-separated list of networks (10.1.0.0/16) or
// addresses (127.0.0.1).
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a network such as 10.1.0.0/16 nor an address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// WebhookBackoff spaces a delivery's attempts: after attempt n failed, the
// next waits Base·2^(n-1), at most Max, then ±20 % at random, and never less
// than the receiver's Retry-After (up to a day).
type WebhookBackoff struct {
	Base, Max time.Duration
}

// Default webhook delivery settings.
const (
	DefaultWebhookRetryBase    = 5 * time.Second
	DefaultWebhookRetryMax     = time.Hour
	DefaultWebhookDisableAfter = 72 * time.Hour
	// DefaultWebhookConcurrency is how many attempts may be in flight at
	// once in all, and how many one worker process can make at once: a
	// worker alone takes everything dispatched, so no event waits in a queue
	// behind slow receivers.
	DefaultWebhookConcurrency = 32
	WebhookAttemptTimeout     = 5 * time.Second
	MaxRetryAfter             = 24 * time.Hour
)

// Delay returns how long to wait before the attempt after attempt n (1 for
// the first), given a random number in [0, 1) and the receiver's
// Retry-After (0 when it gave none).
func (b WebhookBackoff) Delay(n int, random float64, retryAfter time.Duration) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	d = time.Duration(float64(d) * (0.8 + 0.4*random))
	return max(d, min(retryAfter, MaxRetryAfter))
}
