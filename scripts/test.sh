#!/usr/bin/env bash
# Installs everything the test suite uses and runs it: Debian tools (curl, nghttp2-client, wrk,
# prometheus, haproxy, slowhttptest) when missing and when this user may install them, then the
# workspace, then every test file.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-tools.sh
bash scripts/setup.sh
node scripts/run-tests.mjs "$@"
