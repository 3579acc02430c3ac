#!/usr/bin/env bash
# RDB snapshots: how long SAVE and the start-up load of N small string keys take,
# redis-server and shoal-server side by side in one run, and how big the file is.
#
#   keys: DEBUG POPULATE N (key:<i> -> value:<i>), database 0;
#   SAVE: timed around redis-cli (file written, fsynced, renamed);
#   load: the server's own "DB loaded from disk: X seconds" log line after a
#   restart on the saved file;
#   redis-server and shoal --threads 1 pinned to CPU 0, shoal --threads 2 to CPUs 0,1.
#   Every server's file is also checked with redis-check-rdb.
#
# Each number is the median of ROUNDS SAVEs and ROUNDS restarts.
#
# Environment: N (default 1000000), ROUNDS (default 3), PORT (default 26995),
# OUT (default docs/benchmarks/rdb.md). Needs: redis-server, redis-cli,
# redis-check-rdb, taskset, cargo; 2+ CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-26995}
OUT=${OUT:-docs/benchmarks/rdb.md}

for tool in redis-server redis-cli redis-check-rdb taskset cargo; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
cargo build --release -q -p shoal-engine --bin shoal-server
SHOAL=$(pwd)/target/release/shoal-server

WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_up() {
  for _ in $(seq 600); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not come up" >&2
  exit 1
}

# start NAME DIR: start server NAME with its data in DIR, log in DIR/log.
start() {
  local name=$1 dir=$2
  case $name in
    redis) taskset -c 0 redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
             --enable-debug-command yes --dir "$dir" >"$dir/log" 2>&1 & ;;
    shoal1) taskset -c 0 "$SHOAL" --port "$PORT" --threads 1 --save '' \
             --enable-debug-command yes --dir "$dir" >"$dir/log" 2>&1 & ;;
    shoal2) taskset -c 0,1 "$SHOAL" --port "$PORT" --threads 2 --save '' \
             --enable-debug-command yes --dir "$dir" >"$dir/log" 2>&1 & ;;
  esac
  PID=$!
  wait_up
}

stop() {
  kill -9 "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}

now() { date +%s.%N; }

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ROWS=""
for name in redis shoal1 shoal2; do
  dir="$WORK/$name"
  mkdir -p "$dir"
  start "$name" "$dir"
  redis-cli -p "$PORT" debug populate "$N" >/dev/null
  keys=$(redis-cli -p "$PORT" dbsize)
  saves=""
  for _ in $(seq "$ROUNDS"); do
    t0=$(now)
    redis-cli -p "$PORT" save >/dev/null
    t1=$(now)
    saves="$saves$(echo "$t1 - $t0" | bc -l)"$'\n'
  done
  save=$(printf "%s" "$saves" | median)
  size=$(stat -c %s "$dir/dump.rdb")
  redis-check-rdb "$dir/dump.rdb" | grep -q "RDB looks OK" || { echo "$name: redis-check-rdb failed" >&2; exit 1; }
  stop
  loads=""
  for _ in $(seq "$ROUNDS"); do
    start "$name" "$dir"
    for _ in $(seq 100); do grep -q "DB loaded from disk" "$dir/log" && break; sleep 0.05; done
    loads="$loads$(grep -o "DB loaded from disk: [0-9.]* seconds" "$dir/log" | grep -o "[0-9.]*" | head -1)"$'\n'
    loaded=$(redis-cli -p "$PORT" dbsize)
    stop
    [ "$loaded" = "$keys" ] || { echo "$name: $keys keys saved, $loaded loaded" >&2; exit 1; }
  done
  load=$(printf "%s" "$loads" | median)
  row=$(printf "| %s | %s | %.3f | %s | %.1f |" "$name" "$keys" "$save" "$load" "$(echo "$size / 1048576" | bc -l)")
  echo "$row"
  ROWS="$ROWS$row"$'\n'
done

{
  echo "# RDB SAVE and load ($(date -u +%Y-%m-%d), benches/rdb-save-load.sh)"
  echo
  echo "$N string keys (DEBUG POPULATE), database 0. SAVE timed by the client (includes fsync"
  echo "and rename); load from the server's \"DB loaded from disk\" line after a restart (Shoal's"
  echo "includes reading and checksumming the file on the main thread and starting the executors)."
  echo "Medians of $ROUNDS runs each."
  echo "redis-server 7.0 and shoal --threads 1 on CPU 0, shoal --threads 2 on CPUs 0-1."
  echo
  echo "| server | keys | SAVE s | load s | file MB |"
  echo "|---|---|---|---|---|"
  printf "%s" "$ROWS"
} >"$OUT"
echo "wrote $OUT"
