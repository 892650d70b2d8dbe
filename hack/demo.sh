#!/usr/bin/env bash
# The demo: build the nginx jail from recipes/nginx.yaml and show what it holds.
set -euo pipefail
bin=${1:-bin/jailimg}
out=$(mktemp -d)/nginx
trap 'rm -rf "$(dirname "$out")"' EXIT

echo "== jailimg build recipes/nginx.yaml"
"$bin" build -o "$out" recipes/nginx.yaml
echo
echo "== jailimg inspect (the whole jail)"
"$bin" inspect "$out"
echo
echo "== size"
du -sh --apparent-size "$out/blobs" | sed 's/\t.*/ compressed image/'
echo "   vs. $(dpkg-query -Wf '${Installed-Size}\n' nginx-light nginx-common libc6 libssl3 libpcre2-8-0 zlib1g 2>/dev/null | awk '{s+=$1} END {printf "%.1fM", s/1024}') for the Debian packages nginx-light needs"
