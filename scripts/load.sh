#!/usr/bin/env bash
# A bounded load run on loopback: CALLS concurrent bridged calls through
# IVR → queue → agent with media both ways, driven by SIPp (callers press 1
# as RFC 4733 DTMF, then talk 29 s; agents answer and echo audio).
#
#   scripts/load.sh [CALLS] [RATE]      defaults: 200 calls at 10 new calls/s
#
# With SPEECH=1 (scripts/load-speech.sh) every call is recorded, its
# caller's side spotted live for three phrases (up to SPOT_CALLS at once,
# default all) and LIVE_CALLS (default 4) transcribed live on both sides,
# by the speech worker; the worker's CPU and the speech streams' figures
# are reported too.
#
# Writes load-results/<date>.txt with: SIPp call counts, call outcomes from
# the API, server CPU and memory (idle, at peak, per call), and RTP loss
# measured on what the callers received (tshark, per stream).
# Needs: sip-tester, tshark (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-200}
RATE=${2:-10}
OUT=load-results
mkdir -p "$OUT" bin
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RES="$OUT/$STAMP.txt"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  cp "$WORK/server.log" "$OUT/last-server.log" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o bin/switchboard ./cmd/switchboard
rm -rf ./switchboard-data-load
CONFIG=examples/load.yaml
if [ "${SPEECH:-}" = 1 ]; then
  go build -o bin/switchboard-speech ./cmd/switchboard-speech
  CONFIG="$WORK/load-speech.yaml"
  sed -e "s|^speech: {engine: off}|speech: {engine: worker, live_calls: ${LIVE_CALLS:-4}, spot_calls: ${SPOT_CALLS:-$CALLS}}|" \
      -e "0,/    music: hold-music/s//    music: hold-music\n    record: all\n    spot: [{phrase: cancel}, {phrase: supervisor, alert: true}, {phrase: refund}]/" \
      examples/load.yaml >"$CONFIG"
fi
./bin/switchboard serve --config "$CONFIG" --log-level warn >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done

