#!/usr/bin/env bash
# Memory side by side: the same datasets loaded into shoal-server and
# redis-server, reporting INFO memory's used_memory and the process RSS.
# Writes docs/benchmarks/memory.md.
#
#   benches/memory.sh [--scale F]     (F < 1 shrinks every dataset, for a smoke run)
#
# Datasets (issue 3): 1M keys of 100-byte strings; 1M session hashes of 5
# fields with ~20-byte values, written as a session store does (HSET, then
# PEXPIRE); 100k sets of 10 small integers; 100k sorted sets of 20 members.
# Each dataset goes into fresh servers (shoal --threads 1 and --threads 2,
# redis-server with its defaults, persistence off) through redis-cli --pipe;
# figures are taken after a 2-second settle.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE="$2"; shift 2 ;;
    *) echo "usage: $0 [--scale F]" >&2; exit 2 ;;
  esac
done

OUT=docs/benchmarks/memory.md
. benches/lib.sh
bench_setup mem

# Generate each dataset once, as RESP, into $WORK/<name>.resp.
python3 - "$WORK" "$SCALE" <<'PY'
import sys, random
work, scale = sys.argv[1], float(sys.argv[2])
random.seed(7)
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
def write(name, gen):
    with open(f"{work}/{name}.resp", "wb") as f:
        for c in gen:
            f.write(c)
n = lambda x: max(1, int(x * scale))
val = lambda k: (b"v%d-" % k) + b"x" * 100
write("strings", (cmd(b"SET", b"key:%08d" % i, val(i)[:100]) for i in range(n(1_000_000))))
def sessions():
    for i in range(n(1_000_000)):
        k = b"session:%08d" % i
        yield cmd(b"HSET", k, b"user_id", b"%020d" % i, b"ip", b"192.168.%03d.%03d....." % (i % 256, (i // 256) % 256),
                  b"agent", b"Mozilla/5.0 (X11) ....", b"created", b"%020d" % (1700000000000 + i), b"csrf", b"%020x" % (i * 2654435761))
        yield cmd(b"PEXPIRE", k, 1800000)
write("sessions", sessions())
write("intsets", (cmd(b"SADD", b"set:%07d" % i, *[random.randint(0, 10000) for _ in range(10)]) for i in range(n(100_000))))
def zsets():
    for i in range(n(100_000)):
        args = []
        for j in range(20):
            args += [random.randint(0, 1000000) / 10, b"member:%04d" % j]
        yield cmd(b"ZADD", b"zset:%07d" % i, *args)
write("zsets", zsets())
PY

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
used() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

RESULTS="$WORK/results.csv"
echo "dataset,server,keys,used_memory,rss_bytes" > "$RESULTS"
for ds in strings sessions intsets zsets; do
  for server in redis shoal1 shoal2; do
    port=$(free_port)
    case $server in
      redis) redis-server --port "$port" --save "" --appendonly no --logfile "$WORK/r.log" & ;;
      shoal1) "$SHOAL" --port "$port" --threads 1 --save "" --logfile "$WORK/s.log" & ;;
      shoal2) "$SHOAL" --port "$port" --threads 2 --save "" --logfile "$WORK/s.log" & ;;
    esac
    pid=$!
    wait_up "$port"
    timeout 600 redis-cli -p "$port" --pipe < "$WORK/$ds.resp" > "$WORK/pipe.log"
    sleep 2
    keys=$(redis-cli -p "$port" dbsize)
    echo "$ds,$server,$keys,$(used "$port"),$(( $(rss_kb "$pid") * 1024 ))" >> "$RESULTS"
    echo "$ds $server: keys=$keys used=$(used "$port") rss_kb=$(rss_kb "$pid")" >&2
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
  done
done

python3 - "$RESULTS" "$OUT" "$SCALE" <<'PY'
import csv, sys, datetime, subprocess
rows = list(csv.DictReader(open(sys.argv[1])))
out, scale = sys.argv[2], sys.argv[3]
by = {(r["dataset"], r["server"]): r for r in rows}
names = {"strings": "1M keys of 100-byte strings", "sessions": "1M session hashes, 5 fields (~20-byte values) + PEXPIRE",
         "intsets": "100k sets of 10 small integers", "zsets": "100k sorted sets of 20 members"}
mb = lambda b: f"{int(b) / 1048576:,.1f} MB"
redis_ver = subprocess.run(["redis-server","--version"],capture_output=True,text=True).stdout.split()[2]
lines = ["# Memory: shoal-server vs redis-server", "",
 f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `benches/memory.sh`" + (f" --scale {scale}" if scale != "1" else "") + f"; redis-server {redis_ver} with its defaults.",
 "Each dataset is loaded into fresh servers through `redis-cli --pipe`; `used_memory` is INFO memory's",
 "(Shoal counts what its allocator holds for data, all shards together), RSS is the process's VmRSS",
 "after a 2-second settle. Target (issue 3): Shoal RSS ≤ 1.0× Redis's on each (project goal 0.8×).", "",
 "| dataset | keys | Redis used / RSS | Shoal --threads 1 used / RSS | RSS ratio | Shoal --threads 2 used / RSS | RSS ratio |",
 "|---|---:|---|---|---:|---|---:|"]
for ds in ("strings", "sessions", "intsets", "zsets"):
    r, s1, s2 = by.get((ds, "redis")), by.get((ds, "shoal1")), by.get((ds, "shoal2"))
    if not (r and s1 and s2): continue
    q1 = int(s1["rss_bytes"]) / int(r["rss_bytes"]); q2 = int(s2["rss_bytes"]) / int(r["rss_bytes"])
    lines.append(f"| {names[ds]} | {int(r['keys']):,} | {mb(r['used_memory'])} / {mb(r['rss_bytes'])} | "
                 f"{mb(s1['used_memory'])} / {mb(s1['rss_bytes'])} | **{q1:.2f}x** | {mb(s2['used_memory'])} / {mb(s2['rss_bytes'])} | **{q2:.2f}x** |")
lines += ["", "Reproduce: `benches/memory.sh` (about 3 minutes; `--scale 0.1` for a smoke run)."]
# Keep a hand-written analysis below the generated part, if there is one.
try:
    old = open(out).read()
    keep = old[old.index("\n## Where the bytes go"):]
except (OSError, ValueError):
    keep = ""
open(out, "w").write("\n".join(lines) + "\n" + keep)
print("\n".join(lines))
PY
