package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/wire"
)

const webhooksUsage = "webhooks: say list, add URL, show ID, set ID, remove ID, rotate-secret ID, test ID or deliveries ID"

// runWebhooksCLI is `sweep webhooks …`: the tenant's webhook endpoints
// through the API (admin scope).
func runWebhooksCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cmdline.UsageError{Msg: webhooksUsage}
	}
	sub, args := args[0], args[1:]
	fs := cmdline.NewFlags("webhooks " + sub)
	url, token, asJSON := apiFlags(fs, getenv)
	events := fs.String("events", "", "add, set: comma-separated events to send (all when empty; set: \"all\" for all): "+sweep.JoinEventTypes(sweep.EventTypes))
	desc := fs.String("description", "", "add, set: what the endpoint is for")
	newURL := fs.String("url-to", "", "set: the endpoint's new address")
	enable := fs.Bool("enable", false, "set: enable the endpoint (what waited for it is sent)")
	disable := fs.Bool("disable", false, "set: disable the endpoint (nothing is sent until it is enabled)")
	keep := fs.String("keep-old", "", "rotate-secret: how long the current secret also signs, such as 24h (default 24h; 0s: not at all)")
	status := fs.String("status", "", "deliveries: only pending, succeeded or failed")
	limit := fs.Int("limit", 20, "deliveries: how many, newest first")
	pos, err := cmdline.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c, err := newCLI(*url, *token, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	show := func(v any, text func()) error {
		if c.json {
			return json.NewEncoder(stdout).Encode(v)
		}
		text()
		return nil
	}
	if sub == "list" {
		if len(pos) != 0 {
			return cmdline.UsageError{Msg: "webhooks list takes no argument"}
		}
		l, err := c.api.Webhooks(ctx)
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(l, func() {
			if len(l.Webhooks) == 0 {
				fmt.Fprintln(stdout, "no webhook endpoints; add one with: sweep webhooks add https://…")
			}
			for _, w := range l.Webhooks {
				printWebhook(stdout, w)
			}
		})
	}
	if len(pos) != 1 {
		return cmdline.UsageError{Msg: fmt.Sprintf("webhooks %s takes one argument (see: sweep help)", sub)}
	}
	if sub == "add" {
		w, err := c.api.CreateWebhook(ctx, wire.NewWebhook{URL: pos[0], Description: *desc, Events: splitEvents(*events)})
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(w, func() {
			printWebhook(stdout, w)
			fmt.Fprintf(stdout, "signing secret (shown once, keep it with the receiver): %s\n", w.Secret)
		})
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return cmdline.UsageError{Msg: fmt.Sprintf("webhooks %s: %q is not an endpoint id", sub, pos[0])}
	}
	switch sub {
	case "show":
		w, err := c.api.Webhook(ctx, id)
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(w, func() { printWebhook(stdout, w) })
	case "set":
		var ch wire.WebhookChange
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "url-to":
				ch.URL = newURL
			case "description":
				ch.Description = desc
			case "events":
				ev := splitEvents(*events)
				if strings.TrimSpace(*events) == "all" {
					ev = []sweep.EventType{}
				}
				ch.Events = &ev
			}
		})
		if *enable && *disable {
			return cmdline.UsageError{Msg: "webhooks set: --enable or --disable, not both"}
		}
		if *enable || *disable {
			on := *enable
			ch.Enabled = &on
		}
		w, err := c.api.ChangeWebhook(ctx, id, ch)
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(w, func() { printWebhook(stdout, w) })
	case "remove":
		if err := c.api.DeleteWebhook(ctx, id); err != nil {
			return cmdline.Shown(err)
		}
		return show(map[string]any{"deleted": id}, func() { fmt.Fprintf(stdout, "webhook endpoint %d removed, with its delivery log\n", id) })
	case "rotate-secret":
		w, err := c.api.RotateWebhookSecret(ctx, id, wire.SecretRotation{KeepOldFor: *keep})
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(w, func() {
			fmt.Fprintf(stdout, "new signing secret (shown once): %s\n", w.Secret)
			if w.PreviousSecretExpiresAt != nil {
				fmt.Fprintf(stdout, "the previous secret also signs until %s\n", w.PreviousSecretExpiresAt.UTC().Format(time.RFC3339))
			} else {
				fmt.Fprintln(stdout, "the previous secret no longer signs")
			}
		})
	case "test":
		d, err := c.api.TestWebhook(ctx, id)
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(d, func() {
			fmt.Fprintf(stdout, "test event %s queued; see it with: sweep webhooks deliveries %d\n", d.WebhookID, id)
		})
	case "deliveries":
		l, err := c.api.Deliveries(ctx, id, client.DeliveryOptions{Status: sweep.DeliveryStatus(*status), Limit: *limit})
		if err != nil {
			return cmdline.Shown(err)
		}
		return show(l, func() {
			if len(l.Deliveries) == 0 {
				fmt.Fprintln(stdout, "no deliveries")
			}
			for _, d := range l.Deliveries {
				printDelivery(stdout, d)
			}
		})
	}
	return cmdline.UsageError{Msg: fmt.Sprintf("webhooks: unknown subcommand %q (%s)", sub, strings.TrimPrefix(webhooksUsage, "webhooks: say "))}
}

func splitEvents(s string) []sweep.EventType {
	var out []sweep.EventType
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "all" {
			out = append(out, sweep.EventType(f))
		}
	}
	return out
}

// printable replaces control characters (a terminal's escape sequences, line
// breaks) in what the API returned with "?": the CLI prints, never obeys.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, s)
}

func printWebhook(w io.Writer, h wire.Webhook) {
	state := "enabled"
	if !h.Enabled {
		state = "DISABLED"
	}
	events := "all events"
	if len(h.Events) > 0 {
		events = sweep.JoinEventTypes(h.Events)
	}
	fmt.Fprintf(w, "%d  %s  %s  (%s)\n", h.ID, printable(h.URL), state, printable(events))
	if h.Description != "" {
		fmt.Fprintf(w, "    %s\n", printable(h.Description))
	}
	if h.DisabledReason != "" {
		fmt.Fprintf(w, "    %s\n", printable(h.DisabledReason))
	}
	if h.FailingSince != nil {
		fmt.Fprintf(w, "    deliveries failing since %s\n", h.FailingSince.UTC().Format("2006-01-02 15:04:05 MST"))
	}
}

func printDelivery(w io.Writer, d wire.Delivery) {
	what := ""
	switch {
	case d.ImportID > 0:
		what = fmt.Sprintf(" import %d", d.ImportID)
	case d.CustomerID > 0:
		what = fmt.Sprintf(" customer %d", d.CustomerID)
	}
	fmt.Fprintf(w, "%s  %-24s%s  %s after %d attempt(s)", d.CreatedAt.UTC().Format("2006-01-02 15:04:05"), printable(string(d.Type)), what, d.Status, d.Attempts)
	if d.LastStatusCode > 0 {
		fmt.Fprintf(w, ", last answer %d", d.LastStatusCode)
	}
	fmt.Fprintf(w, "  %s\n", printable(d.WebhookID))
	if d.Status != sweep.DeliverySucceeded && d.LastError != "" {
		fmt.Fprintf(w, "    %s\n", printable(d.LastError))
	}
	if d.Status == sweep.DeliveryPending && d.NextAttemptAt != nil {
		fmt.Fprintf(w, "    next attempt at %s\n", d.NextAttemptAt.UTC().Format("15:04:05 MST"))
	}
}
