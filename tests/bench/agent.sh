#!/usr/bin/env bash
# Agent footprint benchmark: steward-agent side by side with
# prometheus-node-exporter, collectd and zabbix_agentd, for the same duration
# and interval, then memory (VmRSS, RssAnon) and CPU (utime+stime) of each from
# /proc, plus agent_cycle_bench (one metrics collection, one full dpkg scan).
# Run it as: tests/bench/run agent [--duration 60] [--interval 10] [--both]
# Everything it starts runs in a temp dir on 127.0.0.1 and is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
STATIC_BUILD="${STEWARD_STATIC_BUILD_DIR:-$ROOT/build-static}"
PACKAGE_BUILD="${STEWARD_PACKAGE_BUILD_DIR:-$ROOT/build-package}"
export STEWARD_JOBS="${STEWARD_JOBS:-2}"

# Which steward-agent build runs by default: the one measured smaller on this
# machine (see docs/benchmarks.md; --both measures the two side by side).
DEFAULT_VARIANT=static

DURATION=60
INTERVAL=10
VARIANT=""
BOTH=0
KEEP=0
BUILD_STEP=1
BENCH_RUNS=50

usage() {
  cat <<EOT
usage: tests/bench/run agent [--duration SECONDS] [--interval SECONDS] [--both]
                             [--variant static|dynamic|packaged] [--runs N] [--no-build] [--keep]

Runs steward-agent, prometheus-node-exporter, collectd and zabbix_agentd side
by side for --duration seconds (default 60), each collecting every --interval
seconds (default 10), then prints one RESULT line per system, a table, the
steward/node_exporter ratios and agent_cycle_bench's RESULT lines.

  --variant V   which steward-agent build to run: static (build-static/, linked
                with -DSTEWARD_STATIC_AGENT=ON), dynamic, or packaged (the binary
                the steward-agent .deb ships: build-package/, deploy/package.sh)
                (default: $DEFAULT_VARIANT)
  --both        run two steward-agent builds side by side and print both (the
                variant and static; static and dynamic for --variant static)
  --runs N      runs of agent_cycle_bench per measurement (default 50)
  --no-build    use the binaries already built
  --keep        keep the temp dir (logs, configs) and print its path
EOT
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --interval) INTERVAL="${2:?}"; shift 2 ;;
    --variant) VARIANT="${2:?}"; shift 2 ;;
    --both) BOTH=1; shift ;;
    --runs) BENCH_RUNS="${2:?}"; shift 2 ;;
    --no-build) BUILD_STEP=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$INTERVAL" "$BENCH_RUNS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a positive whole number" >&2; exit 2; }
done
[ "$INTERVAL" -le "$DURATION" ] || { echo "error: --interval must not exceed --duration" >&2; exit 2; }
VARIANT="${VARIANT:-$DEFAULT_VARIANT}"
case "$VARIANT" in static|dynamic|packaged) ;; *) echo "error: --variant is static, dynamic or packaged" >&2; exit 2 ;; esac
if [ "$BOTH" = 1 ]; then VARIANTS=("$VARIANT" "$([ "$VARIANT" = static ] && echo dynamic || echo static)"); else VARIANTS=("$VARIANT"); fi

# step, warn, need, free_port, wait_for
source "$ROOT/tests/bench/lib.sh"

# ---------------------------------------------------------------- setup
need curl curl
need prometheus-node-exporter prometheus-node-exporter
need collectd collectd-core
need zabbix_agentd zabbix-agent
need pgrep procps
# Debian 12 ships no zabbix_get; polls use bash's /dev/tcp then (zbx_get below).
ZABBIX_GET="$(command -v zabbix_get || true)"

# The packages' postinst scripts may start their daemons where an init system
# runs them. Those are not ours: say so, never stop them.
for name in prometheus-node collectd zabbix_agentd; do
  if pids="$(pgrep -x "$name" 2>/dev/null)"; then
    warn "a $name not started by this benchmark is running (pids $(echo $pids)); it shares the CPU but is not measured"
  fi
done

