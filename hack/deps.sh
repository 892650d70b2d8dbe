#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need on a Debian machine,
# through apt and the Go module proxy, skipping whatever is already there.
# Usage: hack/deps.sh [test|vet|demo|bench]
set -euo pipefail
what=${1:-test}

# make vet's linter, pinned: a newer staticcheck may bring new checks.
if ! command -v staticcheck >/dev/null 2>&1; then
  echo "hack/deps.sh: installing staticcheck" >&2
  GOBIN=/usr/local/bin go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
[ "$what" = vet ] && exit 0

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want umoci umoci
want skopeo skopeo
want zstd zstd
want pigz pigz
want mkfs.ext4 e2fsprogs
want mkfs.xfs xfsprogs
want losetup mount
want curl curl
want dig dnsutils
want docker-registry docker-registry
# the package tests build a second Debian 12 machine to build the same jail in
want mmdebstrap mmdebstrap
# the plain-HTTP tests put a registry in a network namespace of their own
want ip iproute2
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -x /bin/busybox ] || need+=(busybox-static)
# the services of recipes/ (recipes/recipes_test.go runs each one)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
[ -x /usr/sbin/lighttpd ] || need+=(lighttpd)
[ -x /usr/sbin/named ] || need+=(bind9)
[ -x /usr/sbin/unbound ] || need+=(unbound)
[ -x /usr/sbin/nsd ] || need+=(nsd)
[ -x /usr/bin/python3.11 ] || need+=(python3.11) # recipes/python.yaml, with libsqlite3
want jq jq
# the terminal recording of pull's progress bars (cmd/jailimg/progress_test.go)
want tmux tmux
# the race detector of make test's second pass needs cgo, hence a C compiler
want gcc gcc
# resolve's host test compares these binaries' closures with ldd's
want git git
want ssh openssh-client
want python3 python3
if [ "$what" = bench ]; then
  want gnuplot gnuplot-nox
  want hyperfine hyperfine
  # GNU time measures unpack's peak memory (bench/measure.go: peakRSS)
  [ -x /usr/bin/time ] || need+=(time)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "hack/deps.sh: missing ${need[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "hack/deps.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The daemons are test subjects: their packages must not start them (they
  # would take ports 53 and 80 on the host). policy-rc.d exit 101 says so.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v crane >/dev/null 2>&1; then
  echo "hack/deps.sh: installing crane" >&2
  GOBIN=/usr/local/bin go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
fi
# syft, a vulnerability scanners' cataloger: the recipes test checks that it
# finds the jails' Debian packages (dpkg: true). A first build takes minutes.
if [ "$what" = test ] && ! command -v syft >/dev/null 2>&1; then
  echo "hack/deps.sh: installing syft (building it takes a few minutes)" >&2
  GOBIN=/usr/local/bin go install github.com/anchore/syft/cmd/syft@v1.57.0
fi
# cosign, the reference for image signatures: the signing tests check that
# it verifies what jailimg signs and that jailimg verifies what it signs.
# v2 (v3 defaults to a new bundle format and online TUF). Minutes to build.
if [ "$what" = test ] && ! command -v cosign >/dev/null 2>&1; then
  echo "hack/deps.sh: installing cosign (building it takes a few minutes)" >&2
  GOBIN=/usr/local/bin go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
fi
