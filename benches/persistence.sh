#!/usr/bin/env bash
# Issue 5's figures: the AOF and BGSAVE, shoal-server and redis-server side
# by side, pinned: each server on CPU 0, the load generator on CPU 1.
# Writes docs/benchmarks/persistence.md.
#
#   benches/persistence.sh [--reps N] [--quick] [--keys N]
#
# 1. SET with appendonly yes and appendfsync always / everysec, and with
#    the AOF off (each server's ceiling, which bounds `always`):
#    -t set -c 50 -P 1 -r 100000 (closed loop) from redis-benchmark and from
#    shoal-benchmark (a lighter client: redis-benchmark tops out near 76k
#    rps on one CPU at -P 1), shoal --threads 1, a fresh AOF directory per
#    run; medians of the repetitions of throughput and p99, alternating
#    which server goes first.
# 2. BGSAVE of --keys small keys (default 1M, 3-byte values) under a paced
#    SET load (shoal-benchmark --rate, HDR percentiles): the dataset's
#    memory just before BGSAVE and the peak while it runs, as PSS (so
#    Redis's forked child counts only the pages it does not share), sampled
#    every 20 ms; p99.9 of the load while idle and while the snapshot runs;
#    snapshot time (BGSAVE to rdb_bgsave_in_progress:0); load time at the
#    next start (the servers' own "DB loaded from disk" line).
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
cd "$(dirname "$0")/.."

REPS=3
N=100000
KEYS=1000000
RATE=20000
INVOCATION="benches/persistence.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --quick) REPS=1; N=20000; KEYS=200000; shift ;;
    --keys) KEYS="$2"; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--quick] [--keys N]" >&2; exit 2 ;;
  esac
done

OUT=docs/benchmarks/persistence.md
. benches/lib.sh
bench_setup persist tools

PORT=0
PID=0
start() { # $1 shoal|redis, $2 dir, then extra args
  local kind=$1 dir=$2; shift 2
  mkdir -p "$dir"
  PORT=$(free_port)
  if [ "$kind" = shoal ]; then
    taskset -c 0 "$SHOAL" --port "$PORT" --threads 1 --dir "$dir" --logfile "$dir/server.log" "$@" &
  else
    taskset -c 0 redis-server --port "$PORT" --dir "$dir" --logfile "$dir/server.log" "$@" &
  fi
  PID=$!
  wait_up "$PORT"
}
stop() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# ---- 1. AOF ----
RUNS="$WORK/aof.csv"
: > "$RUNS"
# `off` (no AOF at all) is each server's ceiling on this machine: no
# appendfsync setting can go faster, so it bounds what `always` can reach.
for mode in ${AOF_MODES-always everysec off}; do
  for rep in $(seq "$REPS"); do
    order="shoal redis"; [ $((rep % 2)) -eq 0 ] && order="redis shoal"
    for kind in $order; do
      for gen in redis-benchmark shoal-benchmark; do
        dir="$WORK/aof-$kind-$mode-$rep"
        if [ "$mode" = off ]; then
          start "$kind" "$dir" --save "" --appendonly no
        else
          start "$kind" "$dir" --save "" --appendonly yes --appendfsync "$mode"
        fi
        bin=redis-benchmark; [ "$gen" = shoal-benchmark ] && bin=$SB
        line=$(taskset -c 1 "$bin" -p "$PORT" -t set -n "$N" -r 100000 -c 50 -P 1 --csv | tail -1 | tr -d '"')
        stop
        rm -rf "$dir"
        # test,rps,avg,min,p50,p95,p99,max (both generators)
        echo "$mode,$gen,$kind,$(echo "$line" | cut -d, -f2),$(echo "$line" | cut -d, -f7)" >> "$RUNS"
        echo "aof $mode $gen $kind rep $rep: $line" >&2
      done
    done
  done
done
aof_stat() { { grep "^$1,$2,$3," "$RUNS" || true; } | cut -d, -f"$4" | median; }

