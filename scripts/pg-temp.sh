#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and for trying the cluster on one
# machine, from the Debian package's binaries (postgresql):
#
#   scripts/pg-temp.sh start DIR PORT [ADDRESS]   initdb in DIR (if new), start, wait until it answers
#   scripts/pg-temp.sh stop DIR                   stop it (fast shutdown)
#
# The cluster listens on ADDRESS (default 127.0.0.1) and on a socket in DIR,
# trusts local connections only, and has one superuser, postgres: the DSN is
# postgres://postgres@ADDRESS:PORT/postgres?sslmode=disable. Run as root, it
# runs PostgreSQL as the postgres user (initdb refuses root), and lets that
# user pass through the directories above DIR (chmod o+x). With
# PG_TEMP_FAST=1 it does not fsync (for tests: the cluster is thrown away).
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT [ADDRESS] | stop DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
case "$cmd" in
start)
  port=${3:?port}; addr=${4:-127.0.0.1}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # The postgres user must reach DIR: let it pass through (not list) the
    # directories above it, as mktemp's are root's alone.
    up=$(dirname "$dir")
    while [ "$up" != / ]; do
      [ "$(stat -c %u "$up")" != 0 ] || chmod o+x "$up"
      up=$(dirname "$up")
    done
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    log=$(mktemp)
    "${as[@]}" "$bin/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$log" 2>&1 \
      || { cat "$log" >&2; rm -f "$log"; exit 1; }
    rm -f "$log"
  fi
  if "${as[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then exit 0; fi # already running
  opts="-c listen_addresses=$addr -c port=$port -c unix_socket_directories=$dir -c max_connections=200"
  [ "${PG_TEMP_FAST:-}" != 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  "${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; exit 1; }
  ;;
stop)
  [ -f "$dir/postmaster.pid" ] || exit 0
  "${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || true
  ;;
*) echo "usage: $0 start DIR PORT [ADDRESS] | stop DIR" >&2; exit 2 ;;
esac
