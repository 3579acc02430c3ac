#!/usr/bin/env bash
# Issue 4's figures (scripting, transactions, Pub/Sub): shoal-benchmark's
# presets against shoal-server and redis-server side by side, pinned: each
# server on CPU 0, shoal-benchmark on CPU 1 (taskset).
# Writes docs/benchmarks/issue4.md.
#
#   benches/compare-issue4.sh [--reps N] [--quick] [--requests N] [--threads2-cpus LIST]
#
# Closed loop, -c 50 -P 1, -n 100000 (-r 100000 for keyed presets); one
# shoal-benchmark run per server, test and repetition, alternating which
# server goes first; every figure is the median over the repetitions.
#   shoal --threads 1:  ratelimit by EVALSHA, PUBLISH to 10 subscribers,
#                       MULTI/3 SET/EXEC on one shard
#   shoal --threads 2:  MULTI/3 SET/EXEC on one shard (the baseline for the
#                       next line) and across shards, EVALSHA (a script holds
#                       every shard: the cost of that); both shards on CPU 0,
#                       Redis's CPU budget (--threads2-cpus 0,1 gives them a
#                       CPU each, the second shared with shoal-benchmark)
# redis-server runs with its defaults, persistence off.
# A test a server answers only with errors, or that shoal-benchmark cannot
# start on it (SCRIPT LOAD before EVALSHA), is recorded as "not supported yet"
# and the script goes on. A server that dies stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=3
N=100000
T2_CPUS=0
INVOCATION="benches/compare-issue4.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2 ;;
    --quick) REPS=1; N=20000; shift ;;
    --requests) N="$2"; shift 2 ;;
    --threads2-cpus) T2_CPUS="$2"; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--quick] [--requests N] [--threads2-cpus LIST]" >&2; exit 2 ;;
  esac
done

OUT=docs/benchmarks/issue4.md
. benches/lib.sh
bench_setup issue4 tools

# Test id -> shoal-server --threads, and shoal-benchmark's flags (besides -p -c -P -n).
declare -A THREADS FLAGS
TESTS_T1="ratelimit-evalsha publish tx-one-shard"
TESTS_T2="tx-one-shard-t2 tx-cross-shard-t2 ratelimit-evalsha-t2"
THREADS[ratelimit-evalsha]=1; FLAGS[ratelimit-evalsha]="--preset ratelimit --ratelimit-mode script -r 100000"
THREADS[publish]=1;           FLAGS[publish]="--preset publish --subscribers 10"
THREADS[tx-one-shard]=1;      FLAGS[tx-one-shard]="--preset tx --tx-keys one-shard -r 100000"
THREADS[tx-one-shard-t2]=2;   FLAGS[tx-one-shard-t2]="--preset tx --tx-keys one-shard -r 100000"
THREADS[tx-cross-shard-t2]=2; FLAGS[tx-cross-shard-t2]="--preset tx --tx-keys cross-shard -r 100000"
THREADS[ratelimit-evalsha-t2]=2; FLAGS[ratelimit-evalsha-t2]="--preset ratelimit --ratelimit-mode script -r 100000"
COMMON="-c 50 -P 1 -n $N"


start_shoal() { # $1 threads
  local cpus=0; [ "$1" -gt 1 ] && cpus=$T2_CPUS
  SPORT=$(free_port)
  taskset -c "$cpus" "$SHOAL" --port "$SPORT" --threads "$1" --save "" --logfile "$WORK/shoal-t$1.log" &
  SPID=$!
  wait_up "$SPORT"
}
stop_shoal() {
  redis-cli -p "$SPORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$SPID" 2>/dev/null || true
}

RPORT=$(free_port)
taskset -c 0 redis-server --port "$RPORT" --save "" --appendonly no --logfile "$WORK/redis.log" &
wait_up "$RPORT"

