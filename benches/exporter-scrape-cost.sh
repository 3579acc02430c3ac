#!/usr/bin/env bash
# Cost of a shoal-exporter scrape, and what being scraped every second costs
# the server. Works against any Redis-protocol server (redis-server now,
# shoal-server later): give its address, or --start-redis for a throwaway one.
#
# usage: benches/exporter-scrape-cost.sh HOST:PORT [--keys N] [--clients N] [--scrapes N] [--requests N]
#        benches/exporter-scrape-cost.sh --start-redis [same options]
#
# Steps (each bounded by `timeout`):
#   1. load N keys (default 1,000,000): DEBUG POPULATE, else a pipelined SET load (redis-cli --pipe);
#   2. open C idle client connections (default 200) held for the whole run;
#   3. start shoal-exporter (release build) on the target; scrape /metrics S times
#      (default 50) back to back: wall time per scrape (curl), exporter CPU per
#      scrape (/proc/PID/stat), server CPU per scrape (INFO used_cpu_*), body size;
#   4. redis-benchmark (SET and GET, 50 clients, R requests each, default 300,000)
#      alternately without and with a scrape every second, twice each: ops/s and the change.
# Prints a Markdown report on stdout (docs/benchmarks/exporter.md holds the recorded one).
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=1000000 CLIENTS=200 SCRAPES=50 REQUESTS=300000 TARGET="" START_REDIS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --scrapes) SCRAPES=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --start-redis) START_REDIS=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) TARGET=$1; shift ;;
  esac
