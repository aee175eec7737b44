#!/usr/bin/env bash
# Refresh the vendored front-end assets (KERN UX, htmx) from the npm registry.
# Usage: scripts/refresh-vendor.sh [KERN_VERSION] [HTMX_VERSION]
set -euo pipefail
kern_version=${1:-2.7.2}
htmx_version=${2:-2.0.11}
root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/src/rathaus/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "@kern-ux/native@$kern_version" >/dev/null
npm pack --silent "htmx.org@$htmx_version" >/dev/null
mkdir kern htmx
tar xzf kern-ux-native-*.tgz -C kern
tar xzf htmx.org-*.tgz -C htmx
cp kern/package/dist/kern.min.css kern/package/LICENSE.md "$static/kern/"
for weight in Regular Italic SemiBold Bold; do
  cp "kern/package/dist/fonts/fira-sans/FiraSans-$weight.woff2" "$static/kern/fonts/"
done
cp htmx/package/dist/htmx.min.js htmx/package/LICENSE "$static/htmx/"
echo "KERN UX $kern_version and htmx $htmx_version copied to $static"
