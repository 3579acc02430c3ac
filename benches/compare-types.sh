#!/usr/bin/env bash
# redis-benchmark's full default test list against shoal-server and
# redis-server side by side, pinned: each server on CPU 0 (shoal with
# --threads 1, Redis's CPU budget), redis-benchmark on CPU 1 (taskset).
# Writes docs/benchmarks/types-redis-benchmark.md.
#
#   benches/compare-types.sh [--reps N] [--quick]
#
# Each repetition runs the whole list in one redis-benchmark invocation per
# server (as users run it: SADD fills the set SPOP pops from, LPUSH fills the
# list the LRANGE tests read), alternating which server goes first; every
# figure is the median over the repetitions. -c 50 -r 100000, at -P 1 and
# -P 16. Errors are counted from redis-benchmark's output: the list must run
# without any.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=3
N1=100000
N16=400000
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --quick) REPS=1; N1=20000; N16=100000; shift ;;
    *) echo "usage: $0 [--reps N] [--quick]" >&2; exit 2 ;;
  esac
done

TESTS="ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset"
OUT=docs/benchmarks/types-redis-benchmark.md
. benches/lib.sh
bench_setup types

SPORT=$(free_port); RPORT=$(free_port)
taskset -c 0 "$SHOAL" --port "$SPORT" --threads 1 --save "" --logfile "$WORK/shoal.log" &
taskset -c 0 redis-server --port "$RPORT" --save "" --appendonly no --logfile "$WORK/redis.log" &
wait_up "$SPORT"; wait_up "$RPORT"

RESULTS="$WORK/results.csv"
ERRORS="$WORK/errors.txt"
: > "$ERRORS"
echo "server,test,pipeline,rep,rps,avg,min,p50,p95,p99,max" > "$RESULTS"
run() { # $1 server $2 port $3 P $4 rep
  local n=$N1; [ "$3" -gt 1 ] && n=$N16
  redis-cli -p "$2" flushall >/dev/null
  taskset -c 1 redis-benchmark -p "$2" -t "$TESTS" -n "$n" -c 50 -P "$3" -r 100000 --csv \
    2> >(grep -i "error" >> "$ERRORS" || true) | grep -v '^"test"' | tr -d '"' |
    while IFS=, read -r name rest; do
      echo "$1,$name,$3,$4,$rest" >> "$RESULTS"
      echo "$1 $name P=$3 rep=$4: $rest" >&2
    done
}
for rep in $(seq "$REPS"); do
  for P in 1 16; do
    if [ $((rep % 2)) = 1 ]; then order="redis shoal"; else order="shoal redis"; fi
    for server in $order; do
      port=$RPORT; [ "$server" = shoal ] && port=$SPORT
      run "$server" "$port" "$P" "$rep"
    done
  done
done
redis-cli -p "$SPORT" shutdown nosave >/dev/null 2>&1 || true
redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true

python3 - "$RESULTS" "$OUT" "$REPS" "$ERRORS" "$N1" "$N16" <<'PY'
import csv, statistics, sys, platform, subprocess, datetime
rows = list(csv.DictReader(open(sys.argv[1])))
out, reps, errfile, n1, n16 = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
errors = [l.strip() for l in open(errfile) if l.strip()]
med = lambda xs: statistics.median(float(x) for x in xs)
groups, order = {}, []
for r in rows:
    k = (r["test"], int(r["pipeline"]))
    if k not in order: order.append(k)
    groups.setdefault(k + (r["server"],), []).append(r)
cpu = next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
redis_ver = subprocess.run(["redis-server","--version"],capture_output=True,text=True).stdout.split()[2]
lines = ["# redis-benchmark's default test list: shoal-server vs redis-server", "",
 f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `benches/compare-types.sh --reps {reps}`",
 f"on {platform.node()}: {cpu}, {subprocess.run(['nproc'],capture_output=True,text=True).stdout.strip()} CPUs, kernel {platform.release()}; redis-server {redis_ver}.",
 "Pinned: each server on CPU 0 (shoal `--threads 1`), redis-benchmark on CPU 1. The whole list runs in one",
 f"redis-benchmark invocation per server and repetition (`-c 50 -r 100000`, -n {n1} at P=1, {n16} at P=16);",
 "servers alternate which goes first; figures are medians over the repetitions; p50/p99 in ms.",
 f"Errors reported by redis-benchmark: **{len(errors)}**" + (": " + "; ".join(errors[:5]) if errors else "."), ""]
below = []
for P in (1, 16):
    lines += [f"## -P {P}", "", "| test | Redis rps | Shoal rps | Shoal/Redis | Redis p50 / p99 | Shoal p50 / p99 |", "|---|---:|---:|---:|---|---|"]
    for t, p in order:
        if p != P: continue
        r, s = groups.get((t, P, "redis")), groups.get((t, P, "shoal"))
        if not r or not s: continue
        rr, sr = med(x["rps"] for x in r), med(x["rps"] for x in s)
        ratio = sr / rr if rr else 0
        if ratio < 1.0: below.append(f"{t} P={P} {ratio:.2f}x")
        lines.append(f"| {t} | {rr:,.0f} | {sr:,.0f} | **{ratio:.2f}x** | {med(x['p50'] for x in r):.3f} / {med(x['p99'] for x in r):.3f} | {med(x['p50'] for x in s):.3f} / {med(x['p99'] for x in s):.3f} |")
    lines.append("")
lines += ["## Target (issue 3): ≥ 1.0× Redis on every test with --threads 1", "",
          ("Below 1.0×: " + ", ".join(below) + ".") if below else "Every test at or above 1.0×.", "",
          "Reproduce: `benches/compare-types.sh` (`--reps 5` for tighter medians, `--quick` for a smoke run)."]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
