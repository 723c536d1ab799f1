#!/usr/bin/env bash
# Health gate timing: one real agent (10 s interval, a tcp check that stays
# healthy) and a real collector; each run pushes a new .deb and rolls it out
# with `--waves 100% --health-gate 20s`, then prints how long from create to
# `succeeded` and from the job's end to `succeeded` (about the gate's 20 s
# when the gate asks the agent for reports; up to a minute more when it
# waits for the agent's periodic report).
# Run it as: tests/bench/run gate [RUNS]   (default 3; builds first)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
RUNS="${1:-3}"
if [[ ! "$RUNS" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: RUNS must be a positive count, not '$RUNS'" >&2
  exit 2
fi
cmake --build "$BUILD" --target steward-collector steward-agent stewardctl -j "${STEWARD_JOBS:-2}" >/dev/null
export STEWARD_COLLECTOR="$BUILD/collector/steward-collector"
export STEWARD_AGENT="$BUILD/agent/steward-agent"
export STEWARDCTL="$BUILD/collector/ctl/stewardctl"
exec python3 "$ROOT/tests/bench/gate_wait.py" "$RUNS"
