#!/usr/bin/env bash
# The cluster load run (issue 16): two nodes on one PostgreSQL behind
# Kamailio (scripts/cluster-local.sh) carry 1,000 concurrent bridged calls
# (IVR → queue → agent, 60 s of G.711 both ways), placed by the Go
# generator through Kamailio, whose 1,100 agents register through Kamailio
# too (examples/load.yaml plus agents 2000–2100, as in load-go.sh
# concurrent). Prints each node's CPU per call and per call-second (the
# processes' utime+stime over the run), Kamailio's CPU, and the ACD's
# decision latency across nodes: from a call entering the queue on its
# node to the leader's offer reaching that node (the records' queued_at
# to offered_at), p50/p99 per node. Takes about 3 minutes; not part of
# the test command. Writes load-results/<date>-cluster.json and
# load-results/<date>-cluster.txt.
#
#   scripts/load-cluster.sh [calls] [rate]      default: 1000 40
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-1000}
RATE=${2:-40}
OUT=load-results
mkdir -p "$OUT" bin
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d)
cleanup() { scripts/cluster-local.sh down "$WORK/c" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
go build -o bin/switchboard ./cmd/switchboard

CFG="$WORK/load-1100.yaml"
cp examples/load.yaml "$CFG"
for e in $(seq 2000 2100); do
  echo "  - {extension: \"$e\", password: demo$e, queues: [sales], login_on_register: true}" >>"$CFG"
done
SWITCHBOARD_SETUP="$CFG" scripts/cluster-local.sh up "$WORK/c" 2 >/dev/null

# CPU ticks of a process and its threads; of all Kamailio's processes.
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
kamailio_ticks() {
  local sum=0 p
  for p in $(pgrep -f "kamailio -f $WORK/c/kamailio/kamailio.cfg"); do
    sum=$((sum + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
N1=$(cat "$WORK/c/node1.pid"); N2=$(cat "$WORK/c/node2.pid")
T1=$(ticks "$N1"); T2=$(ticks "$N2"); TK=$(kamailio_ticks)
START=$(date +%s.%N)
./bin/switchboard load --target 127.0.0.1:5060 --agents 1100 --calls "$CALLS" --rate "$RATE" --aht 60s --handle-dist constant \
  --timeout 6m --json >"$OUT/$STAMP-cluster.json" 2>"$WORK/load.err" || { tail -20 "$WORK/load.err"; exit 1; }
END=$(date +%s.%N)
U1=$(( $(ticks "$N1") - T1 )); U2=$(( $(ticks "$N2") - T2 )); UK=$(( $(kamailio_ticks) - TK ))

SQL="postgres://postgres@127.0.0.1:5433/switchboard?sslmode=disable"
psql -q "$SQL" -At -F ' ' -c "SELECT node, COUNT(*), COALESCE(SUM(ended_at - arrived_at), 0) / 1000.0,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY offered_at - queued_at), percentile_cont(0.99) WITHIN GROUP (ORDER BY offered_at - queued_at)
  FROM calls WHERE dialed = '100' AND ended_at IS NOT NULL GROUP BY node ORDER BY node" >"$WORK/nodes.txt"
LEADER=$(curl -sf -u admin:demo-admin http://127.0.0.2:8080/api/v1/cluster | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])')
python3 - "$OUT/$STAMP-cluster.json" "$WORK/nodes.txt" "$U1" "$U2" "$UK" "$(getconf CLK_TCK)" "$START" "$END" "$LEADER" <<'PY' | tee "$OUT/$STAMP-cluster.txt"
import json, sys
res, nodes, u1, u2, uk, hz, start, end, leader = sys.argv[1:]
r = json.load(open(res))
hz = float(hz); wall = float(end) - float(start)
cpu = {"node1": int(u1) / hz, "node2": int(u2) / hz}
print(f"cluster load: placed {r['placed']} answered {r['answered']} failed {r['failed']}, peak {r['peak_concurrent_calls']} concurrent, "
      f"setup p50/p99 {r['setup_latency_ms']['p50']:.1f}/{r['setup_latency_ms']['p99']:.1f} ms, RTP loss {r['rtp_loss_percent']:.3f}%, over {wall:.0f} s; leader {leader}")
for line in open(nodes):
    name, calls, callsec, p50, p99 = line.split()
    c = cpu.get(name, 0.0)
    print(f"  {name}: {calls} calls, {float(callsec):.0f} call-seconds, CPU {c:.1f} s = {c / max(int(calls), 1) * 1000:.1f} ms per call, "
          f"{c / max(float(callsec), 1) * 1000:.3f} ms per call-second; ACD decision (queued → offer at the node) p50 {float(p50):.0f} ms, p99 {float(p99):.0f} ms")
print(f"  kamailio: CPU {int(uk) / hz:.1f} s ({int(uk) / hz / wall * 100:.0f}% of one core)")
PY
