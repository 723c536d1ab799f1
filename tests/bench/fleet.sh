#!/usr/bin/env bash
# tests/bench/run fleet: one collector and N simulated agents
# (steward-fleetsim, tests/fleetsim/) on this machine; see docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"

usage() {
  cat <<'USAGE'
usage: tests/bench/run fleet [--agents N] [--window SECONDS] [--interval SECONDS]
                             [--packages N] [--no-storm] [--no-build] [--keep]
  --agents N        simulated agents (default 1000)
  --window S        steady-state measuring window after all delivered (default 60)
  --interval S      the agents' collection interval (default 10)
  --packages N      inventory items per agent (default 1500)
  --no-storm        skip the reconnect storm (kill -9 and restart of the collector)
  --no-build        use the binaries in build/ as they are
  --keep            keep the temp dir (data, logs) and print where it is
Ends with one line:
RESULT agents=N connect_s=… collector_cpu_pct=… collector_rss_mb=… collector_rss_after_leave_mb=…
       rss_per_agent_kb=… rss_per_series_bytes=… ingest_samples_per_s=… e2e_p50_ms=… e2e_p99_ms=…
       reconnect_storm_s=… rollout_s=… q_hosts_ms=… q_software_name_ms=… q_fleet_avg_ms=…
       sim_cpu_pct=… sim_rss_mb=…
USAGE
}

AGENTS=1000 WINDOW=60 INTERVAL=10 PACKAGES=1500 STORM=1 BUILD_IT=1 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --agents) AGENTS="${2:?--agents needs a number}"; shift 2 ;;
    --window) WINDOW="${2:?--window needs seconds}"; shift 2 ;;
    --interval) INTERVAL="${2:?--interval needs seconds}"; shift 2 ;;
    --packages) PACKAGES="${2:?--packages needs a number}"; shift 2 ;;
    --no-storm) STORM=0; shift ;;
    --no-build) BUILD_IT=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$AGENTS" "$WINDOW" "$INTERVAL" "$PACKAGES"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a positive whole number" >&2; exit 2; }
done

# step, warn, need, free_port, wait_for
source "$ROOT/tests/bench/lib.sh"
need pgrep procps

if [ "$BUILD_IT" = 1 ]; then
  step "building steward-collector stewardctl steward-fleetsim in $BUILD"
  STEWARD_BUILD_DIR="$BUILD" "$ROOT/deploy/build.sh" --target steward-collector stewardctl steward-fleetsim >&2
fi
COLLECTOR="$BUILD/collector/steward-collector"
CTL="$BUILD/collector/ctl/stewardctl"
SIM="$BUILD/tests/fleetsim/steward-fleetsim"
for f in "$COLLECTOR" "$CTL" "$SIM"; do
  [ -x "$f" ] || { echo "error: $f is missing (run without --no-build)" >&2; exit 1; }
done

# Each agent holds a connection on both sides, plus enrollments in flight.
NOFILE="$(ulimit -n)"
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((AGENTS + 1000)) ]; then
  echo "error: the open-file limit is $NOFILE; $AGENTS agents need at least $((AGENTS + 1000)) (ulimit -n)" >&2
  exit 1
fi

TMP="$(mktemp -d /tmp/steward-bench-fleet.XXXXXX)"
mkdir -p "$TMP/logs"
COLLECTOR_PID="" SIM_PID=""
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  [ -n "$COLLECTOR_PID" ] && kill "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept: $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

