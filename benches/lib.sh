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