RUNS="$WORK/runs.csv"
echo "test,server,rep,status,dir" > "$RUNS"
run() { # $1 server (redis|shoal) $2 port $3 test id $4 rep
  local dir="$WORK/r/$3-$1-$4" status=ok
  mkdir -p "$WORK/r"
  redis-cli -p "$2" flushall >/dev/null
  # shellcheck disable=SC2086 # FLAGS and COMMON are word lists
  if ! taskset -c 1 "$SB" -p "$2" ${FLAGS[$3]} $COMMON -q --report "$dir" > "$dir.out" 2> "$dir.err"; then
    status=failed
  fi
  echo "$3,$1,$4,$status,$dir" >> "$RUNS"
  echo "$1 $3 rep=$4: $([ $status = ok ] && cat "$dir.out" || tail -n 1 "$dir.err")" >&2
  grep -h WARNING "$dir.err" >&2 || true
  # A test may fail; a server may not die.
  if ! redis-cli -p "$2" ping >/dev/null 2>&1; then
    echo "the $1 server on port $2 stopped answering after $3; its log:" >&2
    tail -n 20 "$WORK/$([ "$1" = shoal ] && echo "shoal-t${THREADS[$3]}" || echo redis).log" >&2
    exit 1
  fi
}
phase() { # $1 shoal threads, $2 tests
  start_shoal "$1"
  local i=0
  for rep in $(seq "$REPS"); do
    for t in $2; do
      i=$((i + 1))
      if [ $((i % 2)) = 1 ]; then order="redis shoal"; else order="shoal redis"; fi
      for server in $order; do
        port=$RPORT; [ "$server" = shoal ] && port=$SPORT
        run "$server" "$port" "$t" "$rep"
      done
    done
  done
  stop_shoal
}
phase 1 "$TESTS_T1"
phase 2 "$TESTS_T2"
redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true

CMDS="$WORK/commands.txt"
for t in $TESTS_T1 $TESTS_T2; do echo "$t|${THREADS[$t]}|${FLAGS[$t]} $COMMON"; done > "$CMDS"

python3 - "$RUNS" "$OUT" "$INVOCATION" "$N" "$CMDS" "$T2_CPUS" <<'PY'
import csv, json, os, statistics, sys, platform, subprocess, datetime
runs, out, invocation, n, cmds, t2_cpus = sys.argv[1:7]
commands = {}
for line in open(cmds):
    t, threads, flags = line.rstrip("\n").split("|", 2)
    commands[t] = (int(threads), flags)
titles = {
    "ratelimit-evalsha": "ratelimit, EVALSHA",
    "publish": "PUBLISH, 10 subscribers",
    "tx-one-shard": "MULTI/3 SET/EXEC, one shard",
    "tx-one-shard-t2": "MULTI/3 SET/EXEC, one shard (Shoal --threads 2)",
    "tx-cross-shard-t2": "MULTI/3 SET/EXEC, cross-shard (Shoal --threads 2)",
    "ratelimit-evalsha-t2": "ratelimit, EVALSHA (Shoal --threads 2: the script runs on its key's shard)",
}
# Shoal-benchmark failures that mean a broken run, not a missing feature.
BROKEN = ("Could not connect", "closed the connection", "no reply for", "panicked")

def load(row):
    """One run: its report's figures, or why there are none."""
    err = open(row["dir"] + ".err").read().strip() if os.path.exists(row["dir"] + ".err") else ""
    if row["status"] != "ok":
        last = err.splitlines()[-1] if err else "no output"
        kind = "failed" if any(b in last for b in BROKEN) else "unsupported"
        return {"kind": kind, "why": last.removeprefix("shoal-benchmark: ")}
    r = json.load(open(os.path.join(row["dir"], "report.json")))["runs"][0]
    if r["requests"] > 0 and r["errors"] >= r["requests"]:
        return {"kind": "unsupported", "why": "every request failed, e.g. " + (r["error_samples"] or ["?"])[0]}
    lat = r["latency"]
    return {"kind": "ok", "rps": r["rps"], "p50": lat["p50_ms"], "p99": lat["p99_ms"],
            "p999": lat["p99_9_ms"], "errors": r["errors"], "requests": r["requests"],
            "samples": r["error_samples"], "delivery": r.get("delivery")}

groups = {}
for row in csv.DictReader(open(runs)):
    groups.setdefault((row["test"], row["server"]), []).append(load(row))

def summary(rs):
    ok = [r for r in rs if r["kind"] == "ok"]
    if not ok:
        bad = rs[0] if rs else {"kind": "failed", "why": "not run"}
        return {"kind": bad["kind"], "why": bad["why"]}
    med = lambda k: statistics.median(r[k] for r in ok)
    return {"kind": "ok", "rps": med("rps"), "p50": med("p50"), "p99": med("p99"), "p999": med("p999"),
            "errors": sum(r["errors"] for r in ok), "requests": sum(r["requests"] for r in ok),
            "samples": [s for r in ok for s in r["samples"]],
            "delivery": [r["delivery"] for r in ok if r["delivery"]], "runs": len(ok), "of": len(rs)}

