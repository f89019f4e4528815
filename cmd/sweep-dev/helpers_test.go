package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// buildSweep builds the sweep server binary into a temporary directory, for
// the bench's workers.
func buildSweep(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sweep")
	out, err := exec.Command("go", "build", "-o", bin, "../sweep").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
