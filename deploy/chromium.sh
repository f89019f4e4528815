#!/usr/bin/env bash
# Makes a Chromium available for the browser test of the Import screen: uses
# one on the PATH (or SWEEP_TEST_CHROMIUM), else installs Debian's chromium
# package when run as root. Without either the browser test is skipped (or
# fails under SWEEP_TEST_REQUIRE_SERVICES=1, as in CI).
set -euo pipefail

if [ -n "${SWEEP_TEST_CHROMIUM:-}" ]; then
	echo "chromium: using $SWEEP_TEST_CHROMIUM"
	exit 0
fi
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		echo "chromium: using $(command -v "$b")"
		exit 0
	fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "chromium: installing Debian's chromium package"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
	command -v chromium
	exit 0
fi
echo "chromium: not found and not root; the browser test will be skipped (install chromium, or set SWEEP_TEST_CHROMIUM)"