HZ="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# The newest FLEETSIM line's value of KEY.
sim_value() { grep '^FLEETSIM ' "$TMP/fleetsim.out" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

PORT="$(free_port)"
start_collector() {
  "$COLLECTOR" --data-dir "$TMP/collector" --listen "127.0.0.1:$PORT" --http-listen off \
    >>"$TMP/logs/steward-collector.log" 2>&1 </dev/null &
  COLLECTOR_PID=$!
}
step "starting steward-collector on 127.0.0.1:$PORT (data in $TMP/collector)"
start_collector
wait_for 60 "$COLLECTOR_PID" steward-collector grep -q '^collector = ' "$TMP/collector/admin.conf"
export STEWARD_CONFIG="$TMP/collector/admin.conf"
wait_for 30 "$COLLECTOR_PID" steward-collector "$CTL" hosts
RSS_IDLE_KB="$(rss_kb "$COLLECTOR_PID")"

# One token per 200 agents: the collector limits enrollments per token
# (a burst of 200, then 20 a second).
TOKENS=$(( (AGENTS + 199) / 200 ))
step "creating $TOKENS enrollment tokens"
for _ in $(seq "$TOKENS"); do "$CTL" token create --ttl 2h --uses 200 --label fleet=sim; done >"$TMP/tokens"

# The agents trust one publisher key, for the rollout below.
KEY_ID="$(cd "$TMP" && "$CTL" keys generate --out release | sed -n 's/^key \([0-9a-f]*\):.*/\1/p')"
[ -n "$KEY_ID" ] || { echo "error: stewardctl keys generate printed no key id" >&2; exit 1; }

step "starting steward-fleetsim: $AGENTS agents, ${INTERVAL}s interval, $PACKAGES packages each"
"$SIM" --trusted-key-id "$KEY_ID" --collector "127.0.0.1:$PORT" --ca-file "$TMP/collector/ca.pem" --tokens "$TMP/tokens" \
  --state-dir "$TMP/sim" --agents "$AGENTS" --interval "${INTERVAL}s" --packages "$PACKAGES" \
  --stats-every 1s --enroll-parallel 32 >"$TMP/fleetsim.out" 2>"$TMP/logs/steward-fleetsim.log" </dev/null &
SIM_PID=$!

# All enrolled, connected, and each one's full inventory acked.
LIMIT=$((600 + AGENTS / 10))
for i in $(seq $((LIMIT * 2))); do
  sleep 0.5
  kill -0 "$SIM_PID" 2>/dev/null || { echo "error: steward-fleetsim exited; log:" >&2; tail -20 "$TMP/logs/steward-fleetsim.log" >&2; exit 1; }
  kill -0 "$COLLECTOR_PID" 2>/dev/null || { echo "error: steward-collector exited; log:" >&2; tail -20 "$TMP/logs/steward-collector.log" >&2; exit 1; }
  [ "$(sim_value snapshots)" = "$AGENTS" ] && [ "$(sim_value delivering)" = "$AGENTS" ] && break
  if [ $((i % 20)) = 0 ]; then
    printf '  %ss: enrolled %s, connected %s, inventories delivered %s of %s\n' "$(sim_value t)" \
      "$(sim_value enrolled)" "$(sim_value connected)" "$(sim_value snapshots)" "$AGENTS" >&2
  fi
done
[ "$(sim_value snapshots)" = "$AGENTS" ] || { echo "error: not every agent delivered its inventory in ${LIMIT}s" >&2; exit 1; }
CONNECT_S="$(sim_value t)"
step "all $AGENTS agents enrolled, connected and delivered their inventories in ${CONNECT_S}s"

# Steady state: one interval to settle, then the window.
sleep "$INTERVAL"
C0="$(cpu_ticks "$COLLECTOR_PID")" S0="$(cpu_ticks "$SIM_PID")" A0="$(sim_value samples_acked)" T0="$(sim_value t)"
step "measuring for ${WINDOW}s"
sleep "$WINDOW"
C1="$(cpu_ticks "$COLLECTOR_PID")" S1="$(cpu_ticks "$SIM_PID")" A1="$(sim_value samples_acked)" T1="$(sim_value t)"
RSS_KB="$(rss_kb "$COLLECTOR_PID")" SIM_RSS_KB="$(rss_kb "$SIM_PID")"
# The window's batch-to-ack latencies: the median of the per-second p50s and
# the largest per-second p99.
WINDOW_LINES="$(grep '^FLEETSIM ' "$TMP/fleetsim.out" | awk -v t0="$T0" -v t1="$T1" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  v["t"] > t0 && v["t"] <= t1 && v["batches_acked"] > 0 { print v["ack_p50_ms"], v["ack_p99_ms"] }')"
E50="$(echo "$WINDOW_LINES" | awk '{print $1}' | sort -n | awk '{a[NR] = $1} END {print (NR ? a[int((NR + 1) / 2)] : 0)}')"
E99="$(echo "$WINDOW_LINES" | awk '$2 > m {m = $2} END {print m + 0}')"
read -r CPU_PCT SIM_CPU_PCT INGEST PER_AGENT PER_SERIES < <(awk -v c0="$C0" -v c1="$C1" -v s0="$S0" -v s1="$S1" \
  -v a0="$A0" -v a1="$A1" -v t0="$T0" -v t1="$T1" -v hz="$HZ" -v w="$WINDOW" -v rss="$RSS_KB" -v idle="$RSS_IDLE_KB" -v n="$AGENTS" '
  BEGIN { printf "%.1f %.1f %.0f %.0f %.0f\n", (c1 - c0) / hz / w * 100, (s1 - s0) / hz / w * 100,
          (a1 - a0) / (t1 - t0), (rss - idle) / n, rss * 1024 / (n * 70) }')

time_ms() {  # the median of 3 runs of a command, in ms
  local i s e all=()
  for i in 1 2 3; do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    all+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${all[@]}" | sort -n | sed -n 2p
}
step "timing queries at $AGENTS hosts"
Q_HOSTS="$(time_ms "$CTL" --json hosts)"
Q_SOFTWARE="$(time_ms "$CTL" --json software --name openssl)"
"$CTL" --json software --name openssl | grep -c '"agent_id"' >"$TMP/openssl-hosts" || true
[ "$(cat "$TMP/openssl-hosts")" -ge "$AGENTS" ] || warn "software --name openssl listed $(cat "$TMP/openssl-hosts") hosts, not $AGENTS"

# A fleet-wide aggregation: the average of one metric over every host, per
# minute, for the last 15 minutes.
Q_FLEET="$(time_ms "$CTL" --json metrics --metric steward_load1 --agg avg --step 1m --since 15m)"

# A rollout to every agent: a signed .deb, waves 1, 1%, 10%, 100%, no
# health gate, no limit on hosts at once; from create to its final state.
step "rollout to all $AGENTS agents (waves 1,1%,10%,100%, health gate 0)"
mkdir -p "$TMP/deb/DEBIAN"
printf 'Package: fleet-demo\nVersion: 2.0\nArchitecture: all\nMaintainer: bench <bench@localhost>\nDescription: fleet benchmark rollout\n' \
  >"$TMP/deb/DEBIAN/control"
dpkg-deb --build "$TMP/deb" "$TMP/fleet-demo_2.0_all.deb" >/dev/null
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
SHA="$("$CTL" --json artifact push "$TMP/fleet-demo_2.0_all.deb" --sign-key "$TMP/release.key" | json 'd["sha256"]')"
[ -n "$SHA" ] || { echo "error: artifact push printed no sha256" >&2; exit 1; }
R0=$(date +%s%N)
DEPLOY="$("$CTL" --json --timeout 300s deploy create --artifact "$SHA" --target 'label:fleet=sim' --sign-key "$TMP/release.key" \
  --waves 1,1%,10%,100% --health-gate 0s --max-parallel 0 | json 'd["id"]')"
[ -n "$DEPLOY" ] || { echo "error: deploy create printed no id" >&2; exit 1; }
STATE=""
for _ in $(seq $((LIMIT * 2))); do
  # A poll that times out (a busy collector) is tried again, not fatal.
  STATE="$("$CTL" --json --timeout 120s deploy list 2>/dev/null | json "next((x['state'] for x in d if x['id'] == '$DEPLOY'), '')" 2>/dev/null || true)"
  case "$STATE" in succeeded|failed|rolled_back|aborted|paused) break ;; esac
  sleep 0.5
done
ROLLOUT_S="$(awk -v a="$R0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
[ "$STATE" = succeeded ] || warn "rollout $DEPLOY ended '$STATE' after ${ROLLOUT_S}s, not succeeded"
step "rollout $DEPLOY: $STATE in ${ROLLOUT_S}s ($(sim_value jobs_done) jobs answered)"

STORM_S="-"
if [ "$STORM" = 1 ]; then
  step "reconnect storm: kill -9 of the collector with $AGENTS agents connected, then a restart"
  kill -9 "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true
  KILLED="$(sim_value t)"
  # Wait until the simulator has seen every session end.
  for _ in $(seq 100); do [ "$(sim_value connected)" = 0 ] && break; sleep 0.2; done
  start_collector
  RESTART_T="$(sim_value t)"
  for i in $(seq $((LIMIT * 2))); do
    sleep 0.5
    kill -0 "$COLLECTOR_PID" 2>/dev/null || { echo "error: steward-collector exited after the restart" >&2; exit 1; }
    [ "$(sim_value delivering)" = "$AGENTS" ] && break
  done
  [ "$(sim_value delivering)" = "$AGENTS" ] || { echo "error: not every agent was back in ${LIMIT}s" >&2; exit 1; }
  STORM_S="$(awk -v a="$RESTART_T" -v b="$(sim_value t)" 'BEGIN { printf "%.1f", b - a }')"
  step "all $AGENTS agents back and delivering ${STORM_S}s after the restart (killed at t=${KILLED}s)"
fi

# What the restart replayed (bounded by the heads' age, not by uptime).
REPLAYED="$(grep 'tsdb: replayed' "$TMP/logs/steward-collector.log" | tail -1 | sed 's/.*tsdb: //' || true)"
[ -n "$REPLAYED" ] && step "the last start $REPLAYED"

# The agents leave: does the collector give their memory back? (Its
# maintenance runs every 60 s.)
step "stopping steward-fleetsim; collector RSS 75 s later"
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null || true
SIM_PID=""
sleep 75
RSS_LEFT_KB="$(rss_kb "$COLLECTOR_PID")"

echo "RESULT agents=$AGENTS connect_s=$CONNECT_S collector_cpu_pct=$CPU_PCT collector_rss_mb=$((RSS_KB / 1024)) collector_rss_after_leave_mb=$((RSS_LEFT_KB / 1024)) rss_per_agent_kb=$PER_AGENT rss_per_series_bytes=$PER_SERIES ingest_samples_per_s=$INGEST e2e_p50_ms=$E50 e2e_p99_ms=$E99 reconnect_storm_s=$STORM_S rollout_s=$ROLLOUT_S q_hosts_ms=$Q_HOSTS q_software_name_ms=$Q_SOFTWARE q_fleet_avg_ms=$Q_FLEET sim_cpu_pct=$SIM_CPU_PCT sim_rss_mb=$((SIM_RSS_KB / 1024))"
