#!/usr/bin/env bash
# The overload run of issue 13 (BENCHMARKS.md): a server with
# limits {max_calls: 60, max_calls_per_second: 20, max_lag: 40ms} carries 50
# long bridged calls (IVR → sales → an agent of the generator, G.711 both
# ways) while a surge at three times its call rate arrives (60 calls/s for
# 20 s); then, once the surge's calls have ended and the 50 are still up,
# 10 more calls must be taken again.
#
#   scripts/load-overload.sh
#
# Reports: the 50 held calls (answered, dropped by the server, RTP loss), the
# surge (placed, answered, refused with 503, with Retry-After), the recovery
# calls, the server's refusals by reason (from its log), that the server is
# alive after the surge and stops cleanly, and its CPU. Writes
# load-results/<date>-overload.json (the generator's report) and
# load-results/<date>-overload.txt (the summary). About 1.5 minutes.
# Loopback only: SIP 127.0.0.1:15060, HTTP 127.0.0.1:18080, the generator
# on 127.0.0.1:15070. Holds /tmp/e2e.lock while it runs, so it never
# overlaps socket tests that take the same lock.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LOAD_OVERLOAD_LOCKED:-}" ] && command -v flock >/dev/null; then
  export LOAD_OVERLOAD_LOCKED=1
  exec flock /tmp/e2e.lock "$0" "$@"
fi
HOLD=${HOLD:-50}
SURGE_RATE=${SURGE_RATE:-60}
SURGE_SECONDS=${SURGE_SECONDS:-20}
RECOVER=${RECOVER:-10}
HOLD_FOR=${HOLD_FOR:-50s}
LIMITS=${LIMITS:-"{max_calls: 60, max_calls_per_second: 20, max_lag: 40ms}"}
OUT=load-results
mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/switchboard" ./cmd/switchboard

CFG="$WORK/overload.yaml"
sed -e "s#data_dir: .*#data_dir: $WORK/data#" -e "s#sip_listen: .*#sip_listen: 127.0.0.1:15060#" \
  -e "s#http_listen: .*#http_listen: 127.0.0.1:18080#" examples/load.yaml >"$CFG"
printf '\nlimits: %s\n' "$LIMITS" >>"$CFG"
"$WORK/switchboard" config check -f "$CFG" >/dev/null
"$WORK/switchboard" serve --config "$CFG" --log-level warn >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:18080/healthz >/dev/null || { echo "server did not start:"; cat "$WORK/server.log"; exit 1; }

RES="$OUT/$STAMP-overload.json"
CMD=("$WORK/switchboard" load --target 127.0.0.1:15060 --sip-port 15070 --agents 80
  --hold "$HOLD" --hold-rate 10 --hold-for "$HOLD_FOR" --recover "$RECOVER"
  --calls $((SURGE_RATE * SURGE_SECONDS)) --rate "$SURGE_RATE" --aht 3s --handle-dist constant
  --server-pid "$SERVER" --timeout 4m --json)
echo "run: switchboard ${CMD[*]:1}" | sed "s#$WORK/##g"
"${CMD[@]}" >"$RES" 2>"$WORK/load.err" || { echo "load failed:"; tail -20 "$WORK/load.err"; exit 1; }

ALIVE=no
kill -0 "$SERVER" 2>/dev/null && curl -sf http://127.0.0.1:18080/healthz >/dev/null && ALIVE=yes
kill -TERM "$SERVER"
EXIT=0
wait "$SERVER" || EXIT=$?
SERVER=""
count() { grep -c "$1" "$WORK/server.log" || true; }
{
  echo "command: switchboard ${CMD[*]:1}" | sed -e "s#$WORK/##g" -e "s#--server-pid [0-9]*#--server-pid <server>#"
  echo "server limits: $LIMITS (examples/load.yaml otherwise); machine: $(nproc) cores, $(uname -sr)"
  python3 - "$RES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
o, s, g = r["overload"], r.get("server") or {}, r.get("generator") or {}
for name in ("hold", "surge", "recovery"):
    p = o[name]
    print(f"{name}: placed {p['placed']} ({p['first_invite_s']:.1f}-{p['last_invite_s']:.1f} s), answered {p['answered']}, "
          f"refused 503 {p['refused_503']} (with Retry-After {p['refused_503_with_retry_after']}), failed {p['failed']}, "
          f"dropped by the server {p['dropped']}; RTP lost {p['rtp_packets_lost']} of {p['rtp_packets_received'] + p['rtp_packets_lost']} "
          f"({p['rtp_loss_percent']:.3f}%), fewest received on one leg {p['min_rtp_packets_received_per_leg']}"
          + (f"; all connected at {p['all_connected_s']:.1f} s" if p.get('all_connected_s') else "")
          + (f", first ended at {p['first_end_s']:.1f} s" if p.get('first_end_s') else ""))
print(f"all: placed {r['placed']}, answered {r['answered']}, refused 503 {r['refused_503']}, failed {r['failed']}, peak {r['peak_concurrent_calls']} concurrent; "
      f"setup p50/p99 {r['setup_latency_ms']['p50']:.1f}/{r['setup_latency_ms']['p99']:.1f} ms; jitter mean {r['jitter_ms_mean']:.1f} ms, max {r['jitter_ms_max']:.1f} ms")
print(f"server CPU {s.get('cpu_percent_of_one_core', 0):.0f}% avg / {s.get('peak_cpu_percent_of_one_core', 0):.0f}% busiest 5 s of one core, "
      f"RSS {s.get('start_rss_mib', 0):.0f} -> {s.get('peak_rss_mib', 0):.0f} MiB; generator CPU {g['cpu_percent_of_one_core']:.0f}% avg / {g['peak_cpu_percent_of_one_core']:.0f}% peak")
for e in r.get("errors") or []:
    print("error:", e)
PY
  echo "server refusals (log): at capacity $(count 'reason="at capacity'), over the call rate $(count 'reason="over '), lagging $(count 'reason="overloaded'); lag episodes $(count 'node lagging')"
  echo "server after the surge: alive and healthy: $ALIVE; stopped with exit code $EXIT; panics in its log: $(count 'panic')"
} | tee "$OUT/$STAMP-overload.txt"
echo "results: $RES, $OUT/$STAMP-overload.txt"
