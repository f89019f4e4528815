#!/usr/bin/env bash
# Checks the Prometheus alerting rules and runs their unit tests with promtool:
# one on the PATH (or SWEEP_PROMTOOL), else Debian's prometheus package (which
# ships promtool) is installed when run as root. Without either, the check is
# skipped with a message, except in CI (SWEEP_TEST_REQUIRE_SERVICES=1), where it
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool="${SWEEP_PROMTOOL:-}"
if [ -z "$promtool" ] && command -v promtool >/dev/null 2>&1; then
	promtool=$(command -v promtool)
fi
if [ -z "$promtool" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "promtool: installing Debian's prometheus package (for promtool)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
	promtool=$(command -v promtool)
fi
if [ -z "$promtool" ]; then
	if [ "${SWEEP_TEST_REQUIRE_SERVICES:-}" = 1 ]; then
		echo "promtool: not found and not root; install Debian's prometheus package or set SWEEP_PROMTOOL" >&2
		exit 1
	fi
	echo "promtool: not found and not root; the alert rules are not checked (install Debian's prometheus package, or set SWEEP_PROMTOOL)"
	exit 0
fi
"$promtool" check rules deploy/prometheus/alerts.yml
"$promtool" test rules deploy/prometheus/alerts_test.yml
