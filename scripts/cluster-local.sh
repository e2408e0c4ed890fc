#!/usr/bin/env bash
# A Switchboard cluster on this machine, for trying it and for the cluster
# tests: PostgreSQL, Kamailio in front, and N nodes on the demo setup.
#
#   scripts/cluster-local.sh up DIR N    start everything under DIR; returns once every node answers /healthz
#   scripts/cluster-local.sh down DIR    stop all of it
#
# Under DIR: PostgreSQL on 127.0.0.1:5433 (a throwaway cluster, scripts/pg-temp.sh;
# database "switchboard"), Kamailio on 127.0.0.1:5060 UDP and TCP
# (deploy/kamailio/kamailio.cfg), and node k (1-based) named node<k>, with SIP
# on 127.0.0.(k+1):5060, HTTP on 127.0.0.(k+1):8080, RTP on 127.0.0.(k+1),
# its setup in DIR/node<k>.yaml, its log in DIR/node<k>.log and its PID in
# DIR/node<k>.pid. Call and register through 127.0.0.1:5060.
# Needs the Debian packages postgresql and kamailio (scripts/test.sh installs them).
# SWITCHBOARD_SETUP names another setup file to run instead of the demo's
# (its server: lines are rewritten the same way).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}; dir=${2:-}
usage() { echo "usage: $0 up DIR N | down DIR" >&2; exit 2; }
[ -n "$cmd" ] && [ -n "$dir" ] || usage
PGPORT=5433
SETUP=${SWITCHBOARD_SETUP:-examples/demo.yaml}
DSN="postgres://postgres@127.0.0.1:$PGPORT/switchboard?sslmode=disable"

stop_pid() { # pidfile
  [ -f "$1" ] || return 0
  local p; p=$(cat "$1")
  if kill "$p" 2>/dev/null; then
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$1"
}

case "$cmd" in
up)
  n=${3:-}
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || usage
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  go build -o "$dir/switchboard" ./cmd/switchboard

  scripts/pg-temp.sh start "$dir/pg" "$PGPORT" 127.0.0.1
  psql -q "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'switchboard'" | grep -q 1 \
    || psql -q "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable" -c "CREATE DATABASE switchboard"

  # Kamailio, with the nodes as its dispatcher set 1.
  mkdir -p "$dir/kamailio"
  : >"$dir/kamailio/dispatcher.list"
  for k in $(seq 1 "$n"); do echo "1 sip:127.0.0.$((k + 1)):5060 0 0 duid=node$k" >>"$dir/kamailio/dispatcher.list"; done
  modules=$(dirname "$(ls /usr/lib/*/kamailio/modules/dispatcher.so /usr/lib/kamailio/modules/dispatcher.so 2>/dev/null | head -1)")
  [ -n "$modules" ] && [ "$modules" != . ] || { echo "kamailio is not installed (apt-get install kamailio)" >&2; exit 1; }
  sed -e "s#@LISTEN@#127.0.0.1:5060#g; s#@MODULES@#$modules/#; s#@RUNDIR@#$dir/kamailio#g; s#@HOST@#127.0.0.1#g" \
    deploy/kamailio/kamailio.cfg >"$dir/kamailio/kamailio.cfg"
  kamailio -c -f "$dir/kamailio/kamailio.cfg" >"$dir/kamailio/check.log" 2>&1 || { cat "$dir/kamailio/check.log" >&2; exit 1; }
  if [ ! -f "$dir/kamailio.pid" ] || ! kill -0 "$(cat "$dir/kamailio.pid")" 2>/dev/null; then
    kamailio -f "$dir/kamailio/kamailio.cfg" -DD -E -P "$dir/kamailio/kamailio.pid" -Y "$dir/kamailio" >"$dir/kamailio.log" 2>&1 &
    echo $! >"$dir/kamailio.pid"
  fi

  # The nodes: the demo setup on their own addresses and the shared store.
  for k in $(seq 1 "$n"); do
    ip=127.0.0.$((k + 1))
    sed -e "s#^  sip_listen: .*#  sip_listen: $ip:5060#; s#^  sip_tls_listen: .*#  sip_tls_listen: $ip:5061#" \
        -e "s#^  http_listen: .*#  http_listen: $ip:8080#; s#^  data_dir: .*#  data_dir: $dir/node$k#" \
        -e "s#^  media_ip: .*#  media_ip: $ip#" "$SETUP" >"$dir/node$k.yaml"
    # Kamailio (127.0.0.1) is the proxy in front: its X-Switchboard-Source
    # header names where a request really came from.
    printf '\nstore: {driver: postgres, dsn: "%s"}\nnode: {name: node%d, proxies: [127.0.0.1]}\n' "$DSN" "$k" >>"$dir/node$k.yaml"
    if [ -f "$dir/node$k.pid" ] && kill -0 "$(cat "$dir/node$k.pid")" 2>/dev/null; then continue; fi
    "$dir/switchboard" serve --config "$dir/node$k.yaml" >>"$dir/node$k.log" 2>&1 &
    echo $! >"$dir/node$k.pid"
  done
  for k in $(seq 1 "$n"); do
    ok=""
    for _ in $(seq 1 300); do
      if curl -sf "http://127.0.0.$((k + 1)):8080/healthz" >/dev/null; then ok=1; break; fi
      kill -0 "$(cat "$dir/node$k.pid")" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$ok" ] || { echo "node$k did not start:" >&2; tail -20 "$dir/node$k.log" >&2; exit 1; }
  done
  echo "cluster up: Kamailio 127.0.0.1:5060, $n nodes (127.0.0.2..127.0.0.$((n + 1)), HTTP :8080), PostgreSQL 127.0.0.1:$PGPORT"
  ;;
down)
  [ -d "$dir" ] || exit 0
  for f in "$dir"/node*.pid; do [ -e "$f" ] && stop_pid "$f"; done
  stop_pid "$dir/kamailio.pid"
  scripts/pg-temp.sh stop "$dir/pg"
  ;;
*) usage ;;
esac
