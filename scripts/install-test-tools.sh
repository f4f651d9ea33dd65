#!/usr/bin/env bash
# Installs the Debian packages that the end-to-end tests drive. Tests that need a missing tool
# fail with the package name, so a machine without apt still gets a clear message.
set -euo pipefail

# command -> Debian package
declare -A tools=(
  [curl]=curl
  [haproxy]=haproxy
  [slowhttptest]=slowhttptest
  [ss]=iproute2
  [ip]=iproute2
  [getent]=libc-bin
  [h2load]=nghttp2-client
  [nghttp]=nghttp2-client
  [prometheus]=prometheus
  [promtool]=prometheus
  [script]=bsdutils
  [systemd-analyze]=systemd
  [wrk]=wrk
)

missing=()
for tool in "${!tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tools[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing test tools and no apt-get to install them: $packages" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian packages for the tests: $packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages >/dev/null