done
for t in redis-cli redis-benchmark curl; do command -v $t >/dev/null || { echo "need $t" >&2; exit 1; }; done

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/exporter-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { # a port nothing listens on, in 30000..39999
  for _ in $(seq 1 200); do
    local p=$((30000 + RANDOM % 10000))
    (echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
  echo "no free port" >&2; exit 1
}

if [ "$START_REDIS" = 1 ]; then
  PORT=$(free_port)
  redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    --enable-debug-command local --maxclients 10000 > "$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  TARGET=127.0.0.1:$PORT
  for _ in $(seq 1 300); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$PORT" ping >/dev/null 2>&1 || { echo "redis-server did not start:" >&2; cat "$WORK/redis.log" >&2; exit 1; }
fi
[ -n "$TARGET" ] || { echo "usage: $0 HOST:PORT | --start-redis" >&2; exit 2; }
HOST=${TARGET%:*} PORT=${TARGET##*:}
rc() { redis-cli -h "$HOST" -p "$PORT" "$@"; }
rc ping >/dev/null || { echo "cannot reach $TARGET" >&2; exit 1; }
info_field() { rc info "$1" | tr -d '\r' | awk -F: -v k="$2" '$1==k {print $2}'; }

# 1. Keys.
rc flushall >/dev/null
if ! timeout 120 redis-cli -h "$HOST" -p "$PORT" debug populate "$KEYS" key 10 2>/dev/null | grep -q OK; then
  awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\nvalue_%04d\r\n", length(k), k, i % 10000 } }' \
    | timeout 300 redis-cli -h "$HOST" -p "$PORT" --pipe > /dev/null
fi
NKEYS=$(rc dbsize)

# 2. Idle clients, held open by this shell.
for _ in $(seq 1 "$CLIENTS"); do
  exec {fd}<>"/dev/tcp/$HOST/$PORT"
  printf '*1\r\n$4\r\nPING\r\n' >&$fd
done
sleep 0.5
NCLIENTS=$(info_field clients connected_clients)

# 3. Scrape cost.
EXPORTER=${SHOAL_EXPORTER_BIN:-${CARGO_TARGET_DIR:-target}/release/shoal-exporter}
if [ ! -x "$EXPORTER" ]; then cargo build -q --release -p shoal-exporter; fi
EPORT=$(free_port)
"$EXPORTER" --redis.addr "$TARGET" --web.listen-address "127.0.0.1:$EPORT" --connection-timeout 10s > "$WORK/exporter.log" 2>&1 &
EPID=$!
PIDS+=($EPID)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$EPORT/health" >/dev/null && break; sleep 0.1; done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
server_cpu() { rc info cpu | tr -d '\r' | awk -F: '$1=="used_cpu_sys" || $1=="used_cpu_user" {s += $2} END {printf "%.6f", s}'; }
TICK=$(getconf CLK_TCK)
curl -s "http://127.0.0.1:$EPORT/metrics" -o "$WORK/body.txt"  # warm-up
grep -q '^redis_up 1' "$WORK/body.txt" || { echo "exporter cannot scrape $TARGET" >&2; cat "$WORK/exporter.log" >&2; exit 1; }
E0=$(cpu_ticks $EPID) S0=$(server_cpu)
: > "$WORK/times"
for _ in $(seq 1 "$SCRAPES"); do
  curl -s -o /dev/null -w '%{time_total}\n' --max-time 30 "http://127.0.0.1:$EPORT/metrics" >> "$WORK/times"
done
E1=$(cpu_ticks $EPID) S1=$(server_cpu)
BYTES=$(wc -c < "$WORK/body.txt")
SERIES=$(grep -vc '^#' "$WORK/body.txt")
read -r MEAN P50 P95 MAX < <(sort -n "$WORK/times" | awk '{a[NR]=$1*1000; s+=$1*1000} END {printf "%.2f %.2f %.2f %.2f\n", s/NR, a[int((NR+1)/2)], a[int(NR*0.95+0.5)], a[NR]}')
ECPU=$(awk -v a="$E0" -v b="$E1" -v t="$TICK" -v n="$SCRAPES" 'BEGIN {printf "%.2f", (b-a)/t*1000/n}')
SCPU=$(awk -v a="$S0" -v b="$S1" -v n="$SCRAPES" 'BEGIN {printf "%.2f", (b-a)*1000/n}')

# 4. Throughput with and without a scrape every second.
bench() { # prints "set get" ops/s
  timeout 300 redis-benchmark -h "$HOST" -p "$PORT" -t set,get -n "$REQUESTS" -c 50 -r 1000000 -q 2>/dev/null \
    | tr '\r' '\n' | awk '/^SET:/ {s=$2} /^GET:/ {g=$2} END {print s, g}'
}
scraper() { while :; do curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$EPORT/metrics"; sleep 1; done; }
declare -a BASE_SET BASE_GET SCR_SET SCR_GET
for round in 1 2; do
  read -r s g < <(bench); BASE_SET+=("$s"); BASE_GET+=("$g")
  scraper & SP=$!
  read -r s g < <(bench); SCR_SET+=("$s"); SCR_GET+=("$g")
  kill $SP 2>/dev/null; wait $SP 2>/dev/null || true
done
avg() { printf '%s\n' "$@" | awk '{s+=$1} END {printf "%.0f", s/NR}'; }
BS=$(avg "${BASE_SET[@]}") BG=$(avg "${BASE_GET[@]}") SS=$(avg "${SCR_SET[@]}") SG=$(avg "${SCR_GET[@]}")
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (b-a)/a*100}'; }

VERSION=$(rc info server | tr -d '\r' | awk -F: '$1=="redis_version" {print $2}')
MODE=$(rc info server | tr -d '\r' | awk -F: '$1=="executable" {print $2}')
cat <<REPORT
### shoal-exporter scrape cost — $(date -u +%Y-%m-%dT%H:%MZ)

Target \`$TARGET\` (redis_version $VERSION, ${MODE##*/}), $NKEYS keys, $NCLIENTS connected clients
(incl. $CLIENTS idle ones). Machine: $(nproc) CPUs; load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end
(other builds and benchmarks share this machine: compare the rounds below before trusting the throughput change).
Command: \`benches/exporter-scrape-cost.sh $([ "$START_REDIS" = 1 ] && echo --start-redis || echo "$TARGET") --keys $KEYS --clients $CLIENTS --scrapes $SCRAPES --requests $REQUESTS\`

| scrape of /metrics ($SCRAPES back to back) | value |
|---|---|
| wall time mean / p50 / p95 / max | $MEAN / $P50 / $P95 / $MAX ms |
| exporter CPU per scrape | $ECPU ms |
| server CPU per scrape (INFO used_cpu_sys+user) | $SCPU ms |
| exposition size | $BYTES bytes, $SERIES samples |

| redis-benchmark -c 50 -n $REQUESTS (2 rounds each, mean) | not scraped | scraped every 1 s | change |
|---|---|---|---|
| SET ops/s | $BS | $SS | $(pct "$BS" "$SS") |
| GET ops/s | $BG | $SG | $(pct "$BG" "$SG") |

Rounds (not scraped / scraped): SET ${BASE_SET[*]} / ${SCR_SET[*]}; GET ${BASE_GET[*]} / ${SCR_GET[*]}.
REPORT
