#!/bin/sh
# docker-entrypoint.sh: starts the aerys-cluster master as the container's main process.
set -eu

config="${AERYS_CONFIG:-/etc/aerys/aerys.config.mjs}"
cli="${AERYS_CLUSTER_BIN:-/opt/aerys-cluster/packages/master/bin/aerys-cluster.js}"

if [ ! -r "$config" ]; then
  echo "docker-entrypoint: configuration file $config is missing or unreadable; mount it or set AERYS_CONFIG" >&2
  exit 78
fi

# exec replaces this shell, so the master receives the runtime's SIGTERM itself and drains.
# JSON logs even under `docker run -t`, because a log collector reads them.
exec node "$cli" start --config "$config" --log-format json "$@"
