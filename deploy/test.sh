#!/usr/bin/env bash
# Installs missing dependencies, builds everything and runs the whole test
# suite with ctest (unit tests and the end-to-end test with real processes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
"$ROOT/deploy/install-deps.sh"
"$ROOT/deploy/build.sh"
cd "$BUILD"
ctest --output-on-failure --timeout 300 -j "${STEWARD_TEST_JOBS:-2}"
