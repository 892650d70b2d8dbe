#!/usr/bin/env bash
# Prints the size table of docs/recipes.md: for each sample recipe, the
# image built from it (compressed and unpacked, file count) against the
# Debian package's dependency closure as installed, and what the jail
# leaves out. Needs the packages installed (hack/deps.sh test) and jq.
# Usage: hack/recipes-table.sh [JAILIMG]   (default bin/jailimg)
set -euo pipefail
bin=${1:-bin/jailimg}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# recipe → the Debian package the jail stands in for
recipes=(nginx:nginx-light apache2:apache2 lighttpd:lighttpd bind9:bind9 unbound:unbound nsd:nsd busybox:busybox-static python:python3.11)

# closure PKG: the installed packages of PKG's recursive Depends/Pre-Depends
# closure (what apt-get install --no-install-recommends PKG installs), one a line.
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "$1" 2>/dev/null |
    grep -v -e '^ ' -e '^<' | sort -u |
    xargs dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null |
    awk '$1 == "ii" {print $2}'
}

# regular PKG...: the regular files the packages installed, resolved through
# the merged-/usr symlinks, one a line.
regular() {
  dpkg -L "$@" 2>/dev/null | sort -u | while IFS= read -r f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then readlink -f "$f"; fi
  done | sort -u
}

mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }

echo "| Recipe | Image (compressed) | Unpacked | Entries | Debian closure installed | Smaller by (compressed / unpacked) | Left out |"
echo "|---|---|---|---|---|---|---|"
for r in "${recipes[@]}"; do
  name=${r%%:*} pkg=${r#*:}
  "$bin" -q build -o "$work/$name" "recipes/$name.yaml" >/dev/null
  compressed=$(find "$work/$name/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  "$bin" inspect --json "$work/$name" >"$work/$name.json"
  entries=$(jq '.files | length' "$work/$name.json")
  unpacked=$(jq '[.files[] | select(.type == "file" or .type == "symlink") | .size] | add' "$work/$name.json")
  jq -r '.files[] | select(.type == "file") | .path' "$work/$name.json" | sort -u >"$work/$name.files"

  mapfile -t pkgs < <(closure "$pkg")
  kib=$(dpkg-query -W -f '${Installed-Size}\n' "${pkgs[@]}" | awk '{s += $1} END {print s}')
  closure_bytes=$((kib * 1024))
  regular "${pkgs[@]}" >"$work/$name.closure"
  total=$(wc -l <"$work/$name.closure")
  kept=$(comm -12 "$work/$name.closure" "$work/$name.files" | wc -l)
  # where the named package's own left-out files were
  own=$(regular "$pkg" | comm -23 - "$work/$name.files" |
    awk -F/ '{print "/" $2 "/" $3 (NF > 4 ? "/" $4 : "")}' | sort | uniq -c | sort -rn | head -5 |
    awk '{printf "%s%s (%d)", (NR > 1 ? ", " : ""), $2, $1}')
  ratio=$(awk -v c="$closure_bytes" -v i="$compressed" -v u="$unpacked" 'BEGIN {printf "%.1f× / %.1f×", c / i, c / u}')
  echo "| $name | $(mib "$compressed") | $(mib "$unpacked") | $entries | $(mib "$closure_bytes") in ${#pkgs[@]} packages | $ratio | $((total - kept)) of the closure's $total files; of $pkg itself: ${own:-nothing} |"
done
