#!/usr/bin/env bash
# Builds each recipe twice — different directory, umask and time — and fails
# unless the manifest digests agree.
set -euo pipefail
bin=$(realpath "$1"); shift
for r in "$@"; do
  r=$(realpath "$r")
  a=$(cd "$(mktemp -d)" && umask 022 && "$bin" -q build -o out "$r")
  sleep 1
  b=$(cd "$(mktemp -d)" && umask 077 && "$bin" -q build -o out "$r")
  if [ "$a" != "$b" ]; then echo "NOT reproducible: $r: $a != $b"; exit 1; fi
  echo "reproducible: $r $a"
done
