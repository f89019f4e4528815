package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sweephq/sweep/internal/cmdline"
)

// Every command of sweep-dev answers --help with its usage and flags, and
// succeeds, doing nothing else (the database it names cannot be reached).
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	broken := func(k string) string {
		return map[string]string{"SWEEP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
			"SWEEP_CHUNK_SIZE": "lots"}[k]
	}
	commands := cmdline.Commands(usage, "sweep-dev")
	if strings.Join(commands, ",") != "seed,demo,bench,version" {
		t.Fatalf("the usage lists %v", commands)
	}
	for _, c := range commands {
		var out strings.Builder
		if err := run(context.Background(), []string{c, "--help"}, broken, &out, io.Discard); err != nil {
			t.Errorf("sweep-dev %s --help: %v", c, err)
		} else if !strings.HasPrefix(out.String(), "Usage:\n  sweep-dev "+c) {
			t.Errorf("sweep-dev %s --help printed:\n%s", c, out.String())
		}
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"bench", "--impact", "--help"}, broken, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "-impact-customers") || !strings.Contains(out.String(), "-sweep") {
		t.Errorf("sweep-dev bench --impact --help = %v:\n%s", err, out.String())
	}
}
