#!/usr/bin/env bash
# Runs every test of the project: installs what is missing (scripts/setup.sh),
# builds the workspace, runs the Rust tests (unit + black-box against real
# shoal-server and redis-server processes) and the Python client tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== build"
cargo build --workspace --all-targets

echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== engine tests again on the fallback network backend (glommio sockets)"
if cargo nextest --version >/dev/null 2>&1; then
  SHOAL_NETWORK_BACKEND=glommio cargo nextest run -p shoal-engine --no-fail-fast
else
  SHOAL_NETWORK_BACKEND=glommio cargo test -p shoal-engine --no-fail-fast
fi

echo "== python client tests"
.venv/bin/python -m pytest -q tests/python

for f in scripts/test.d/*.sh; do
  [ -e "$f" ] || continue
  echo "== $f"
  bash "$f"
done
echo "== all tests passed"
