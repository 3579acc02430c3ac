#!/usr/bin/env bash
# Side-by-side throughput and latency: redis-benchmark against shoal-server
# and redis-server in one run, writing docs/benchmarks/engine-redis-benchmark.md.
#
#   benches/compare.sh [--reps N] [--quick]
#
# Scenario "pinned": each server on CPU 0 (shoal with --threads 1, the same
# CPU budget as Redis), redis-benchmark on CPU 1 (taskset).
# Scenario "unpinned": shoal --threads 2 beside an unpinned redis-server,
# redis-benchmark unpinned too (all share the 2 CPUs).
# Tests: ping, set, get, incr, mset at -P 1 and -P 16, -c 50, -r 100000.
# Runs alternate between the servers test by test so background noise hits
# both alike; each figure is the median of --reps runs (default 3).
#
# Then shoal-benchmark (tools/) runs the pinned scenario again with both
# servers as targets of one run (tests interleaved): closed loop at -P 1 and
# -P 16 with HDR tails (p99.9, p99.99), and an open-loop sweep (latency from
# the scheduled send time at fixed offered rates). Its reports (md, json,
# html) go to docs/reports/shoal-vs-redis/; the summary joins the page.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=3
N1=200000
N16=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --quick) REPS=1; N1=50000; N16=200000; shift ;;
    *) echo "usage: $0 [--reps N] [--quick]" >&2; exit 2 ;;
  esac
done

