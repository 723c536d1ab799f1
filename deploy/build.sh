#!/usr/bin/env bash
# Configures and builds Steward into build/ (shared by the quick start and
# the tests). Extra arguments are passed to `cmake --build` (e.g. --target X).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${STEWARD_BUILD_DIR:-$ROOT/build}"
JOBS="${STEWARD_JOBS:-$(nproc)}"
# Re-running configure is cheap and keeps the cache right for this checkout.
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS" "$@"
