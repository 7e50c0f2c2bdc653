#!/usr/bin/env bash
# Install Edge Impulse's Linux tools (npm package edge-impulse-linux: the remote management daemon the
# device tests run against Tinyforge) into a cache folder. Idempotent; needs node and npm (installed with
# apt-get when run as root). The tests look in $TINYFORGE_EI_LINUX_DIR (default ~/.cache/tinyforge/ei-linux).
set -euo pipefail
version=1.25.2
dest="${TINYFORGE_EI_LINUX_DIR:-$HOME/.cache/tinyforge/ei-linux}"
pkg="$dest/node_modules/edge-impulse-linux/package.json"
if [ -f "$pkg" ] && grep -q "\"version\": \"$version\"" "$pkg" && [ -d "$dest/node_modules/@img" ]; then
    echo "edge-impulse-linux $version already installed in $dest"
    exit 0
fi
if ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then echo "npm is missing: apt-get install nodejs npm" >&2; exit 1; fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$dest"
# sharp 0.32 (the daemon's pin) downloads libvips from GitHub in an install script; 0.33 has the same API
# and ships libvips as npm packages, so no install script has to download anything.
cat > "$dest/package.json" <<JSON
{"private": true, "dependencies": {"edge-impulse-linux": "$version"}, "overrides": {"sharp": "0.33.5"}}
JSON
npm install --prefix "$dest" --no-audit --no-fund --ignore-scripts --loglevel=error
echo "installed edge-impulse-linux $version in $dest"
