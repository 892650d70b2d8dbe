#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME (the first argument, 30s by default),
# showing go test's progress, then prints how many inputs each target ran:
# the last "elapsed: ..., execs: N" status line of each.
set -euo pipefail
go=${GO:-go}
fuzztime=${1:-30s}
targets=(pkg/recipe:FuzzParse pkg/recipe:FuzzInclude pkg/resolve:FuzzResolve pkg/unpack:FuzzUnpack pkg/dpkg:FuzzParagraphs
  pkg/sign:FuzzParsePayload pkg/sign:FuzzOpenEnvelope pkg/sign:FuzzParseKey
  pkg/deb:FuzzOpen pkg/apt:FuzzParseDeps pkg/lock:FuzzParse)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary=()
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t#*:}
  "$go" test "./$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" 2>&1 | tee "$log"
  last=$(grep -o 'elapsed: [^,]*, execs: [0-9]*' "$log" | tail -n 1 || true)
  summary+=("$name: ${last:-no status line}")
done
echo "fuzz summary (FUZZTIME=$fuzztime):"
printf '  %s\n' "${summary[@]}"
