package uploader

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/store"
	"github.com/sweephq/sweep/wire"
)

const (
	webhookExample       = `{"url": "https://example.com/hooks/sweep", "events": ["import.completed", "import.failed"]}`
	maxWebhookBody       = 16 << 10
	maxWebhookDesc       = 500
	defaultKeepOldSecret = 24 * time.Hour
	maxKeepOldSecret     = 7 * 24 * time.Hour
)

// checkWebhookBody validates b's members and returns the change they ask for.
func (s *Server) checkWebhookBody(b wire.WebhookChange) (store.WebhookChange, error) {
	var ch store.WebhookChange
	if b.URL != nil {
		u := *b.URL
		if err := s.webhookTargets.CheckURL(u); err != nil {
			return ch, err
		}
		ch.URL = &u
	}
	if b.Description != nil {
		d := strings.TrimSpace(*b.Description)
		if utf8.RuneCountInString(d) > maxWebhookDesc || strings.IndexFunc(d, unsafeRune) >= 0 {
			return ch, sweep.Errorf(sweep.EINVALID, "The description must be one line of text of at most %d characters, without control characters.", maxWebhookDesc)
		}
		ch.Description = &d
	}
	if b.Events != nil {
		names := make([]string, len(*b.Events))
		for i, e := range *b.Events {
			names[i] = string(e)
		}
		events, err := sweep.ParseEventTypes(names)
		if err != nil {
			return ch, err
		}
		ch.Events = &events
	}
	ch.Enabled = b.Enabled
	return ch, nil
}

// unsafeRune reports a character a description may not hold: a control
// character or a bidirectional override, which would make a terminal or a
// page show other text than was stored.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