cpu = next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
redis_ver = subprocess.run(["redis-server","--version"],capture_output=True,text=True).stdout.split()[2]
commit = subprocess.run(["git","describe","--always","--dirty"],capture_output=True,text=True).stdout.strip() or "?"
lines = ["# Issue 4: scripting, transactions and Pub/Sub, shoal-server vs redis-server", "",
 f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `{invocation}`",
 f"on {platform.node()}: {cpu}, {subprocess.run(['nproc'],capture_output=True,text=True).stdout.strip()} CPUs, kernel {platform.release()}; redis-server {redis_ver}; Shoal at {commit}.",
 "Pinned: each server on CPU 0 (shoal `--threads 1`; " + ("`--threads 2` with both shards on CPU 0, Redis's CPU budget),"
  if t2_cpus == "0" else f"`--threads 2` on CPUs {t2_cpus}),"),
 f"shoal-benchmark on CPU 1. Closed loop, `-c 50 -P 1 -n {n}`; one run per server, test and repetition, servers",
 "alternating which goes first; figures are medians over the repetitions; latencies in ms from shoal-benchmark's",
 "HDR histograms (a transaction is timed from its write to EXEC's reply). redis-server: defaults, persistence off.", "",
 "| test | Redis rps | Shoal rps | Shoal/Redis | Redis p50 / p99 / p99.9 | Shoal p50 / p99 / p99.9 |",
 "|---|---:|---:|---:|---|---|"]
notes = []
lat = lambda s: f"{s['p50']:.3f} / {s['p99']:.3f} / {s['p999']:.3f}"
for t in commands:
    r, s = summary(groups.get((t, "redis"), [])), summary(groups.get((t, "shoal"), []))
    cells = []
    for name, x in (("Redis", r), ("Shoal", s)):
        if x["kind"] == "unsupported":
            notes.append(f"{titles[t]}: {name} not supported yet ({x['why']}).")
        elif x["kind"] == "failed":
            notes.append(f"{titles[t]}: {name} run failed ({x['why']}).")
        else:
            if x["errors"]:
                notes.append(f"{titles[t]}: {name} {x['errors']} of {x['requests']} requests got an error, e.g. `{x['samples'][0]}`.")
            if x["runs"] < x["of"]:
                notes.append(f"{titles[t]}: {name} {x['of'] - x['runs']} of {x['of']} runs failed; medians of the others.")
            for d in x["delivery"]:
                short = sum(max(d["expected"] - v, 0) for v in d["received"])
                if short or d["failure"]:
                    notes.append(f"{titles[t]}: {name} subscribers missed {short} of {d['expected'] * len(d['received'])} messages"
                                 + (f" ({d['failure']})" if d["failure"] else "") + ".")
    rate = lambda x: f"{x['rps']:,.0f}" if x["kind"] == "ok" else ("not supported yet" if x["kind"] == "unsupported" else "failed")
    lats = lambda x: lat(x) if x["kind"] == "ok" else "—"
    ratio = f"**{s['rps'] / r['rps']:.2f}x**" if r["kind"] == s["kind"] == "ok" and r["rps"] else "—"
    lines.append(f"| {titles[t]} | {rate(r)} | {rate(s)} | {ratio} | {lats(r)} | {lats(s)} |")
    if t == "publish":
        for name, x in (("Redis", r), ("Shoal", s)):
            ds = x.get("delivery") or []
            if ds and all(not d["failure"] and all(v >= d["expected"] for v in d["received"]) for d in ds):
                notes.append(f"{titles[t]}: {name}: each subscriber received every message published, in every run.")
lines += [""] + [f"- {x}" for x in notes] + ([""] if notes else [])
lines += ["## Commands", "",
          "Servers: `taskset -c 0 redis-server --save \"\" --appendonly no`, `taskset -c 0 shoal-server --threads 1 --save \"\"`,",
          f"`taskset -c {t2_cpus} shoal-server --threads 2 --save \"\"`;",
          "load: `taskset -c 1 shoal-benchmark -p PORT ...` with", "",
          "| test | Shoal --threads | shoal-benchmark flags |", "|---|---:|---|"]
for t, (threads, flags) in commands.items():
    lines.append(f"| {titles[t]} | {threads} | `{flags}` |")
lines += ["", "Reproduce: `benches/compare-issue4.sh` (`--reps 5` for tighter medians, `--quick` for a smoke run)."]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
