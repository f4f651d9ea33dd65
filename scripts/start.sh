#!/usr/bin/env bash
# Sets up the repository and starts the demo cluster in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/master/bin/aerys-cluster.js start --config examples/demo/aerys.config.mjs "$@"