api() { curl -sf -u admin:demo-admin "http://127.0.0.1:8080$1"; }
WORKER=""
if [ "${SPEECH:-}" = 1 ]; then
  for _ in $(seq 1 300); do
    api /api/v1/speech/live | grep -q '"ready": true' && break
    sleep 0.1
  done
  WORKER=$(api /api/v1/speech/live | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
fi
worker_ticks() { [ -n "$WORKER" ] && awk '{print $14+$15}' "/proc/$WORKER/stat" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$SERVER/stat"; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$SERVER/status"; }
CLK=$(getconf CLK_TCK)

# Agents: one SIPp answers for all of them (every agent's Contact is its port).
AGENTS=$((CALLS + CALLS / 10 + 5))
sipp -sf test/scenarios/agent_answer.xml -i 127.0.0.1 -mi 127.0.0.1 -p 5091 -mp 16000 -rtp_echo \
  -m $((CALLS * 2)) -timeout 240s -nostdin -buff_size 8388608 -trace_err -s agent >"$WORK/agents.out" 2>&1 &
PIDS+=("$!")
# Each agent registers as itself with digest auth (one short SIPp each, 25 at a time).
REG_OK=0
for e in $(seq 1001 $((1000 + AGENTS))); do
  ( cd "$WORK" && sipp 127.0.0.1:5060 -sf "$OLDPWD/test/scenarios/register.xml" -i 127.0.0.1 -p $((40000 + e)) -m 1 -s "$e" \
      -au "$e" -ap "demo$e" -key contact_port 5091 -key expires 600 -timeout 10s -nostdin >/dev/null 2>&1 && touch "reg.$e" ) &
  if (( e % 25 == 0 )); then wait -n 2>/dev/null || true; fi
done
wait_regs() {
  for _ in $(seq 1 100); do
    REG_OK=$(ls "$WORK" | grep -c '^reg\.' || true)
    [ "$REG_OK" -ge "$AGENTS" ] && return 0
    pgrep -f "register.xml" >/dev/null || return 0
    sleep 0.2
  done
}
wait_regs
# A second try, one at a time, for any registration lost in the burst.
for e in $(seq 1001 $((1000 + AGENTS))); do
  [ -e "$WORK/reg.$e" ] && continue
  ( cd "$WORK" && sipp 127.0.0.1:5060 -sf "$OLDPWD/test/scenarios/register.xml" -i 127.0.0.1 -p $((40000 + e)) -m 1 -s "$e" \
      -au "$e" -ap "demo$e" -key contact_port 5091 -key expires 600 -timeout 10s -nostdin >/dev/null 2>&1 && touch "reg.$e" ) || true
done
REG_OK=$(ls "$WORK" | grep -c '^reg\.' || true)
sleep 1
IDLE_RSS=$(rss_kib)

dumpcap -q -i lo -f "udp dst port 6000" -w "$WORK/callers.pcap" -a duration:$((CALLS / RATE + 45)) >/dev/null 2>&1 &
CAP=$!
PIDS+=("$CAP")
sleep 1
T0=$(date +%s.%N); C0=$(cpu_ticks); W0=$(worker_ticks)
sipp 127.0.0.1:5060 -sf test/load/caller_load.xml -i 127.0.0.1 -mi 127.0.0.1 -p 5080 -mp 6000 -s 100 \
  -r "$RATE" -l "$CALLS" -m "$CALLS" -timeout 180s -nostdin -buff_size 8388608 -trace_err >"$WORK/callers.out" 2>&1 &
CALLERS=$!
PIDS+=("$CALLERS")

# Sample the server while the callers run: the peak of active calls, with RSS.
PEAK=0; PEAK_RSS=0; PEAK_T=""; PC0=""; PT0=""
for _ in $(seq 1 1800); do
  kill -0 "$CALLERS" 2>/dev/null || break
  A=$(api /api/v1/stats | sed -n 's/.*"active_calls": \([0-9]*\).*/\1/p')
  A=${A:-0}
  if [ "$A" -gt "$PEAK" ]; then PEAK=$A; PEAK_RSS=$(rss_kib); fi
  if [ -n "$WORKER" ]; then
    S=$(api /api/v1/speech/live | sed -n 's/.*"streams": \([0-9]*\).*/\1/p')
    [ "${S:-0}" -gt "${PEAK_STREAMS:-0}" ] && PEAK_STREAMS=$S
  fi
  # CPU over 10 s while at least 95% of the calls are up
  if [ -z "$PC0" ] && [ "$A" -ge $((CALLS * 95 / 100)) ]; then PC0=$(cpu_ticks); PT0=$(date +%s.%N); fi
  if [ -n "$PC0" ] && [ -z "$PEAK_T" ] && awk "BEGIN{exit !($(date +%s.%N) - $PT0 >= 10)}"; then
    PEAK_CPU=$(awk "BEGIN{printf \"%.1f\", ($(cpu_ticks) - $PC0) / $CLK / ($(date +%s.%N) - $PT0) * 100}")
    PEAK_T=done
  fi
  sleep 0.1
done
wait "$CALLERS" && CALLERS_RC=0 || CALLERS_RC=$?
T1=$(date +%s.%N); C1=$(cpu_ticks); W1=$(worker_ticks)
kill -INT "$CAP" 2>/dev/null || true
sleep 2
STATS=$(api /api/v1/stats)
OUTCOMES=$(api "/api/v1/calls?limit=1000" | grep -o '"outcome": "[a-z_]*"' | sort | uniq -c | tr -s ' ')

read -r STREAMS PKTS LOST < <(tshark -r "$WORK/callers.pcap" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams 2>/dev/null |
  grep -E "g711|ITU-T" | awk '{for(i=1;i<=NF;i++) if($i ~ /^\(-?[0-9.]+%\)$/){lost+=$(i-1); pk+=$(i-2)}; n++} END{printf "%d %d %d\n", n, pk, lost}')

{
  echo "Switchboard load run $STAMP on $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "calls: $CALLS at $RATE/s; each: IVR greeting, DTMF 1, queue sales, agent answers, 29 s of G.711 both ways"
  echo "callers SIPp exit: $CALLERS_RC ($(grep -E 'Successful call|Failed call' "$WORK/callers.out" | tail -2 | awk -F'|' '{gsub(/ /,"",$1); gsub(/ /,"",$3); printf "%s=%s ", $1, $3}'))"
  echo "agents registered: $REG_OK of $AGENTS"
  echo "call outcomes: $OUTCOMES"
  echo "peak concurrent calls: $PEAK"
  echo "server RSS idle (agents registered): ${IDLE_RSS} KiB; at peak: ${PEAK_RSS} KiB; per call: $(( (PEAK_RSS - IDLE_RSS) / (PEAK > 0 ? PEAK : 1) )) KiB"
  echo "server CPU at >=95% of calls up, over 10 s: ${PEAK_CPU:-n/a}% of one core"
  echo "server CPU over the whole run: $(awk "BEGIN{printf \"%.1f\", ($C1 - $C0) / $CLK / ($T1 - $T0) * 100}")% of one core"
  echo "RTP received by callers: $STREAMS streams, $PKTS packets, $LOST lost ($(awk "BEGIN{if ($PKTS>0) printf \"%.4f\", $LOST*100/$PKTS; else print 0}")%)"
  echo "server stats: $(echo "$STATS" | tr -d '\n' | tr -s ' ')"
  if [ -n "$WORKER" ]; then
    echo "speech: live_calls ${LIVE_CALLS:-4}, spot_calls ${SPOT_CALLS:-$CALLS}; peak streams: ${PEAK_STREAMS:-0}"
    echo "speech worker CPU over the run (nice 10): $(awk "BEGIN{printf \"%.1f\", ($W1 - $W0) / $CLK / ($T1 - $T0) * 100}")% of one core"
    echo "speech: $(api /api/v1/speech/live | tr -d '\n' | tr -s ' ' | sed 's/"calls": \[[^]]*\]//')"
    sleep 5
    echo "transcripts stored so far: $(api "/api/v1/transcripts?q=the&limit=500" | grep -o '"call_id"' | wc -l) (matching \"the\")"
  fi
} | tee "$RES"
echo "results: $RES"
