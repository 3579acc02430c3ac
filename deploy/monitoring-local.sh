#!/usr/bin/env bash
# Starts the monitoring stack of docker-compose.monitoring.yml as local
# processes, for development without Docker:
#   a primary and a replica (shoal-server, or redis-server with --redis),
#   optionally a redis-sentinel (--sentinel), one shoal-exporter in
#   multi-target mode, and Prometheus with deploy/prometheus's rules.
# Grafana is not packaged for Debian: point any Grafana at the printed
# Prometheus URL and import deploy/grafana/dashboards/shoal-overview.json
# (or use deploy/grafana/provisioning).
#
# usage: deploy/monitoring-local.sh start [--redis] [--sentinel] | stop | status
# env:   SHOAL_MON_DIR (run dir, default /tmp/shoal-monitoring)
#        PRIMARY_PORT=26379 REPLICA_PORT=26380 SENTINEL_PORT=26381
#        EXPORTER_PORT=29121 PROMETHEUS_PORT=29090
#        SHOAL_SERVER_BIN, SHOAL_EXPORTER_BIN (default: target/{release,debug}/...)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=${SHOAL_MON_DIR:-/tmp/shoal-monitoring}
PRIMARY_PORT=${PRIMARY_PORT:-26379}
REPLICA_PORT=${REPLICA_PORT:-26380}
SENTINEL_PORT=${SENTINEL_PORT:-26381}
EXPORTER_PORT=${EXPORTER_PORT:-29121}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-29090}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

die() { echo "monitoring-local: $*" >&2; exit 1; }

find_bin() { # name, override
  if [ -n "${2:-}" ]; then echo "$2"; return; fi
  for p in "$TARGET_DIR/release/$1" "$TARGET_DIR/debug/$1"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  echo ""
}

wait_tcp() { # port, what
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  stop > /dev/null
  die "$2 did not open port $1 within 10 s (logs in $RUN/*.log)"
}

start_bg() { # name, command...
  local name=$1; shift
  "$@" > "$RUN/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}

stop() {
  [ -d "$RUN" ] || { echo "nothing running in $RUN"; return 0; }
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  echo "stopped ($RUN)"
}

status() {
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || { echo "nothing running in $RUN"; return 0; }
    name=$(basename "$f" .pid)
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$name: running"; else echo "$name: dead"; fi
  done
}

start() {
  local use_redis=0 sentinel=0
  for a in "$@"; do
    case "$a" in
      --redis) use_redis=1 ;;
      --sentinel) sentinel=1 ;;
      *) die "unknown option $a" ;;
    esac
  done
  command -v prometheus >/dev/null || die "prometheus not found (apt-get install prometheus)"
  local exporter server
  exporter=$(find_bin shoal-exporter "${SHOAL_EXPORTER_BIN:-}")
  if [ -z "$exporter" ]; then
    echo "building shoal-exporter..."
    cargo build -q -p shoal-exporter
    exporter=$(find_bin shoal-exporter "")
  fi
  [ -x "$exporter" ] || die "shoal-exporter binary not found"
  server=$(find_bin shoal-server "${SHOAL_SERVER_BIN:-}")
  if [ "$use_redis" = 1 ] || [ -z "$server" ]; then
    [ "$use_redis" = 1 ] || echo "shoal-server not built: using redis-server"
    server=$(command -v redis-server) || die "redis-server not found"
  fi
  [ -e "$RUN/exporter.pid" ] && die "already started in $RUN (stop first)"
  mkdir -p "$RUN/primary" "$RUN/replica" "$RUN/prometheus/rules" "$RUN/prometheus/targets" "$RUN/tsdb"

  start_bg primary "$server" --port "$PRIMARY_PORT" --bind 127.0.0.1 --dir "$RUN/primary" --save "" --maxmemory 256mb --maxmemory-policy allkeys-lru
  wait_tcp "$PRIMARY_PORT" primary
  start_bg replica "$server" --port "$REPLICA_PORT" --bind 127.0.0.1 --dir "$RUN/replica" --save "" --replicaof 127.0.0.1 "$PRIMARY_PORT"
  wait_tcp "$REPLICA_PORT" replica
  if [ "$sentinel" = 1 ]; then
    command -v redis-sentinel >/dev/null || die "redis-sentinel not found (apt-get install redis-sentinel)"
    mkdir -p "$RUN/sentinel"
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor shoal 127.0.0.1 %s 1\nsentinel down-after-milliseconds shoal 5000\n' \
      "$SENTINEL_PORT" "$RUN/sentinel" "$PRIMARY_PORT" > "$RUN/sentinel/sentinel.conf"
    start_bg sentinel redis-sentinel "$RUN/sentinel/sentinel.conf"
    wait_tcp "$SENTINEL_PORT" sentinel
  fi
  start_bg exporter "$exporter" --redis.addr "" --web.listen-address "127.0.0.1:$EXPORTER_PORT" --connection-timeout 4s
  wait_tcp "$EXPORTER_PORT" shoal-exporter

  # The compose config, with local addresses instead of service names.
  cp "$ROOT"/deploy/prometheus/rules/*.yml "$RUN/prometheus/rules/"
  sed -e "s/shoal-exporter:9121/127.0.0.1:$EXPORTER_PORT/g" -e 's/scrape_interval: 15s/scrape_interval: 5s/' \
    -e 's/scrape_timeout: 10s/scrape_timeout: 5s/' -e 's/connection-timeout 5s/connection-timeout 4s/' \
    "$ROOT/deploy/prometheus/prometheus.yml" > "$RUN/prometheus/prometheus.yml"
  {
    echo "- targets: [\"redis://127.0.0.1:$PRIMARY_PORT\"]"
    echo "  labels: {role: primary}"
    echo "- targets: [\"redis://127.0.0.1:$REPLICA_PORT\"]"
    echo "  labels: {role: replica}"
    if [ "$sentinel" = 1 ]; then
      echo "- targets: [\"redis://127.0.0.1:$SENTINEL_PORT\"]"
      echo "  labels: {role: sentinel}"
    fi
  } > "$RUN/prometheus/targets/local.yml"
  start_bg prometheus prometheus --config.file="$RUN/prometheus/prometheus.yml" \
    --storage.tsdb.path="$RUN/tsdb" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  wait_tcp "$PROMETHEUS_PORT" prometheus

  echo "monitoring stack up (run dir $RUN)"
  echo "  primary     127.0.0.1:$PRIMARY_PORT ($server)"
  echo "  replica     127.0.0.1:$REPLICA_PORT"
  [ "$sentinel" = 1 ] && echo "  sentinel    127.0.0.1:$SENTINEL_PORT"
  echo "  exporter    http://127.0.0.1:$EXPORTER_PORT/scrape?target=127.0.0.1:$PRIMARY_PORT"
  echo "  prometheus  http://127.0.0.1:$PROMETHEUS_PORT (alerts: /alerts)"
  echo "  grafana     not packaged here: add http://127.0.0.1:$PROMETHEUS_PORT as datasource uid shoal-prometheus"
  echo "              and import deploy/grafana/dashboards/shoal-overview.json"
  echo "stop with: $0 stop"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [--redis] [--sentinel] | stop | status" >&2; exit 2 ;;
esac
