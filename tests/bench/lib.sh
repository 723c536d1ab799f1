# Helpers shared by the benchmark scripts (sourced, not run).
# step/warn print progress to stderr; need installs a missing command with
# apt-get (updating the lists once when a package is not found); free_port
# and wait_for help start servers on 127.0.0.1. wait_for reads logs from
# $TMP/logs/WHAT.log.

step() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
APT_UPDATED=0
need() {  # need COMMAND PACKAGE: installs PACKAGE with apt-get when COMMAND is missing.
  command -v "$1" >/dev/null 2>&1 && return 0
  step "installing $2 (for $1)"
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2; then
    if [ "$APT_UPDATED" = 0 ]; then
      $SUDO apt-get update -q >&2
      APT_UPDATED=1
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2
    else
      return 1
    fi
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "error: $2 installed no $1" >&2; exit 1; }
}
export PATH="$PATH:/usr/sbin:/sbin"

free_port() {  # A port nothing listens on now, in 20000-32767 (zabbix_agentd's ListenPort stops at 32767).
  local p tries
  for tries in $(seq 200); do
    p=$(( 20000 + RANDOM % 12768 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "error: no free port found" >&2
  return 1
}

wait_for() {  # wait_for SECONDS PID WHAT COMMAND...: polls COMMAND until it succeeds.
  local secs="$1" pid="$2" what="$3" i
  shift 3
  for i in $(seq $((secs * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "error: $what exited; log:" >&2; tail -20 "$TMP/logs/$what.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "error: $what did not become ready in ${secs}s; log:" >&2
  tail -20 "$TMP/logs/$what.log" >&2
  exit 1
}
