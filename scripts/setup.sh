#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Idempotent:
# every step checks first and does nothing when the tool is already there.
# Fragments in scripts/setup.d/*.sh add the needs of one component each.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The reference server and its tools, Python for redis-py tests.
apt_install redis-server redis-tools redis-sentinel python3 python3-venv python3-pip

# Debian starts redis-server as a service on 6379 when it can; tests never use it.

# Python venv with redis-py 8 (RESP3 by default) and pytest.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import redis, pytest' 2>/dev/null; then
  echo "setup: python venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r tests/python/requirements.txt
fi

# cargo-nextest runs the Rust tests when present; cargo test otherwise.
for f in scripts/setup.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck source=/dev/null
  . "$f"
done
