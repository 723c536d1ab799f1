#!/usr/bin/env bash
# TSDB benchmark: TSBS-like devops data (tests/bench/devops_data.h) ingested
# into each system under test on 127.0.0.1, then bytes per sample on disk
# after a forced merge, peak RSS, and the latency of TSBS's devops queries.
#   tests/bench/run tsdb [--hosts 1000] [--steps 500] [--clients 2] [--runs 100] [--keep]
# Systems: Steward (a real steward-collector; tsdb_steward enrolls --clients
# agents and sends the data through the agents' gRPC path, then runs the
# queries through the admin API) and VictoriaMetrics (Debian package
# victoria-metrics, /write with Influx line protocol, the same clients).
# Ingest runs one system after the other, so they never compete for the 2
# cores (steward-collector stays up, idle, through VictoriaMetrics' ingest). Queries run in alternating blocks of 10 runs (never both at
# once), pooled per system: a slow spell of this shared machine then falls
# on both systems' figures, not on whichever ran during it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
export STEWARD_JOBS="${STEWARD_JOBS:-2}"

HOSTS=1000
STEPS=500
CLIENTS=2
RUNS=100
BLOCK=10  # query runs per block; the blocks alternate between the systems
KEEP=0
BUILD_STEP=1

usage() {
  cat <<EOT
usage: tests/bench/run tsdb [--hosts N] [--steps S] [--clients C] [--runs R] [--no-build] [--keep]

Generates N hosts x S steps of devops data (20 fields per host, 10 s apart;
default 1000 x 500 = 10 M samples), ingests it with C parallel clients
(default 2), forces a merge, and runs each TSBS devops query R times
(default 100, in blocks of $BLOCK alternating between the systems) with seeded
random hosts and windows. Prints one RESULT line per
system: ingest_samples_per_s, bytes_per_sample, index_bytes_per_sample,
total_bytes_per_sample (raw + index, and Steward's rollups), peak_rss_mb,
q_<query>_p50_ms, q_<query>_p99_ms; Steward also rollup_bytes_per_sample
and rss_per_series_bytes (RSS growth per series 65 s after ingest, heads
in memory; rss_per_series_burst_bytes right after it); then the ratios.
EOT
}

while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) HOSTS="${2:?}"; shift 2 ;;
    --steps) STEPS="${2:?}"; shift 2 ;;
    --clients) CLIENTS="${2:?}"; shift 2 ;;
    --runs) RUNS="${2:?}"; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$HOSTS" "$STEPS" "$CLIENTS" "$RUNS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a positive whole number" >&2; exit 2; }
done

# step, warn, need, free_port, wait_for
source "$ROOT/tests/bench/lib.sh"

need curl curl
need python3 python3
need victoria-metrics victoria-metrics
if [ "$BUILD_STEP" = 1 ]; then
  step "building tsdb_load, tsdb_steward, steward-collector, stewardctl"
  "$ROOT/deploy/build.sh" --target tsdb_load tsdb_steward steward-collector stewardctl >&2
fi

TMP="$(mktemp -d /tmp/steward-bench-tsdb.XXXXXX)"
mkdir -p "$TMP/logs"
STARTED=()
cleanup() {
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

INTERVAL_MS=10000
# The data ends now (aligned to the interval), so no retention rejects it.
NOW_MS=$(( $(date +%s) * 1000 ))
START_MS=$(( NOW_MS / INTERVAL_MS * INTERVAL_MS - STEPS * INTERVAL_MS ))
SAMPLES=$(( HOSTS * STEPS * 20 ))

step "generating $HOSTS hosts x $STEPS steps ($SAMPLES samples) for $CLIENTS clients"
"$BUILD/tests/bench/tsdb_load" --influx-dir "$TMP/influx" --hosts "$HOSTS" --steps "$STEPS" \
  --start-ms "$START_MS" --interval-ms "$INTERVAL_MS" --clients "$CLIENTS" >&2

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# ------------------------------------------------------------ Steward
step "starting steward-collector on 127.0.0.1:0 (data in $TMP/steward)"
# Each bench client carries many hosts' series: above an agent's default limits.
"$BUILD/collector/steward-collector" --data-dir "$TMP/steward" --listen 127.0.0.1:0 \
  --max-series-per-agent 100000000 --max-new-series-per-minute 100000000 \
  >"$TMP/logs/steward-collector.log" 2>&1 </dev/null &
ST_PID=$!
STARTED+=("$ST_PID")
wait_for 30 "$ST_PID" steward-collector grep -q '^collector = ' "$TMP/steward/admin.conf"
ST_RSS0=$(rss_kb "$ST_PID" VmRSS)
step "ingesting into steward-collector with $CLIENTS agents"
ST_INGEST_LINE=$("$BUILD/tests/bench/tsdb_steward" ingest --admin-config "$TMP/steward/admin.conf" \
  --state "$TMP/steward-agents" --hosts "$HOSTS" --steps "$STEPS" --start-ms "$START_MS" \
  --interval-ms "$INTERVAL_MS" --clients "$CLIENTS")
echo "$ST_INGEST_LINE" >&2
ST_INGEST=$(sed -n 's/.*samples_per_s=\([0-9]*\).*/\1/p' <<<"$ST_INGEST_LINE")
ST_RSS_BURST=$(rss_kb "$ST_PID" VmRSS)
# Resident memory per active series is read once the collector has settled:
# its minute's maintenance returns what the burst freed (malloc_trim; 10 M
# samples in a few seconds leave ~50 MB of freed blocks in glibc's arenas).
# The figure right after the burst is printed too.
step "waiting 65 s for the collector's minute maintenance (heads stay in memory)"
sleep 65
ST_RSS_LOADED=$(rss_kb "$ST_PID" VmRSS)
step "persisting and compacting (stewardctl metrics --compact)"
ST_COMPACT=$(STEWARD_CONFIG="$TMP/steward/admin.conf" "$BUILD/collector/ctl/stewardctl" metrics --compact --json --timeout 10m)
echo "$ST_COMPACT" >&2
ST_DATA=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["data_bytes"])' "$ST_COMPACT")
ST_INDEX=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["index_bytes"])' "$ST_COMPACT")
ST_ROLLUPS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rollup_bytes"])' "$ST_COMPACT")
# steward-collector stays up (idle) for the queries below.