TESTS="ping,set,get,incr,mset"
OUT=docs/benchmarks/engine-redis-benchmark.md
WORK=$(mktemp -d /tmp/shoal-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

cargo build --release -q -p shoal-engine
cargo build --release -q -p shoal-tools --bin shoal-benchmark
SHOAL=target/release/shoal-server
SB=target/release/shoal-benchmark
REPORTS=docs/reports/shoal-vs-redis
SB_N1=$((N1 * 2)); SB_N16=$((N16 * 3))
SWEEP=50000,100000,200000,300000,400000; SWEEP_SECS=5
[ "$REPS" = 1 ] && [ "$N1" = 50000 ] && SWEEP_SECS=2
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing (apt-get install redis-tools)"; exit 1; }

. benches/lib.sh

start_servers() { # $1: pinned|unpinned
  SPORT=$(free_port); RPORT=$(free_port)
  if [ "$1" = pinned ]; then
    taskset -c 0 "$SHOAL" --port "$SPORT" --threads 1 --save "" --logfile "$WORK/shoal.log" &
    taskset -c 0 redis-server --port "$RPORT" --save "" --appendonly no --logfile "$WORK/redis.log" &
  else
    "$SHOAL" --port "$SPORT" --threads 2 --save "" --logfile "$WORK/shoal.log" &
    redis-server --port "$RPORT" --save "" --appendonly no --logfile "$WORK/redis.log" &
  fi
  wait_up "$SPORT"; wait_up "$RPORT"
}

stop_servers() {
  redis-cli -p "$SPORT" shutdown nosave >/dev/null 2>&1 || true
  redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}

bench() { # $1 scenario, $2 port, $3 test, $4 pipeline -> csv line
  local n=$N1; [ "$4" -gt 1 ] && n=$N16
  local pin=""; [ "$1" = pinned ] && pin="taskset -c 1"
  redis-cli -p "$2" flushall >/dev/null
  $pin redis-benchmark -p "$2" -t "$3" -n "$n" -c 50 -P "$4" -r 100000 --csv 2>/dev/null | grep -v '^"test"'
}

RESULTS="$WORK/results.csv"
echo "scenario,server,test,pipeline,rep,rps,avg,min,p50,p95,p99,max" > "$RESULTS"
for scenario in pinned unpinned; do
  start_servers "$scenario"
  for rep in $(seq "$REPS"); do
    for P in 1 16; do
      for t in ${TESTS//,/ }; do
        for server in redis shoal; do
          port=$RPORT; [ "$server" = shoal ] && port=$SPORT
          bench "$scenario" "$port" "$t" "$P" | tr -d '"' | while IFS=, read -r name rest; do
            echo "$scenario,$server,$name,$P,$rep,$rest" >> "$RESULTS"
            echo "$scenario $server $name P=$P rep=$rep: $rest" >&2
          done
        done
      done
    done
  done
  stop_servers
done

# shoal-benchmark: both servers as targets of one run, pinned.
SBCSV="$WORK/sb.csv"
start_servers pinned
targets=(--target "shoal=127.0.0.1:$SPORT" --target "redis=127.0.0.1:$RPORT")
for rep in $(seq "$REPS"); do
  for P in 1 16; do
    n=$SB_N1; [ "$P" -gt 1 ] && n=$SB_N16
    echo "shoal-benchmark closed loop P=$P rep=$rep" >&2
    # The last repetition's report is the one kept.
    taskset -c 1 "$SB" "${targets[@]}" -t "$TESTS" -c 50 -n "$n" -P "$P" -r 100000 \
      --csv --report "$REPORTS/closed-p$P" | sed "s/^/closed,$P,/" >> "$SBCSV"
  done
done
echo "shoal-benchmark open-loop sweep $SWEEP" >&2
taskset -c 1 "$SB" "${targets[@]}" -t get,set -c 50 -r 100000 --sweep "$SWEEP" --duration "$SWEEP_SECS" \
  --csv --report "$REPORTS/sweep" | sed "s/^/open,1,/" >> "$SBCSV"
stop_servers

python3 - "$RESULTS" "$OUT" "$REPS" "$SBCSV" <<'PY'
import csv, statistics, sys, platform, subprocess, datetime
rows = list(csv.DictReader(open(sys.argv[1])))
out, reps = sys.argv[2], sys.argv[3]
def med(xs): return statistics.median(float(x) for x in xs)
groups = {}
for r in rows:
    groups.setdefault((r["scenario"], r["test"], int(r["pipeline"]), r["server"]), []).append(r)
cpu = next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
redis_ver = subprocess.run(["redis-server","--version"],capture_output=True,text=True).stdout.split()[2]
lines = [
 "# shoal-server vs redis-server: redis-benchmark side by side",
 "",
 f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `benches/compare.sh --reps {reps}`",
 f"on {platform.node()}: {cpu}, {subprocess.run(['nproc'],capture_output=True,text=True).stdout.strip()} CPUs, kernel {platform.release()}; redis-server {redis_ver}.",
 "Each figure is the median of the runs; p50/p99 in ms as redis-benchmark reports them (closed loop: with 50",
 "connections p50 is mostly queueing, Little's law). `-c 50 -r 100000`, -n 200000 at P=1 and 1000000 at P=16.",
 "",
]
titles = {"pinned": "Pinned: server on CPU 0 (shoal --threads 1), redis-benchmark on CPU 1",
          "unpinned": "Unpinned: shoal --threads 2 beside redis-server, redis-benchmark unpinned"}
summary = []
for scenario in ("pinned", "unpinned"):
    lines += [f"## {titles[scenario]}", "",
              "| test | P | Redis rps | Shoal rps | Shoal/Redis | Redis p50 / p99 | Shoal p50 / p99 |",
              "|---|---|---:|---:|---:|---|---|"]
    for P in (1, 16):
        for t in ("PING_INLINE","PING_MBULK","SET","GET","INCR","MSET (10 keys)"):
            r = groups.get((scenario, t, P, "redis")); s = groups.get((scenario, t, P, "shoal"))
            if not r or not s: continue
            rr, sr = med(x["rps"] for x in r), med(x["rps"] for x in s)
            ratio = sr / rr if rr else 0
            summary.append((scenario, t, P, ratio))
            lines.append(f"| {t} | {P} | {rr:,.0f} | {sr:,.0f} | **{ratio:.2f}x** | "
                         f"{med(x['p50'] for x in r):.3f} / {med(x['p99'] for x in r):.3f} | "
                         f"{med(x['p50'] for x in s):.3f} / {med(x['p99'] for x in s):.3f} |")
    lines.append("")
sb = [r for r in csv.reader(open(sys.argv[4])) if len(r) > 3 and r[2] != "test"]
def row(mode, P, test, target):
    for r in sb:
        if r[0] == mode and r[1] == P and r[2] == test and r[13] == target:
            yield r
def median_row(mode, P, test, target):
    # The repetition with the median throughput (its latencies go with it).
    rs = sorted(row(mode, P, test, target), key=lambda r: float(r[3]))
    return rs[len(rs) // 2] if rs else None
lines += ["## shoal-benchmark: both servers as targets of one run (pinned, tests interleaved)", "",
          f"Closed loop, `-c 50 -r 100000`, {reps} runs (the run with the median rps is shown); latencies in ms from shoal-benchmark's HDR histograms "
          "(each reply timed at the read that completed it). Full reports, with charts: "
          "[docs/reports/shoal-vs-redis/](../reports/shoal-vs-redis/).", "",
          "| test | P | Redis rps | Shoal rps | Shoal/Redis | Redis p50 / p99 / p99.9 | Shoal p50 / p99 / p99.9 |",
          "|---|---|---:|---:|---:|---|---|"]
for P in ("1", "16"):
    for t in ("PING_MBULK","PING_INLINE","SET","GET","INCR","MSET (10 keys)"):
        r = median_row("closed", P, t, "redis"); s = median_row("closed", P, t, "shoal")
        if not r or not s: continue
        ratio = float(s[3]) / float(r[3])
        lines.append(f"| {t} | {P} | {float(r[3]):,.0f} | {float(s[3]):,.0f} | **{ratio:.2f}x** | "
                     f"{r[6]} / {r[8]} / {r[10]} | {s[6]} / {s[8]} / {s[10]} |")
lines += ["", "Open loop (`--sweep`, 50 connections): requests leave on schedule whatever the replies; latency "
          "runs from the scheduled send time, so a stall counts for every request it delayed.", "",
          "| test | offered rps | Redis rps | Shoal rps | Redis p50 / p99 / p99.9 | Shoal p50 / p99 / p99.9 |",
          "|---|---:|---:|---:|---|---|"]
for t in ("GET", "SET"):
    for r in row("open", "1", t, "redis"):
        s = next((x for x in row("open", "1", t, "shoal") if x[14] == r[14]), None)
        if not s: continue
        lines.append(f"| {t} | {int(r[14]):,} | {float(r[3]):,.0f} | {float(s[3]):,.0f} | "
                     f"{r[6]} / {r[8]} / {r[10]} | {s[6]} / {s[8]} / {s[10]} |")
lines += ["", "Reproduce: `benches/compare.sh` (add `--reps 5` for tighter medians). Raw runs: rerun with the script; it prints every run to stderr.", ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
