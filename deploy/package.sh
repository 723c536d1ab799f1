#!/usr/bin/env bash
# Builds the Debian packages steward-agent, steward-collector and stewardctl
# and copies them into OUT_DIR (default dist/). See docs/install.md.
#
#   deploy/package.sh [OUT_DIR]
#
# The build tree is build-package/ (STEWARD_PACKAGE_BUILD_DIR), configured
# for packages: no tests, Debian's hardening flags (dpkg-buildflags with
# hardening=+all), and gRPC, protobuf and Abseil linked statically
# (-DSTEWARD_STATIC_AGENT=ON: the smallest agent, docs/benchmarks.md).
# STEWARD_DEB_RELEASE sets the Debian revision (VERSION-RELEASE, default 1);
# STEWARD_JOBS the build's parallelism.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/dist}")"
BUILD="${STEWARD_PACKAGE_BUILD_DIR:-$ROOT/build-package}"
JOBS="${STEWARD_JOBS:-$(nproc)}"
RELEASE="${STEWARD_DEB_RELEASE:-1}"

"$ROOT/deploy/install-deps.sh"
cd "$ROOT"  # dpkg-buildflags maps this directory away in debug info
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEWARD_BUILD_TESTS=OFF \
  -DSTEWARD_STATIC_AGENT=ON -DSTEWARD_DEB_RELEASE="$RELEASE" "${launcher[@]}" \
  -DCMAKE_C_FLAGS="$CPPFLAGS $CFLAGS" -DCMAKE_CXX_FLAGS="$CPPFLAGS $CXXFLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" >/dev/null
rm -f "$BUILD"/packages/*.deb
cmake -S "$ROOT" -B "$BUILD" -DSTEWARD_BUNDLED_AGENT_DEB= >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target package
# The collector package again, carrying this agent package (it serves it to
# the machines it installs: docs/install.md); the agent package kept is the
# one it carries.
mkdir -p "$BUILD/bundled"
rm -f "$BUILD"/bundled/*.deb
mv "$BUILD"/packages/steward-agent_*.deb "$BUILD/bundled/"
agent_deb=$(ls "$BUILD"/bundled/steward-agent_*.deb)
cmake -S "$ROOT" -B "$BUILD" -DSTEWARD_BUNDLED_AGENT_DEB="$agent_deb" >/dev/null
rm -f "$BUILD"/packages/*.deb
cmake --build "$BUILD" -j "$JOBS" --target package
cp "$agent_deb" "$BUILD/packages/"
mkdir -p "$OUT"
for pkg in steward-agent steward-collector stewardctl; do
  rm -f "$OUT/${pkg}"_*.deb
done
cp "$BUILD"/packages/*.deb "$OUT/"
ls -l "$OUT"/*.deb
