# Shared helpers of the side-by-side benchmark scripts (sourced after they
# cd to the repository root).

# A free loopback port in 20000..29999: outside the ephemeral range, so
# client sockets cannot hold it, and away from 6379/16379.
free_port() {
  python3 -c 'import socket,random
for _ in range(1000):
    p=random.randint(20000,29999)
    s=socket.socket()
    try:
        s.bind(("127.0.0.1",p)); print(p); break
    except OSError: pass'; }

# Wait (up to 60 s) until the server on port $1 answers PING with PONG (not
# -LOADING while it loads its data); exit otherwise.
wait_up() { for _ in $(seq 1200); do [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

# The common start of a side-by-side script: a scratch directory $WORK
# (removed, with any server still running, on exit), release builds of
# shoal-server ($SHOAL) and, with "tools", shoal-benchmark ($SB), and the
# Redis binaries the runs need.
bench_setup() { # $1 scratch-directory tag, $2 "tools" to build shoal-benchmark too
  WORK=$(mktemp -d "/tmp/shoal-$1.XXXXXX")
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
  cargo build --release -q -p shoal-engine
  SHOAL=target/release/shoal-server
  if [ "${2:-}" = tools ]; then
    cargo build --release -q -p shoal-tools --bin shoal-benchmark
    SB=target/release/shoal-benchmark
  fi
  command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)"; exit 1; }
  command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing (apt-get install redis-tools)"; exit 1; }
}

# The per-run lines of file $1 as a fenced block, under the heading $2.
runs_block() {
  echo "$2"
  echo
  echo '```'
  cat "$1"
  echo '```'
}