# ---- 2. BGSAVE under load ----
pss_kb() { # PSS of $1 and its children, kB
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
fill() { # $KEYS keys key:1..N, in scripts of 100k SETs
  local from=1 to
  while [ "$from" -le "$KEYS" ]; do
    to=$((from + 99999)); [ "$to" -gt "$KEYS" ] && to=$KEYS
    redis-cli -p "$PORT" eval "for i=tonumber(ARGV[1]),tonumber(ARGV[2]) do redis.call('SET','key:'..i,'xxx') end return 1" 0 "$from" "$to" >/dev/null
    from=$((to + 1))
  done
}
in_progress() { redis-cli -p "$PORT" info persistence | tr -d '\r' | awk -F: '/^rdb_bgsave_in_progress/ {print $2}'; }
p999() { tail -1 "$1" | tr -d '"' | cut -d, -f9; }

declare -A SNAP_S PEAK_R P_IDLE P_SNAP LOAD_S DATA_MB PEAK_MB
for kind in shoal redis; do
  dir="$WORK/bgsave-$kind"
  start "$kind" "$dir" --save "" --appendonly no
  fill
  sleep 1
  # Idle latency under the paced load.
  taskset -c 1 "$SB" -p "$PORT" -t set -c 50 -r "$KEYS" --rate "$RATE" --duration 3 --csv > "$WORK/idle-$kind.csv" 2>/dev/null
  # A BGSAVE without load sizes the loaded run's duration.
  t0=$(date +%s.%N); redis-cli -p "$PORT" bgsave >/dev/null
  sleep 0.05; while [ "$(in_progress)" = 1 ]; do sleep 0.02; done
  dry=$(echo "$(date +%s.%N) - $t0" | bc)
  dur=$(printf '%.0f' "$(echo "$dry + 1.5" | bc)")
  taskset -c 1 "$SB" -p "$PORT" -t set -c 50 -r "$KEYS" --rate "$RATE" --duration "$dur" --csv > "$WORK/snap-$kind.csv" 2>/dev/null &
  LOAD=$!
  sleep 0.5
  base=$(pss_kb "$PID")
  peak=$base
  t0=$(date +%s.%N); redis-cli -p "$PORT" bgsave >/dev/null
  while :; do
    m=$(pss_kb "$PID"); [ "$m" -gt "$peak" ] && peak=$m
    [ "$(in_progress)" = 1 ] || break
    sleep 0.02
  done
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
  wait "$LOAD" || true
  SNAP_S[$kind]=$(printf '%.2f' "$secs")
  DATA_MB[$kind]=$(echo "scale=1; $base / 1024" | bc)
  PEAK_MB[$kind]=$(echo "scale=1; $peak / 1024" | bc)
  PEAK_R[$kind]=$(echo "scale=2; $peak / $base" | bc)
  P_IDLE[$kind]=$(p999 "$WORK/idle-$kind.csv")
  P_SNAP[$kind]=$(p999 "$WORK/snap-$kind.csv")
  stop
  # Load time at the next start.
  start "$kind" "$dir" --save "" --appendonly no
  # PING answers -LOADING while Redis loads: wait for the log line.
  for _ in $(seq 600); do grep -q 'DB loaded from disk' "$dir/server.log" && break; sleep 0.05; done
  LOAD_S[$kind]=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$dir/server.log" | tail -1 | awk '{print $5}' || true)
  stop
  rm -rf "$dir"
done

ratio() { echo "scale=2; $1 / $2" | bc; }
{
  echo "# Persistence: AOF and BGSAVE, Shoal vs Redis"
  echo
  echo "Generated by \`$INVOCATION\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs,"
  echo "$(redis-server --version | cut -d' ' -f1-3). Servers on CPU 0, load on CPU 1 (taskset); shoal --threads 1."
  echo
  echo "## SET with the AOF on"
  echo
  echo "\`-t set -n $N -r 100000 -c 50 -P 1\` from each generator, a fresh AOF directory per run, medians of $REPS."
  echo
  echo "| appendfsync | generator | Shoal rps | Redis rps | ratio | Shoal p99 ms | Redis p99 ms |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for mode in always everysec off; do
    for gen in redis-benchmark shoal-benchmark; do
      s=$(aof_stat "$mode" "$gen" shoal 4); r=$(aof_stat "$mode" "$gen" redis 4)
      label=$mode; [ "$mode" = off ] && label="off (appendonly no)"
      echo "| $label | $gen | $s | $r | $(ratio "$s" "$r")× | $(aof_stat "$mode" "$gen" shoal 5) | $(aof_stat "$mode" "$gen" redis 5) |"
    done
  done
  echo
  echo "The ceiling: with the AOF off nothing waits on the disk, so no appendfsync setting"
  echo "can beat it. Shoal's ceiling against Redis's \`always\`, per generator (the issue-5"
  echo "target for \`always\` is 2×):"
  echo
  for gen in redis-benchmark shoal-benchmark; do
    c=$(aof_stat off "$gen" shoal 4); r=$(aof_stat always "$gen" redis 4)
    echo "- $gen: Shoal off $c / Redis always $r = $(ratio "$c" "$r")×"
  done
  echo
  echo "## BGSAVE of $KEYS keys under a SET load of $RATE rps"
  echo
  echo "Memory is PSS (Redis: parent and forked child together), just before BGSAVE and the peak while it"
  echo "runs; p99.9 of the paced load (shoal-benchmark, HDR) idle and while the snapshot runs."
  echo
  echo "| | Shoal | Redis |"
  echo "|---|---:|---:|"
  echo "| dataset memory before BGSAVE (MB) | ${DATA_MB[shoal]} | ${DATA_MB[redis]} |"
  echo "| peak memory during BGSAVE (MB) | ${PEAK_MB[shoal]} | ${PEAK_MB[redis]} |"
  echo "| peak / dataset | ${PEAK_R[shoal]}× | ${PEAK_R[redis]}× |"
  echo "| p99.9 idle (ms) | ${P_IDLE[shoal]} | ${P_IDLE[redis]} |"
  echo "| p99.9 during the snapshot (ms) | ${P_SNAP[shoal]} | ${P_SNAP[redis]} |"
  echo "| snapshot time (s) | ${SNAP_S[shoal]} | ${SNAP_S[redis]} |"
  echo "| load time at start (s) | ${LOAD_S[shoal]:-n/a} | ${LOAD_S[redis]:-n/a} |"
  echo
  runs_block "$RUNS" "Per-run AOF figures (mode, generator, server, rps, p99 ms):"
} > "$OUT"
cat "$OUT"
