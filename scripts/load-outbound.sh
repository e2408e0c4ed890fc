#!/usr/bin/env bash
# The outbound load run of BENCHMARKS.md, on loopback: 100 agents (the Go
# generator, agents only) work a predictive campaign that dials up to 300
# lines over the trunk to the generator's called party (people, machines
# with greetings and beeps, busies, no answers).
#
#   scripts/load-outbound.sh [minutes]     default 5
#
# Prints the campaign's figures (attempts, connects, drops, abandonment),
# the agents' occupancy as the agent report gives it, and the server's CPU
# and peak RSS; writes load-results/<date>-outbound.json.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-5}
OUT=load-results
mkdir -p "$OUT" bin
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
go build -o bin/switchboard ./cmd/switchboard

# examples/load.yaml with the demo's trunk to the called party, its own data
sed -e 's|^    inbound_sources: \[127.0.0.0/8, "::1"\]|    inbound_sources: [127.0.0.0/8, "::1"]\n    outbound: {host: "127.0.0.1:5080", transport: udp}|' \
    -e "s|data_dir: ./switchboard-data-load|data_dir: $WORK/data|" examples/load.yaml > "$WORK/setup.yaml"
./bin/switchboard serve --config "$WORK/setup.yaml" --log-level info >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done

SECS=$((MINUTES * 60))
./bin/switchboard load --callee --listen 127.0.0.1:5080 --rtp-ports 50000-59999 --answer-rate 0.3 --machine-rate 0.15 \
  --busy-rate 0.1 --ring 6s --talk 120s --duration $((SECS + 60))s --json >"$WORK/callee.json" 2>"$WORK/callee.log" &
CALLEE=$!
PIDS+=("$CALLEE")
./bin/switchboard load --agents 100 --first-ext 1001 --calls 0 --agents-for $((SECS + 30))s --aht 60s --handle-dist lognormal \
  --ring-delay 200ms --rtp-ports 40000-49999 --json >"$WORK/agents.json" 2>"$WORK/agents.log" &
AGENTS=$!
PIDS+=("$AGENTS")
for _ in $(seq 1 100); do
  n=$(curl -s -u supervisor:demo-supervisor http://127.0.0.1:8080/api/v1/queues/sales | python3 -c 'import json,sys; print(json.load(sys.stdin).get("agents_logged_in", 0))' 2>/dev/null || echo 0)
  [ "$n" -ge 100 ] && break
  sleep 0.2
done

api() { curl -sf -u supervisor:demo-supervisor "$@"; }
api -X POST http://127.0.0.1:8080/api/v1/campaigns -d '{"name": "load", "mode": "predictive", "queue": "sales", "caller_id": "5550100",
  "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "max_lines": 300, "ring_timeout": "20s"}' >/dev/null
python3 -c 'print("number"); [print(6000000 + i) for i in range(100000)]' >"$WORK/contacts.csv"
api -X POST -H 'Content-Type: text/csv' --data-binary @"$WORK/contacts.csv" http://127.0.0.1:8080/api/v1/campaigns/load/contacts >/dev/null
CPU0=$(awk '{print $14 + $15}' /proc/$SERVER/stat)
T0=$(date +%s.%N)
api -X POST http://127.0.0.1:8080/api/v1/campaigns/load/start >/dev/null
echo "dialling for $MINUTES minutes..."
PEAK=0
for _ in $(seq 1 "$SECS"); do
  sleep 1
  l=$(api http://127.0.0.1:8080/api/v1/campaigns/load | python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"])')
  [ "$l" -gt "$PEAK" ] && PEAK=$l
done
CPU1=$(awk '{print $14 + $15}' /proc/$SERVER/stat)
T1=$(date +%s.%N)
RSS=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)
FROM=$(date -u -d "@${T0%.*}" +%Y-%m-%dT%H:%M:%SZ)
TO=$(date -u -d "@$((${T1%.*} + 1))" +%Y-%m-%dT%H:%M:%SZ)
api -X POST http://127.0.0.1:8080/api/v1/campaigns/load/pause >/dev/null
api http://127.0.0.1:8080/api/v1/campaigns/load >"$WORK/status.json"
api "http://127.0.0.1:8080/api/v1/reports/agents?from=$FROM&to=$TO" >"$WORK/agents-report.json"
python3 - "$WORK" "$CPU0" "$CPU1" "$T0" "$T1" "$RSS" "$PEAK" "$OUT/$STAMP-outbound.json" <<'PY'
import json, os, sys
work, cpu0, cpu1, t0, t1, rss, peak, out = sys.argv[1:]
hz = os.sysconf("SC_CLK_TCK")
st = json.load(open(f"{work}/status.json"))
ag = json.load(open(f"{work}/agents-report.json"))
occ = [a["occupancy"] for a in ag.get("rows", []) if a.get("occupancy") is not None]
secs = float(t1) - float(t0)
cpu = (float(cpu1) - float(cpu0)) / hz
res = {"seconds": round(secs, 1), "attempts": st["attempts"], "live": st["live"], "connected": st["connected"],
       "machines": st["machines"], "dropped": st["abandoned"], "abandon_rate": st["abandon_rate"],
       "peak_lines": int(peak), "agent_occupancy_mean": round(sum(occ) / len(occ), 3) if occ else None,
       "server_cpu_seconds": round(cpu, 1), "server_cpu_share_of_one_core": round(cpu / secs, 3), "server_peak_rss_mb": round(int(rss) / 1024, 1)}
json.dump(res, open(out, "w"), indent=2)
print(json.dumps(res, indent=2))
PY
gzip -c "$WORK/server.log" >"$OUT/$STAMP-outbound-server.log.gz"