if [ "$BUILD_STEP" = 1 ]; then
  step "building Steward in $BUILD (steward-agent steward-collector stewardctl agent_cycle_bench)"
  STEWARD_BUILD_DIR="$BUILD" "$ROOT/deploy/build.sh" --target steward-agent steward-collector stewardctl agent_cycle_bench >&2
  for v in "${VARIANTS[@]}"; do
    [ "$v" = static ] || continue
    step "building the static steward-agent in $STATIC_BUILD (-DSTEWARD_STATIC_AGENT=ON)"
    cmake -S "$ROOT" -B "$STATIC_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_STATIC_AGENT=ON >/dev/null
    STEWARD_BUILD_DIR="$STATIC_BUILD" "$ROOT/deploy/build.sh" --target steward-agent >&2
  done
  for v in "${VARIANTS[@]}"; do
    [ "$v" = packaged ] || continue
    step "building the packages in $PACKAGE_BUILD (deploy/package.sh)"
    STEWARD_PACKAGE_BUILD_DIR="$PACKAGE_BUILD" "$ROOT/deploy/package.sh" "$PACKAGE_BUILD/dist" >&2
  done
fi
agent_bin() {
  case "$1" in
    static) echo "$STATIC_BUILD/agent/steward-agent" ;;
    # What the .deb ships: the packaging build's binary, stripped as CPack strips it.
    packaged) echo "$PACKAGE_BUILD/agent/steward-agent.stripped" ;;
    *) echo "$BUILD/agent/steward-agent" ;;
  esac
}
if [[ " ${VARIANTS[*]} " == *" packaged "* ]]; then
  [ -x "$PACKAGE_BUILD/agent/steward-agent" ] || { echo "error: $PACKAGE_BUILD/agent/steward-agent is missing (run without --no-build)" >&2; exit 1; }
  strip -o "$PACKAGE_BUILD/agent/steward-agent.stripped" "$PACKAGE_BUILD/agent/steward-agent"
fi
for f in "$BUILD/collector/steward-collector" "$BUILD/collector/ctl/stewardctl" "$BUILD/tests/bench/agent_cycle_bench"; do
  [ -x "$f" ] || { echo "error: $f is missing (run without --no-build)" >&2; exit 1; }
done
for v in "${VARIANTS[@]}"; do
  [ -x "$(agent_bin "$v")" ] || { echo "error: $(agent_bin "$v") is missing (run without --no-build)" >&2; exit 1; }
done
CTL="$BUILD/collector/ctl/stewardctl"

# ---------------------------------------------------------------- processes
TMP="$(mktemp -d -t steward-bench-agent.XXXXXX)"
STARTED=()  # pids of the processes this script started, stopped by cleanup.
cleanup() {
  local pid i
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 50); do
    local alive=0
    for pid in "${STARTED[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${STARTED[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      warn "pid $pid did not stop on SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# zbx_get PORT KEY: one passive check in the ZBXD protocol ("ZBXD", flags 1,
