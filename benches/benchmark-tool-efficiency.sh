#!/usr/bin/env bash
# Is the load generator the bottleneck? Runs redis-benchmark and shoal-benchmark
# side by side, in one run, against one redis-server, and writes the results to
# docs/benchmarks/shoal-benchmark.md.
#
#   redis-server pinned to CPU 0 (taskset -c 0), both generators pinned to CPU 1;
#   tests set and get, -c 50, -P 1 and -P 16, -r 100000, bounded -n;
#   ROUNDS rounds, the order of the two tools alternating every round; the
#   tables show the median round, and every round is listed below them.
#
# Environment: N (requests per test at -P 1, default 300000), N16 (at -P 16, default
# 4 × N, so both last about as long), ROUNDS (default 5),
# PORT (default 26991), OUT (default docs/benchmarks/shoal-benchmark.md),
# CARGO_TARGET_DIR (where the release binary is built).
# Needs: redis-server, redis-benchmark, taskset, python3, cargo; 2+ CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300000}
N16=${N16:-$((4 * N))}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-26991}
OUT=${OUT:-docs/benchmarks/shoal-benchmark.md}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

for tool in redis-server redis-benchmark taskset python3 cargo; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "needs 2 CPUs to pin server and generator apart" >&2
  exit 1
fi

cargo build --release -q -p shoal-tools --bin shoal-benchmark
SB="$TARGET_DIR/release/shoal-benchmark"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  echo "port $PORT is taken; set PORT" >&2
  exit 1
fi
taskset -c 0 redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.05
done
redis-cli -p "$PORT" ping >/dev/null

# server_mark start | FILE: remember the server's CPU ticks and the time; then write
# "ticks seconds" spent since the start mark into FILE.
server_mark() {
  local ticks now
  ticks=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
  now=$(date +%s.%N)
  if [ "$1" = start ]; then
    MARK_TICKS=$ticks MARK_TIME=$now
  else
    echo "$((ticks - MARK_TICKS)) $(awk -v a="$now" -v b="$MARK_TIME" 'BEGIN { print a - b }')" > "$1"
  fi
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
COMMON="-p $PORT -c 50 -r 100000 -t set,get"
TIMEFORMAT='%3U %3S'
for round in $(seq "$ROUNDS"); do
  for P in 1 16; do
    if [ "$P" = 1 ]; then n=$N; else n=$N16; fi
    # bash's `time` reports the generator's own CPU seconds (user, system);
    # the server's CPU ticks over the run's wall time say whether it was the bottleneck.
    rb() {
      server_mark start
      { time taskset -c 1 redis-benchmark $COMMON -n "$n" -P "$P" > "$WORK/rb-P$P-r$round.txt" 2>/dev/null; } 2> "$WORK/rb-P$P-r$round.cpu"
      server_mark "$WORK/rb-P$P-r$round.server"
    }
    sb() {
      server_mark start
      { time taskset -c 1 "$SB" $COMMON -n "$n" -P "$P" --csv > "$WORK/sb-P$P-r$round.csv"; } 2> "$WORK/sb-P$P-r$round.cpu"
      server_mark "$WORK/sb-P$P-r$round.server"
    }
    redis-cli -p "$PORT" flushall >/dev/null
    if [ $((round % 2)) = 1 ]; then rb; sb; else sb; rb; fi
    echo "round $round -P $P done, load $(cut -d' ' -f1 /proc/loadavg)" >&2
    echo "$round $P $(cut -d' ' -f1 /proc/loadavg)" >> "$WORK/load.txt"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

export WORK ROUNDS N N16 PORT OUT STARTED LOAD_BEFORE LOAD_AFTER COMMON
export CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
export CORES=$(nproc) KERNEL=$(uname -r) CLK_TCK=$(getconf CLK_TCK)
export REDIS_VERSION=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')
export SB_VERSION=$("$SB" --version)
export COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$(dirname "$OUT")"
python3 - <<'PY'
import csv, os, re, statistics

work, rounds = os.environ["WORK"], int(os.environ["ROUNDS"])

def parse_rb(path):
    """redis-benchmark's default text: throughput, summary table, p99.9 from
    the percentile distribution (first line at or above 99.9 %)."""
    out, test = {}, None
    lines = open(path, errors="replace").read().replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"\s*====== (\S+) ======", line)
        if m:
            test = m.group(1)
            out[test] = {}
            continue
        if test is None:
            continue
        m = re.match(r"([\d.]+)% <= ([\d.]+) milliseconds", line)
        if m and "p99_9" not in out[test] and float(m.group(1)) >= 99.9:
            out[test]["p99_9"] = float(m.group(2))
        m = re.search(r"throughput summary: ([\d.]+) requests per second", line)
        if m:
            out[test]["rps"] = float(m.group(1))
        if line.strip().startswith("avg") and "p50" in line:
            names = line.split()
            vals = [float(v) for v in lines[i + 1].split()]
            for k, v in zip(names, vals):
                out[test][k] = v
    return out

def parse_sb(path):
    out = {}
    for row in csv.DictReader(open(path)):
        out[row["test"]] = {"rps": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
                            "p99": float(row["p99_latency_ms"]), "p99_9": float(row["p99_9_latency_ms"])}
    return out

load = {}
for line in open(f"{work}/load.txt"):
    r, P, l = line.split()
    load[(int(r), int(P))] = l