func webhookID(r *http.Request) (int64, error) {
	id, ok := sweep.ParsePathID(r.PathValue("id"))
	if !ok {
		return 0, sweep.Errorf(sweep.ENOTFOUND, "Webhook endpoint %q was not found; endpoint ids are positive whole numbers.", sweep.SafeValue(r.PathValue("id")))
	}
	return id, nil
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.db.Webhooks(r.Context(), principal(r).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.WebhookList{Webhooks: make([]wire.Webhook, len(hooks))}
	for i, h := range hooks {
		out.Webhooks[i] = wire.FromWebhook(h)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var b wire.WebhookChange
	sent, err := s.readJSON(w, r, &b, maxWebhookBody, webhookExample)
	if err == nil && (!sent || b.URL == nil) {
		err = sweep.Errorf(sweep.EINVALID, "Give the endpoint's url: send JSON such as %s.", webhookExample)
	}
	if err == nil && b.Enabled != nil && !*b.Enabled {
		err = sweep.Errorf(sweep.EINVALID, "A new endpoint is enabled; leave enabled out, and disable it later with PATCH if you must.")
	}
	var ch store.WebhookChange
	if err == nil {
		ch, err = s.checkWebhookBody(b)
	}
	var secret string
	if err == nil {
		secret, err = sweep.NewWebhookSecret()
	}
	var hook sweep.Webhook
	if err == nil {
		hook = sweep.Webhook{TenantID: principal(r).TenantID, URL: *ch.URL}
		if ch.Description != nil {
			hook.Description = *ch.Description
		}
		if ch.Events != nil {
			hook.Events = *ch.Events
		}
		hook, err = s.db.CreateWebhook(r.Context(), hook, secret)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook endpoint created", "tenant_id", hook.TenantID, "webhook_endpoint_id", hook.ID)
	out := wire.FromWebhook(hook)
	out.Secret = secret
	w.Header().Set("Location", out.Links.Self)
	w.Header().Set("Cache-Control", "no-store") // it carries the secret
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	var hook sweep.Webhook
	if err == nil {
		hook, err = s.db.GetWebhook(r.Context(), principal(r).TenantID, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.FromWebhook(hook))
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	var b wire.WebhookChange
	var sent bool
	if err == nil {
		sent, err = s.readJSON(w, r, &b, maxWebhookBody, `{"enabled": true}`)
	}
	if err == nil && (!sent || b == (wire.WebhookChange{})) {
		err = sweep.Errorf(sweep.EINVALID, "Say what to change: send JSON with some of url, description, events and enabled, such as {\"enabled\": true}.")
	}
	var ch store.WebhookChange
	if err == nil {
		ch, err = s.checkWebhookBody(b)
	}
	var hook sweep.Webhook
	if err == nil {
		ch.By = principal(r).Name
		hook, err = s.db.UpdateWebhook(r.Context(), principal(r).TenantID, id, ch)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook endpoint changed", "tenant_id", hook.TenantID, "webhook_endpoint_id", hook.ID, "enabled", hook.Enabled)
	writeJSON(w, http.StatusOK, wire.FromWebhook(hook))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	if err == nil {
		err = s.db.DeleteWebhook(r.Context(), principal(r).TenantID, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook endpoint deleted", "tenant_id", principal(r).TenantID, "webhook_endpoint_id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	var b wire.SecretRotation
	if err == nil {
		_, err = s.readJSON(w, r, &b, maxWebhookBody, `{"keep_old_for": "24h"}`)
	}
	keep := defaultKeepOldSecret
	if err == nil && b.KeepOldFor != "" {
		keep, err = time.ParseDuration(strings.TrimSpace(b.KeepOldFor))
		if err != nil || keep < 0 || keep > maxKeepOldSecret || (keep > 0 && keep < time.Second) {
			err = sweep.Errorf(sweep.EINVALID, "keep_old_for must be 0s or a duration from 1s to 168h, such as \"24h\"; found %q.", sweep.SafeValue(b.KeepOldFor))
		}
	}
	var secret string
	if err == nil {
		secret, err = sweep.NewWebhookSecret()
	}
	var hook sweep.Webhook
	if err == nil {
		hook, err = s.db.RotateWebhookSecret(r.Context(), principal(r).TenantID, id, secret, keep)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook secret rotated", "tenant_id", hook.TenantID, "webhook_endpoint_id", hook.ID, "keep_old_for", keep)
	out := wire.FromWebhook(hook)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	if err == nil {
		_, err = s.readJSON(w, r, &struct{}{}, maxWebhookBody, `{}`)
	}
	var d sweep.Delivery
	if err == nil {
		data, _ := json.Marshal(wire.WebhookTest{WebhookID: id,
			Message: fmt.Sprintf("A test event from sweep, sent when %s asked for it.", principal(r).Name)})
		d, err = s.db.SendTestWebhook(r.Context(), principal(r).TenantID, id, data)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, wire.FromDelivery(d))
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	q := store.DeliveryQuery{Status: sweep.DeliveryStatus(r.URL.Query().Get("status"))}
	switch q.Status {
	case "", sweep.DeliveryPending, sweep.DeliverySucceeded, sweep.DeliveryFailed:
	default:
		err = sweep.Errorf(sweep.EINVALID, "status must be pending, succeeded or failed; found %q.", sweep.SafeValue(string(q.Status)))
	}
	var limit int64
	if err == nil {
		limit, err = queryInt(r, "limit", 50, 1, 500)
	}
	if err == nil {
		q.Before, err = queryInt(r, "before", 0, 0, 1<<62)
	}
	var ds []sweep.Delivery
	if err == nil {
		q.Limit = int(limit)
		ds, err = s.db.Deliveries(r.Context(), principal(r).TenantID, id, q)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.DeliveryList{Deliveries: make([]wire.Delivery, len(ds))}
	for i, d := range ds {
		out.Deliveries[i] = wire.FromDelivery(d)
	}
	if len(ds) == int(limit) {
		out.Next = fmt.Sprintf("/v1/webhooks/%d/deliveries?limit=%d&before=%d", id, limit, ds[len(ds)-1].ID)
		if q.Status != "" {
			out.Next += "&status=" + string(q.Status)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleResendDelivery sends a delivery given up as failed again.
func (s *Server) handleResendDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := webhookID(r)
	var delivery int64
	if err == nil {
		var ok bool
		if delivery, ok = sweep.ParsePathID(r.PathValue("delivery")); !ok {
			err = sweep.Errorf(sweep.ENOTFOUND, "Delivery %q was not found; delivery ids are positive whole numbers.", sweep.SafeValue(r.PathValue("delivery")))
		}
	}
	if err == nil {
		_, err = s.readJSON(w, r, &struct{}{}, maxWebhookBody, `{}`)
	}
	var ds []sweep.Delivery
	if err == nil {
		ds, err = s.db.ResendDeliveries(r.Context(), principal(r).TenantID, id, delivery, time.Time{}, time.Time{})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook delivery resent", "tenant_id", principal(r).TenantID, "webhook_endpoint_id", id, "delivery_id", delivery)
	writeJSON(w, http.StatusAccepted, wire.FromDelivery(ds[0]))
}

// handleRecoverWebhook sends again every delivery of an endpoint given up
// as failed within a time range.
func (s *Server) handleRecoverWebhook(w http.ResponseWriter, r *http.Request) {
	const example = `{"since": "2026-12-01T00:00:00Z"}`
	id, err := webhookID(r)
	var body wire.Recover
	if err == nil {
		var sent bool
		sent, err = s.readJSON(w, r, &body, maxWebhookBody, example)
		if err == nil && (!sent || body.Since.IsZero()) {
			err = sweep.Errorf(sweep.EINVALID, "Say since when failed deliveries are sent again: send %s.", example)
		}
	}
	var until time.Time
	if err == nil && body.Until != nil {
		if until = *body.Until; !until.After(body.Since) {
			err = sweep.Errorf(sweep.EINVALID, "until must come after since.")
		}
	}
	var ds []sweep.Delivery
	if err == nil {
		ds, err = s.db.ResendDeliveries(r.Context(), principal(r).TenantID, id, 0, body.Since, until)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook deliveries recovered", "tenant_id", principal(r).TenantID, "webhook_endpoint_id", id, "resent", len(ds))
	writeJSON(w, http.StatusAccepted, wire.Recovered{Resent: len(ds)})
}
