#!/bin/sh
# Installs what the project needs and is missing; a second run installs nothing.
#   scripts/deps.sh c     build and run: compiler libraries, nginx + nchan, redis
#   scripts/deps.sh all   also test tooling: chromium, ffmpeg, node packages (npm ci)
set -eu
cd "$(dirname "$0")/.."

RUN_PKGS="nginx libnginx-mod-nchan redis-server libhiredis-dev libjson-c-dev \
libcunit1-dev libsodium-dev pkg-config gcc make curl \
libssl-dev libpcre2-dev zlib1g-dev xz-utils patch"
# The last five build nchan 1.3.7 for the cluster shape (scripts/nchan-build.sh).
# systemd: systemd-analyze and systemd-socket-activate for tests/install (not as init).
TEST_PKGS="chromium ffmpeg nodejs npm clang libclang-rt-14-dev clang-format iproute2 procps \
systemd"

missing=""
want=$RUN_PKGS
[ "${1:-c}" = all ] && want="$RUN_PKGS $TEST_PKGS"
for p in $want; do
  # Node may come from outside Debian (nvm, nodesource): working commands are enough.
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

if [ "${1:-c}" = all ]; then
  command -v npm >/dev/null 2>&1 || { echo "deps: npm missing"; exit 1; }
  # Reinstall only when the lockfile changed since the last install.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