rows, detail = [], []
for P in (1, 16):
    for test in ("SET", "GET"):
        rb = [parse_rb(f"{work}/rb-P{P}-r{r}.txt")[test] for r in range(1, rounds + 1)]
        sb = [parse_sb(f"{work}/sb-P{P}-r{r}.csv")[test] for r in range(1, rounds + 1)]
        med = lambda runs, k: statistics.median(x[k] for x in runs)
        # The median of per-round ratios: each pair ran back to back, so it
        # cancels most of the background load that moves both.
        ratio = statistics.median(s["rps"] / r["rps"] for s, r in zip(sb, rb))
        rows.append((test, P, med(rb, "rps"), med(sb, "rps"), ratio,
                     med(rb, "p50"), med(sb, "p50"), med(rb, "p99"), med(sb, "p99"),
                     med(rb, "p99_9"), med(sb, "p99_9")))
        for r in range(rounds):
            detail.append((test, P, r + 1, rb[r]["rps"], sb[r]["rps"], sb[r]["rps"] / rb[r]["rps"], load[(r + 1, P)]))

def cpu(tool, P, r):
    """CPU seconds (user + system) of one generator run (SET and GET together)."""
    u, s = open(f"{work}/{tool}-P{P}-r{r}.cpu").read().split()[-2:]
    return float(u) + float(s)

def server_busy(tool, P, r):
    """Fraction of the run's wall time the server spent on CPU."""
    ticks, secs = open(f"{work}/{tool}-P{P}-r{r}.server").read().split()
    return int(ticks) / int(os.environ["CLK_TCK"]) / float(secs)

n_total = {1: 2 * int(os.environ["N"]), 16: 2 * int(os.environ["N16"])}
cpu_rows = []
for P in (1, 16):
    rb_us = statistics.median(cpu("rb", P, r) for r in range(1, rounds + 1)) / n_total[P] * 1e6
    sb_us = statistics.median(cpu("sb", P, r) for r in range(1, rounds + 1)) / n_total[P] * 1e6
    rb_busy = statistics.median(server_busy("rb", P, r) for r in range(1, rounds + 1))
    sb_busy = statistics.median(server_busy("sb", P, r) for r in range(1, rounds + 1))
    cpu_rows.append((P, rb_us, sb_us, rb_busy, sb_busy))

e = os.environ
cmd_rb = f"taskset -c 1 redis-benchmark {e['COMMON']} -n {e['N']} -P 1 (and -n {e['N16']} -P 16)"
cmd_sb = f"taskset -c 1 shoal-benchmark {e['COMMON']} -n {e['N']} -P 1 (and -n {e['N16']} -P 16) --csv"
with open(e["OUT"], "w") as f:
    f.write(f"""# shoal-benchmark efficiency: does the generator keep up?

Written by `benches/benchmark-tool-efficiency.sh` (do not edit by hand; rerun it).
One redis-server {e['REDIS_VERSION']} pinned to CPU 0; redis-benchmark and shoal-benchmark
take turns on CPU 1 against it, in one run. The generator is the bottleneck when its rps is
lower: shoal-benchmark must reach at least redis-benchmark's rps (ratio ≥ 1.00).

- Run: {e['STARTED']}, commit {e['COMMIT']}, {e['SB_VERSION']}
- Machine: {e['CPU_MODEL']}, {e['CORES']} CPUs, Linux {e['KERNEL']}
- Load average (1/5/15 min) before: {e['LOAD_BEFORE']}, after: {e['LOAD_AFTER']}
  (other work on this machine shares it; see the per-round table for the spread)
- Server: `taskset -c 0 redis-server --port {e['PORT']} --save '' --appendonly no`
- Commands, alternating which goes first each round, {rounds} rounds, FLUSHALL before each pair:
  - `{cmd_rb}`
  - `{cmd_sb}`

Medians over the rounds; latencies in ms. redis-benchmark's p99.9 is the first line at or
above 99.9 % of its percentile distribution; shoal-benchmark's comes from its CSV.
Both are closed-loop here; latency runs from a batch's write to each reply.

| test | -P | redis-benchmark rps | shoal-benchmark rps | ratio (median of rounds) | p50 rb | p50 sb | p99 rb | p99 sb | p99.9 rb | p99.9 sb |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
""")
    for t, P, rbr, sbr, ratio, rb50, sb50, rb99, sb99, rb999, sb999 in rows:
        f.write(f"| {t} | {P} | {rbr:,.0f} | {sbr:,.0f} | {ratio:.2f} | {rb50:.3f} | {sb50:.3f} | {rb99:.3f} | {sb99:.3f} | {rb999:.3f} | {sb999:.3f} |\n")
    f.write("\nGenerator CPU time per request (user + system, median round, SET and GET together;\n"
            "lower means more headroom before the generator becomes the bottleneck):\n\n"
            "| -P | redis-benchmark µs/request | shoal-benchmark µs/request | ratio |\n|---:|---:|---:|---:|\n")
    for P, rb_us, sb_us, _, _ in cpu_rows:
        f.write(f"| {P} | {rb_us:.2f} | {sb_us:.2f} | {sb_us / rb_us:.2f} |\n")
    f.write("\nServer CPU busy during the runs (its CPU time over the run's wall time, median round):\n"
            "near 100 % the server, not the generator, sets the throughput.\n\n"
            "| -P | with redis-benchmark | with shoal-benchmark |\n|---:|---:|---:|\n")
    for P, _, _, rb_busy, sb_busy in cpu_rows:
        f.write(f"| {P} | {rb_busy:.0%} | {sb_busy:.0%} |\n")
    f.write("\nEvery round (rps; 1-minute load average after the round):\n\n| test | -P | round | redis-benchmark | shoal-benchmark | ratio | load |\n|---|---:|---:|---:|---:|---:|---:|\n")
    for t, P, r, rbr, sbr, ratio, l in detail:
        f.write(f"| {t} | {P} | {r} | {rbr:,.0f} | {sbr:,.0f} | {ratio:.2f} | {l} |\n")
print(open(e["OUT"]).read())
PY