# 8-byte little-endian length, data; the answer has the same 13-byte header).
# A subshell, so that a refused connection fails the call, not the script.
zbx_get() (
  local port="$1" key="$2"
  if [ -n "$ZABBIX_GET" ]; then
    "$ZABBIX_GET" -s 127.0.0.1 -p "$port" -k "$key"
    return
  fi
  local len=${#key} hdr="ZBXD\\x01" i fd
  for i in 0 1 2 3 4 5 6 7; do hdr+="\\x$(printf %02x $(( (len >> (8 * i)) & 255 )))"; done
  exec {fd}<>"/dev/tcp/127.0.0.1/$port"
  printf "$hdr%s" "$key" >&"$fd"
  tail -c +14 <&"$fd" | tr -d '\0'
  echo
  exec {fd}>&-
)

mkdir -p "$TMP/logs" "$TMP/collector" "$TMP/collectd/csv" "$TMP/zabbix" "$TMP/scrapes"

step "starting steward-collector on 127.0.0.1:0 (data in $TMP/collector)"
"$BUILD/collector/steward-collector" --data-dir "$TMP/collector" --listen 127.0.0.1:0 \
  >"$TMP/logs/steward-collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
STARTED+=("$COLLECTOR_PID")
wait_for 30 "$COLLECTOR_PID" steward-collector grep -q '^collector = ' "$TMP/collector/admin.conf"
ADDR="$(sed -n 's/^collector = //p' "$TMP/collector/admin.conf")"
export STEWARD_CONFIG="$TMP/collector/admin.conf"
TOKEN="$("$CTL" token create --ttl 1h --uses 4 --label env=bench)"

declare -A PID       # system name -> pid of its main process
SYSTEMS=()
for v in "${VARIANTS[@]}"; do
  name="steward-agent-$v"
  step "starting $name ($(agent_bin "$v"), every ${INTERVAL}s)"
  "$(agent_bin "$v")" --collector "$ADDR" --ca-file "$TMP/collector/ca.pem" --enroll-token "$TOKEN" \
    --state-dir "$TMP/$name" --interval "${INTERVAL}s" >"$TMP/logs/$name.log" 2>&1 </dev/null &
  PID[$name]=$!
  STARTED+=("$!")
  SYSTEMS+=("$name")
done

NODE_PORT="$(free_port)"
step "starting prometheus-node-exporter on 127.0.0.1:$NODE_PORT (default collectors)"
prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
  >"$TMP/logs/node_exporter.log" 2>&1 </dev/null &
PID[node_exporter]=$!
STARTED+=("$!")
SYSTEMS+=(node_exporter)

step "starting collectd (interval ${INTERVAL}s, csv output in $TMP/collectd/csv)"
cat >"$TMP/collectd/collectd.conf" <<EOT
Hostname "steward-bench"
FQDNLookup false
BaseDir "$TMP/collectd"
PIDFile "$TMP/collectd/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval $INTERVAL
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$TMP/logs/collectd-plugin.log"
  Timestamp true
</Plugin>
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "$TMP/collectd/csv"
  StoreRates false
</Plugin>
EOT
collectd -f -C "$TMP/collectd/collectd.conf" >"$TMP/logs/collectd.log" 2>&1 </dev/null &
PID[collectd]=$!
STARTED+=("$!")
SYSTEMS+=(collectd)

ZBX_PORT="$(free_port)"
step "starting zabbix_agentd on 127.0.0.1:$ZBX_PORT"
{
  echo "LogType=file"
  echo "LogFile=$TMP/logs/zabbix_agentd-own.log"
  echo "PidFile=$TMP/zabbix/zabbix_agentd.pid"
  echo "ListenIP=127.0.0.1"
  echo "ListenPort=$ZBX_PORT"
  echo "Server=127.0.0.1"
  echo "Hostname=steward-bench"
  [ "$(id -u)" = 0 ] && echo "AllowRoot=1"
} >"$TMP/zabbix/zabbix_agentd.conf"
zabbix_agentd -f -c "$TMP/zabbix/zabbix_agentd.conf" >"$TMP/logs/zabbix_agentd.log" 2>&1 </dev/null &
PID[zabbix_agentd]=$!
STARTED+=("$!")
SYSTEMS+=(zabbix_agentd)

step "waiting for everyone to be ready"
wait_for 30 "${PID[node_exporter]}" node_exporter curl -sf -o /dev/null "http://127.0.0.1:$NODE_PORT/metrics"
wait_for 30 "${PID[zabbix_agentd]}" zabbix_agentd zbx_get "$ZBX_PORT" agent.ping
collectd_wrote() { [ -n "$(find "$TMP/collectd/csv" -type f -print -quit)" ]; }
wait_for 30 "${PID[collectd]}" collectd collectd_wrote
agent_reported() {  # agent_reported NAME: enrolled and its metrics and inventory are stored.
  # Whole outputs first: with pipefail, `stewardctl ... | grep -q` fails when grep exits early.
  local id list software
  id="$(cat "$TMP/$1/agent.id" 2>/dev/null)" || return 1
  list="$("$CTL" metrics --host "$id" --list 2>/dev/null)" || return 1
  software="$("$CTL" software --host "$id" 2>/dev/null)" || return 1
  grep -q '^host_load1' <<<"$list" && [ "$(wc -l <<<"$software")" -gt 1 ]
}
for v in "${VARIANTS[@]}"; do
  wait_for 60 "${PID[steward-agent-$v]}" "steward-agent-$v" agent_reported "steward-agent-$v"
done

# ---------------------------------------------------------------- measuring
descendants() {  # descendants PID: PID's children, grandchildren, ...
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}
cpu_ticks() {  # cpu_ticks PID [with_children]: utime+stime (+cutime+cstime) in clock ticks.
  # Fields after the ')' that ends comm: 12=utime 13=stime 14=cutime 15=cstime.
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  # shellcheck disable=SC2206
  local f=($stat)
  if [ "${2:-}" = with_children ]; then
    echo $(( f[11] + f[12] + f[13] + f[14] ))
  else
    echo $(( f[11] + f[12] ))
  fi
}
cpu_ns() {  # cpu_ns PID: nanoseconds on CPU of PID's live threads (schedstat, exact).
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'
}
threads() { ls /proc/"$1"/task 2>/dev/null | sort | tr '\n' ' '; }
status_kb() {  # status_kb PID FIELD: VmRSS / RssAnon in kB, 0 when gone.
  local status
  status="$(cat "/proc/$1/status" 2>/dev/null)" || { echo 0; return; }
  awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' <<<"$status"
}
tree_cpu_ticks() {  # The process with its reaped children, and its live descendants.
  local total d
  total=$(cpu_ticks "$1" with_children)
  for d in $(descendants "$1"); do total=$(( total + $(cpu_ticks "$d" with_children) )); done
  echo "$total"
}
tree_kb() {
  local total d
  total=$(status_kb "$1" "$2")
  for d in $(descendants "$1"); do total=$(( total + $(status_kb "$d" "$2") )); done
  echo "$total"
}
HZ="$(getconf CLK_TCK)"
secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

declare -A CPU0 TCPU0 CPU_START NS0 TIDS0
for s in "${SYSTEMS[@]}"; do
  NS0[$s]=$(cpu_ns "${PID[$s]}")
  TIDS0[$s]=$(threads "${PID[$s]}")
  CPU0[$s]=$(cpu_ticks "${PID[$s]}")
  TCPU0[$s]=$(tree_cpu_ticks "${PID[$s]}")
done

ROUNDS=$(( DURATION / INTERVAL ))
step "measuring for ${DURATION}s: $ROUNDS rounds of ${INTERVAL}s (node_exporter scraped, zabbix_agentd polled each round)"
SCRAPED_BYTES=0
ZBX_ITEMS=(system.cpu.util "vm.memory.size[available]" "vfs.fs.size[/,free]" "net.if.in[lo]" system.cpu.load)
ZBX_ANSWERS=0
ZBX_UNSUPPORTED=0
T0=$(date +%s.%N)
for k in $(seq 0 $(( ROUNDS - 1 ))); do
  bytes="$(curl -sf -o "$TMP/scrapes/last.prom" -w '%{size_download}' "http://127.0.0.1:$NODE_PORT/metrics" || echo 0)"
  SCRAPED_BYTES=$(( SCRAPED_BYTES + ${bytes%.*} ))
  for item in "${ZBX_ITEMS[@]}"; do
    answer="$(zbx_get "$ZBX_PORT" "$item" 2>/dev/null || true)"
    ZBX_ANSWERS=$(( ZBX_ANSWERS + 1 ))
    case "$answer" in ZBX_NOTSUPPORTED*|"") ZBX_UNSUPPORTED=$(( ZBX_UNSUPPORTED + 1 )); echo "zabbix $item: ${answer:-no answer}" >>"$TMP/logs/zabbix_polls.log" ;; esac
  done
  for s in "${SYSTEMS[@]}"; do
    kill -0 "${PID[$s]}" 2>/dev/null || { echo "error: $s exited during the run; log:" >&2; tail -20 "$TMP/logs/$s.log" >&2; exit 1; }
  done
  # Sleep until the start of the next round.
  sleep "$(awk -v t0="$T0" -v k="$k" -v i="$INTERVAL" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + (k + 1) * i - now; printf "%.3f", (d > 0 ? d : 0) }')"
