#!/usr/bin/env bash
# Steward quick start on this machine: installs build dependencies, builds,
# starts a collector (RocksDB under .steward/collector), enrolls and starts an
# agent for this machine, waits for its first report and shows this host's
# software inventory and a few current metrics through stewardctl.
# Both processes keep running; `deploy/quickstart.sh stop` stops them.
#
# Environment: STEWARD_HOME (default <repo>/.steward), STEWARD_LISTEN
# (default 127.0.0.1:7443), STEWARD_INTERVAL (default 10s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${STEWARD_HOME:-$ROOT/.steward}"
LISTEN="${STEWARD_LISTEN:-127.0.0.1:7443}"
INTERVAL="${STEWARD_INTERVAL:-10s}"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
DATA="$HOME_DIR/collector"
STATE="$HOME_DIR/agent"
LOGS="$HOME_DIR/logs"
CTL="$BUILD/collector/ctl/stewardctl"
export STEWARD_CONFIG="$DATA/admin.conf"

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_one() {  # pidfile name
  if running "$1"; then
    kill -TERM "$(cat "$1")"
    for _ in $(seq 50); do running "$1" || break; sleep 0.2; done
    echo "stopped $2"
  fi
  rm -f "$1"
}

if [ "${1:-}" = "stop" ]; then
  stop_one "$HOME_DIR/agent.pid" steward-agent
  stop_one "$HOME_DIR/collector.pid" steward-collector
  exit 0
fi

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
"$ROOT/deploy/install-deps.sh"

step "building (first build takes a few minutes on 2 cores)"
"$ROOT/deploy/build.sh" --target steward-collector steward-agent stewardctl

mkdir -p "$LOGS"
if running "$HOME_DIR/collector.pid"; then
  step "collector already running (pid $(cat "$HOME_DIR/collector.pid"))"
else
  step "starting steward-collector on $LISTEN (data in $DATA)"
  rm -f "$DATA/admin.conf"
  # --config /dev/null: the quick start's settings only, not /etc/steward's.
  setsid "$BUILD/collector/steward-collector" --config /dev/null --data-dir "$DATA" --listen "$LISTEN" \
    >>"$LOGS/collector.log" 2>&1 < /dev/null &
  echo $! > "$HOME_DIR/collector.pid"
  for _ in $(seq 100); do
    [ -s "$DATA/admin.conf" ] && break
    running "$HOME_DIR/collector.pid" || { tail -5 "$LOGS/collector.log" >&2; echo "error: the collector exited; see $LOGS/collector.log" >&2; exit 1; }
    sleep 0.2
  done
  [ -s "$DATA/admin.conf" ] || { echo "error: collector did not write $DATA/admin.conf; see $LOGS/collector.log" >&2; exit 1; }
fi
ADDR="$(sed -n 's/^collector = //p' "$DATA/admin.conf")"

if running "$HOME_DIR/agent.pid"; then
  step "agent already running (pid $(cat "$HOME_DIR/agent.pid"))"
else
  TOKEN_ARGS=()
  if [ ! -s "$STATE/agent.id" ]; then
    step "creating an enrollment token"
    TOKEN="$("$CTL" token create --ttl 10m --label env=quickstart)"
    TOKEN_ARGS=(--enroll-token "$TOKEN")
  fi
  step "starting steward-agent for this machine (every $INTERVAL)"
  setsid "$BUILD/agent/steward-agent" --config /dev/null --collector "$ADDR" --ca-file "$DATA/ca.pem" \
    --state-dir "$STATE" --interval "$INTERVAL" "${TOKEN_ARGS[@]}" \
    >>"$LOGS/agent.log" 2>&1 < /dev/null &
  echo $! > "$HOME_DIR/agent.pid"
fi

step "waiting for the agent's first report"
AGENT_ID=""
for _ in $(seq 150); do
  running "$HOME_DIR/agent.pid" || { tail -5 "$LOGS/agent.log" >&2; echo "error: the agent exited; see $LOGS/agent.log" >&2; exit 1; }
  [ -s "$STATE/agent.id" ] && AGENT_ID="$(cat "$STATE/agent.id")"
  if [ -n "$AGENT_ID" ] && "$CTL" metrics --host "$AGENT_ID" --list 2>/dev/null | grep -q host_load1 \
     && "$CTL" hosts --json | grep -q '"software_count": [1-9]'; then
    break
  fi
  sleep 0.2
done
[ -n "$AGENT_ID" ] || { echo "error: the agent did not enroll; see $LOGS/agent.log" >&2; exit 1; }

step "hosts"
"$CTL" hosts

# The name the agent reported for this machine (stewardctl takes it for --host).
HOST_NAME="$("$CTL" software --host "$AGENT_ID" | awk 'NR==2 {print $1}')"
HOST_NAME="${HOST_NAME:-$AGENT_ID}"
step "software inventory of this machine (agent $AGENT_ID)"
TOTAL="$("$CTL" software --host "$AGENT_ID" | tail -n +2 | wc -l)"
BY_SOURCE="$("$CTL" software --host "$AGENT_ID" | awk 'NR>1 {c[$3]++} END {for (s in c) printf "%s%s %d", (n++ ? ", " : ""), s, c[s]}')"
echo "$TOTAL software items reported ($BY_SOURCE); a few of them:"
"$CTL" software --host "$AGENT_ID" | awk 'NR==1 || $4 ~ /^(bash|coreutils|libc6|openssl|libssl3|systemd|python3|gcc|cmake)$/'

step "current metrics"
for m in host_load1 host_memory_available_bytes host_cpu_seconds_total; do
  "$CTL" metrics --host "$AGENT_ID" --metric "$m" --since 1m
  echo
done

cat <<EOT

Steward is running.
  collector  pid $(cat "$HOME_DIR/collector.pid"), listening on $ADDR, log $LOGS/collector.log
  agent      pid $(cat "$HOME_DIR/agent.pid"), agent id $AGENT_ID, log $LOGS/agent.log
  data       $DATA (RocksDB in db/, CA in ca.pem, admin credential admin.conf)
  identity   $STATE

Use stewardctl:
  export STEWARD_CONFIG=$DATA/admin.conf
  $CTL hosts
  $CTL software --host $HOST_NAME --name 'libssl*'          # --host: hostname, agent id or a 4+ character id prefix
  $CTL metrics --host $HOST_NAME --list
  $CTL metrics --host ${AGENT_ID:0:6} --metric host_load1 --since 15m --json
  $CTL changes --since 24h                                  # what was installed, upgraded, removed
  $CTL checks set ssh --type tcp --param address=127.0.0.1:22 && $CTL health
  $CTL token create --ttl 1h --uses 10 --label env=prod     # enroll more machines
  $CTL install --print-command                              # install agents elsewhere (docs/install.md:
                                                            #   deploy/package.sh, then install --ssh)
  $CTL help                                                 # every command; 'stewardctl help software' for one

Stop both:  $ROOT/deploy/quickstart.sh stop
EOT
