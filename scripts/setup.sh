#!/usr/bin/env bash
# Installs what the repository needs on a machine that has only Node.js 20+ and npm: pnpm (the
# version pinned in package.json), the workspace's packages, and the compiled TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

pinned=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$pinned" ]; then
  echo "Installing pnpm $pinned with npm..."
  npm install --global "pnpm@$pinned" >/dev/null
fi

pnpm install --frozen-lockfile
pnpm run build