# ------------------------------------------------------------ VictoriaMetrics
VM_PORT="$(free_port)"
VM_URL="http://127.0.0.1:$VM_PORT"
step "starting victoria-metrics on 127.0.0.1:$VM_PORT (data in $TMP/vm)"
victoria-metrics -storageDataPath="$TMP/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
  -retentionPeriod=100y -search.latencyOffset=0s -search.disableCache \
  >"$TMP/logs/victoria-metrics.log" 2>&1 </dev/null &
VM_PID=$!
STARTED+=("$VM_PID")
wait_for 30 "$VM_PID" victoria-metrics curl -sf "$VM_URL/health"

step "ingesting into victoria-metrics with $CLIENTS clients"
for c in $(seq 0 $(( CLIENTS - 1 ))); do
  # One curl per client, one request per file, on one kept-alive connection.
  first=1
  for f in "$TMP/influx/client-$c"/*.lp; do
    [ "$first" = 1 ] || echo next
    first=0
    printf 'url = "%s/write"\ndata-binary = "@%s"\noutput = /dev/null\n' "$VM_URL" "$f"
  done >"$TMP/influx/client-$c.curl"
done
T0=$(date +%s.%N)
pids=()
for c in $(seq 0 $(( CLIENTS - 1 ))); do
  curl -sSf -K "$TMP/influx/client-$c.curl" >"$TMP/logs/vm-client-$c.log" 2>&1 &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || { echo "error: an ingest client failed:" >&2; cat "$TMP"/logs/vm-client-*.log >&2; exit 1; }; done
T1=$(date +%s.%N)
VM_INGEST=$(awk -v s="$SAMPLES" -v a="$T0" -v b="$T1" 'BEGIN { printf "%.0f", s / (b - a) }')

step "flushing and merging"
curl -sf "$VM_URL/internal/force_flush" >/dev/null
for month in $(python3 -c "
import datetime
a = datetime.datetime.utcfromtimestamp($START_MS / 1000); b = datetime.datetime.utcfromtimestamp($NOW_MS / 1000)
ms = {a.strftime('%Y_%m'), b.strftime('%Y_%m')}
print(' '.join(sorted(ms)))"); do
  curl -sf "$VM_URL/internal/force_merge?partition_prefix=$month" >/dev/null
done
# Wait until no merge runs any more (and at least a few seconds).
sleep 3
for i in $(seq 300); do
  active=$(curl -sf "$VM_URL/metrics" | awk '/^vm_active_merges/ { s += $2 } END { print s + 0 }')
  [ "$active" = 0 ] && break
  sleep 1
done
VM_DATA=$(du -sb "$TMP/vm/data" | cut -f1)
VM_INDEX=$(du -sb "$TMP/vm/indexdb" | cut -f1)
VM_STORED=$(curl -sf "$VM_URL/api/v1/series" --data-urlencode 'match[]={__name__=~"cpu_.*|mem_.*"}' \
  --data-urlencode "start=$(( START_MS / 1000 ))" --data-urlencode "end=$(( NOW_MS / 1000 + 60 ))" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
[ "$VM_STORED" = $(( HOSTS * 20 )) ] || warn "victoria-metrics holds $VM_STORED series, expected $(( HOSTS * 20 ))"

# ------------------------------------------------------------ queries
# Each block: one warm-up run of every query (not counted), then its runs,
# appended as "<query> <ms>" lines; a fresh seed per block.
END_MS=$(( START_MS + STEPS * INTERVAL_MS ))
ROUNDS=$(( (RUNS + BLOCK - 1) / BLOCK ))
step "running the TSBS devops queries: $RUNS runs each, $ROUNDS blocks per system, alternating"
steward_block() {
  "$BUILD/tests/bench/tsdb_steward" query --admin-config "$TMP/steward/admin.conf" --hosts "$HOSTS" \
    --start-ms "$START_MS" --end-ms "$END_MS" --runs "$1" --seed "$2" --times-to "$TMP/steward.times" >/dev/null
}
vm_block() {
  python3 "$ROOT/tests/bench/tsdb_queries.py" victoriametrics "$VM_URL" --hosts "$HOSTS" \
    --start-ms "$START_MS" --end-ms "$END_MS" --runs "$1" --seed "$2" --times-to "$TMP/vm.times" >/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
  n=$(( r < ROUNDS ? BLOCK : RUNS - BLOCK * (ROUNDS - 1) ))
  if (( r % 2 )); then steward_block "$n" "$(( 6 + r ))"; vm_block "$n" "$(( 6 + r ))"
  else vm_block "$n" "$(( 6 + r ))"; steward_block "$n" "$(( 6 + r ))"; fi
  printf '  block %d/%d done\n' "$r" "$ROUNDS" >&2
done
ST_QUERIES=$(python3 "$ROOT/tests/bench/tsdb_queries.py" summarize "$TMP/steward.times")
VM_QUERIES=$(python3 "$ROOT/tests/bench/tsdb_queries.py" summarize "$TMP/vm.times")
ST_PEAK=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$ST_PID/status")
VM_RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$VM_PID/status")

# ------------------------------------------------------------ report
echo
echo "# tests/bench/run tsdb --hosts $HOSTS --steps $STEPS --clients $CLIENTS --runs $RUNS on $(hostname), $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo "RESULT system=victoriametrics ingest_samples_per_s=$VM_INGEST" \
  "bytes_per_sample=$(awk -v b="$VM_DATA" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "index_bytes_per_sample=$(awk -v b="$VM_INDEX" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "total_bytes_per_sample=$(awk -v b="$(( VM_DATA + VM_INDEX ))" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "peak_rss_mb=$VM_RSS $VM_QUERIES"
echo "RESULT system=steward ingest_samples_per_s=$ST_INGEST" \
  "bytes_per_sample=$(awk -v b="$ST_DATA" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "index_bytes_per_sample=$(awk -v b="$ST_INDEX" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "rollup_bytes_per_sample=$(awk -v b="$ST_ROLLUPS" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "total_bytes_per_sample=$(awk -v b="$(( ST_DATA + ST_INDEX + ST_ROLLUPS ))" -v s="$SAMPLES" 'BEGIN { printf "%.3f", b / s }')" \
  "peak_rss_mb=$ST_PEAK rss_per_series_bytes=$(( (ST_RSS_LOADED - ST_RSS0) * 1024 / (HOSTS * 20) ))" \
  "rss_per_series_burst_bytes=$(( (ST_RSS_BURST - ST_RSS0) * 1024 / (HOSTS * 20) )) $ST_QUERIES"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }
q_ratios=""
for q in single-groupby-1-1-1 single-groupby-1-8-1 single-groupby-5-1-12 double-groupby-1 high-cpu-1 lastpoint groupby-orderby-limit; do
  st=$(sed -n "s/.*q_${q}_p50_ms=\([0-9.]*\).*/\1/p" <<<"$ST_QUERIES")
  vm=$(sed -n "s/.*q_${q}_p50_ms=\([0-9.]*\).*/\1/p" <<<"$VM_QUERIES")
  q_ratios+=" q_${q}_p50=$(ratio "$st" "$vm")"
done
echo "RESULT ratio=steward/victoriametrics ingest=$(ratio "$ST_INGEST" "$VM_INGEST")" \
  "bytes_per_sample=$(ratio "$ST_DATA" "$VM_DATA") index_bytes=$(ratio "$ST_INDEX" "$VM_INDEX")" \
  "total_bytes=$(ratio "$(( ST_DATA + ST_INDEX + ST_ROLLUPS ))" "$(( VM_DATA + VM_INDEX ))")" \
  "peak_rss=$(ratio "$ST_PEAK" "$VM_RSS")$q_ratios"
echo "steward: data (raw chunks) $ST_DATA bytes, rollups $ST_ROLLUPS bytes (VictoriaMetrics keeps none), index $ST_INDEX bytes after metrics --compact; RSS $ST_RSS0 kB before ingest, $ST_RSS_BURST kB right after, $ST_RSS_LOADED kB 65 s later."
echo "victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics): $SAMPLES samples, data $VM_DATA bytes, index $VM_INDEX bytes after force_merge."