done

declare -A RSS ANON CPU TRSS TANON TCPU
for s in "${SYSTEMS[@]}"; do
  p="${PID[$s]}"
  RSS[$s]=$(status_kb "$p" VmRSS)
  ANON[$s]=$(status_kb "$p" RssAnon)
  TRSS[$s]=$(tree_kb "$p" VmRSS)
  TANON[$s]=$(tree_kb "$p" RssAnon)
  # Exact when every thread lived through the window (schedstat of a thread
  # that exited is gone); otherwise the tick count of the whole process.
  ns1=$(cpu_ns "$p")
  if [ "$(threads "$p")" = "${TIDS0[$s]}" ]; then
    CPU[$s]=$(awk -v a="$ns1" -v b="${NS0[$s]}" 'BEGIN { printf "%.3f", (a - b) / 1e9 }')
  else
    CPU[$s]=$(secs $(( $(cpu_ticks "$p") - CPU0[$s] )))
    echo "note: $s started or ended threads during the window; its cpu_s is from clock ticks (10 ms steps)"
  fi
  TCPU[$s]=$(secs $(( $(tree_cpu_ticks "$p") - TCPU0[$s] )))
  CPU_START[$s]=$(secs "${CPU0[$s]}")
done
NPROCS_ZBX=$(( 1 + $(descendants "${PID[zabbix_agentd]}" | wc -l) ))

