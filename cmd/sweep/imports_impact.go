package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/internal/cmdline"
	"github.com/sweephq/sweep/wire"
)

// showImpact is `sweep imports impact ID`: what starting the import will
// delete, what it skips and why, and about how long it takes.
func (c *cliClient) showImpact(ctx context.Context, id int64) error {
	m, err := c.api.Impact(ctx, id)
	if err != nil {
		return cmdline.Shown(err)
	}
	if c.json {
		return json.NewEncoder(c.stdout).Encode(m)
	}
	// One column of names and one of counts, right-aligned, under each heading.
	width := 0
	label := func(r wire.RelatedCount) string { return strings.TrimSpace(r.Kind + " " + r.Action) }
	for _, r := range m.Related {
		width = max(width, len(label(r)))
	}
	for _, sk := range m.Skipped {
		width = max(width, len(sk.Reason))
	}
	row := func(name string, n int64) { fmt.Fprintf(c.stdout, "  %-*s %12s\n", width, name, sweep.Commas(n)) }
	fmt.Fprintf(c.stdout, "import %d deletes %s customers and %s related rows:\n", m.ImportID, sweep.Commas(m.Customers), sweep.Commas(m.RelatedRows))
	for _, r := range m.Related {
		row(label(r), r.Rows)
	}
	if len(m.Skipped) > 0 {
		fmt.Fprintf(c.stdout, "and skips %s rows:\n", sweep.Commas(m.SkippedRows))
		for _, sk := range m.Skipped {
			row(strings.ReplaceAll(sk.Reason, "_", " "), sk.Rows)
		}
	}
	if m.FileError != "" {
		fmt.Fprintf(c.stdout, "file error: %s\n", m.FileError)
	}
	fmt.Fprintf(c.stdout, "takes about %s for %s rows at %s rows/s (%s)\n", previewDuration(m.EstimatedSeconds), sweep.Commas(m.Rows),
		sweep.Commas(int64(m.RowsPerSecond)), m.Basis)
	ids := m.SampleKeys
	for _, s := range m.Sample {
		ids = append(ids, strconv.FormatInt(s, 10))
	}
	if len(ids) > 0 {
		fmt.Fprintf(c.stdout, "for example customers %s\n", strings.Join(ids, ", "))
	}
	fmt.Fprintf(c.stdout, "as of %s\n", m.ComputedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	return nil
}

// previewDuration writes a number of seconds as the page does: "45 s",
// "4 min 30 s", "2 h 5 min".
func previewDuration(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %d min", int64(d.Hours()), s%3600/60)
}
