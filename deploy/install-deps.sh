#!/usr/bin/env bash
# Installs what Steward needs to build and test on Debian 12, with apt-get.
# Only missing packages are installed; the package lists are refreshed first
# when something is missing (on a new machine they may be empty or stale).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libre2-dev libspdlog-dev libssl-dev
  libgtest-dev libgmock-dev
  python3 openssl dpkg
  curl  # tests: the agent install endpoints are fetched as install-agent.sh fetches them
  openssh-client  # stewardctl install runs ssh
  rpm  # tests: the reference for rpm version ordering (rpm.vercmp), and rpm jobs (rpm, rpmbuild)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "==> installing build dependencies: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "==> dependencies installed"
