#!/usr/bin/env bash
# The demo, end to end: build the nginx jail from recipes/nginx.yaml, unpack
# it, start it with `jailimg run`, fetch a page from it with curl, show the
# jail's size and contents, and stop it. Needs root (jailimg run chroots).
set -euo pipefail
bin=$(realpath "${1:-bin/jailimg}")
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== jailimg build recipes/nginx.yaml"
"$bin" build -o "$work/image" recipes/nginx.yaml
echo
echo "== jailimg unpack (a bundle: current -> gen-*/rootfs)"
"$bin" unpack "$work/image" "$work/jail"
echo
echo "== jailimg check (setuid files, shells, devices, writable paths...)"
"$bin" check "$work/jail" && echo "no findings"
echo
echo "== jailimg run (chroot, www-data, no capabilities, seccomp, Landlock, own pid and IPC namespaces)"
# Logs and state go to --state (default /var/lib/jailimg/nginx); the
# error log to this host's syslog through the jail's /dev/log.
"$bin" run --pidfile "$work/nginx.pid" --state "$work/state" "$work/jail" &
pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null http://127.0.0.1:8080/ && break
  kill -0 "$pid" 2>/dev/null || { echo "jailimg run exited" >&2; exit 1; }
  sleep 0.1
done
echo
echo "== curl http://127.0.0.1:8080/"
curl -sS -i http://127.0.0.1:8080/
echo
echo "== the service, as the kernel sees it"
init=$(cat "$work/nginx.pid")   # the jail's init, PID 1 of its pid namespace; nginx is its child
svc=$(cut -d' ' -f1 "/proc/$init/task/$init/children")
grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp|NSpid):' "/proc/$svc/status"
echo
echo "== the jail's contents"
(cd "$work/jail/current/rootfs" && find . -mindepth 1 -printf '%M %-17u %8s %P' \
  \( -type l -printf ' -> %l' -o -true \) -printf '\n' | sort -k4)
echo
echo "== size"
du -sh --apparent-size "$work/image/blobs" | sed 's/\t.*/ compressed image/'
du -sh --apparent-size "$work/jail/current/rootfs" | sed 's/\t.*/ unpacked jail/'
echo "   vs. $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances nginx-light 2>/dev/null | grep -v -e '^ ' -e '^<' | sort -u |
  xargs dpkg-query -W -f '${db:Status-Abbrev} ${Installed-Size}\n' 2>/dev/null |
  awk '$1 == "ii" {s += $2} END {printf "%.1fM", s / 1024}') for nginx-light and the packages it depends on, installed"
echo
echo "== stop (SIGTERM, forwarded to nginx)"
kill -TERM "$pid"
wait "$pid" && echo "nginx exited cleanly"
pid=