step "agent_cycle_bench ($BENCH_RUNS runs each)"
BENCH_OUT="$("$BUILD/tests/bench/agent_cycle_bench" --runs "$BENCH_RUNS")"

# ---------------------------------------------------------------- report
MAIN="steward-agent-$VARIANT"
result_line() {  # result_line LABEL SYSTEM
  echo "RESULT system=$1 rss_kb=${RSS[$2]} anon_kb=${ANON[$2]} cpu_s=${CPU[$2]} tree_rss_kb=${TRSS[$2]} tree_anon_kb=${TANON[$2]} tree_cpu_s=${TCPU[$2]}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

echo
echo "# tests/bench/run agent --duration $DURATION --interval $INTERVAL$([ "$BOTH" = 1 ] && echo " --both") on $(hostname), $(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores"
result_line steward-agent "$MAIN"
if [ "$BOTH" = 1 ]; then
  for v in "${VARIANTS[@]}"; do result_line "steward-agent-$v" "steward-agent-$v"; done
fi
for s in node_exporter collectd zabbix_agentd; do result_line "$s" "$s"; done
echo "RESULT ratio=steward-agent/node_exporter rss=$(ratio "${RSS[$MAIN]}" "${RSS[node_exporter]}") anon=$(ratio "${ANON[$MAIN]}" "${ANON[node_exporter]}") cpu=$(ratio "${CPU[$MAIN]}" "${CPU[node_exporter]}")"
echo "$BENCH_OUT"

echo
printf '%-22s %10s %10s %8s %12s %13s %10s %14s\n' system rss_kB anon_kB cpu_s tree_rss_kB tree_anon_kB tree_cpu_s cpu_s_startup
for s in "${SYSTEMS[@]}"; do
  printf '%-22s %10s %10s %8s %12s %13s %10s %14s\n' "$s" "${RSS[$s]}" "${ANON[$s]}" "${CPU[$s]}" "${TRSS[$s]}" "${TANON[$s]}" "${TCPU[$s]}" "${CPU_START[$s]}"
done
echo
echo "cpu_s: CPU (user+system) of the main process during the ${DURATION}s window, summed from its threads'"
echo "schedstat (ns); tree_*: with all its descendants (clock ticks)"
echo "(zabbix_agentd: $NPROCS_ZBX processes); cpu_s_startup: CPU the main process used before the window (start, enrollment, first cycle)."
echo "steward-agent is the $VARIANT build ($(agent_bin "$VARIANT"))."
echo "node_exporter: $ROUNDS scrapes, $SCRAPED_BYTES bytes ($(( SCRAPED_BYTES / ROUNDS )) per scrape)."
echo "zabbix_agentd: $ZBX_ANSWERS item polls ($ZBX_UNSUPPORTED unsupported or unanswered)."
echo "collectd: $(find "$TMP/collectd/csv" -type f | wc -l) csv files written."
