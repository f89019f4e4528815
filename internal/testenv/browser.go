package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the path of a Chromium or Chrome binary for browser tests:
// SWEEP_TEST_CHROMIUM, else the first of chromium, chromium-browser,
// google-chrome on the PATH. Without one the test is skipped, or fails under
// SWEEP_TEST_REQUIRE_SERVICES=1 (`make services` installs Debian's chromium
// when run as root).
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SWEEP_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "no Chromium for the browser test (apt-get install chromium, or set SWEEP_TEST_CHROMIUM)")
	return ""
}
