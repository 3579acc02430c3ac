"""Fixtures: a real shoal-server (2 shards) and a real redis-server on free
loopback ports, started per test module and stopped afterwards."""

import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    for _ in range(1000):
        port = random.randint(30000, 39999)
        ok = True
        for p in (port, port + 10000):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no free port")


def _wait(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} not ready: {log.read_text()}")


class Server:
    def __init__(self, argv, port):
        self.port = port
        self.dir = tempfile.TemporaryDirectory(prefix="pytest-server-")
        self.log = Path(self.dir.name) / "server.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                argv + ["--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir.name],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait(port, self.proc, self.log)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.dir.cleanup()


def shoal_bin() -> str:
    env = os.environ.get("SHOAL_SERVER_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "shoal-server"
        if p.exists():
            return str(p)
    raise RuntimeError("shoal-server not built: run cargo build first")


@pytest.fixture(scope="module")
def shoal():
    s = Server([shoal_bin(), "--threads", "2"], _free_port())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def redis_server():
    s = Server(["redis-server", "--save", "", "--appendonly", "no"], _free_port())
    yield s
    s.stop()
