"""redis-py 8 (RESP3 by default, no fallback to RESP2) against shoal-server,
compared with redis-server where replies are deterministic."""

import time

import redis


def test_resp3_is_the_default_and_works(shoal):
    r = redis.Redis(port=shoal.port)
    assert r.ping() is True
    conn = r.connection_pool.get_connection()
    try:
        assert str(conn.protocol) == "3"
    finally:
        r.connection_pool.release(conn)
    assert r.set("greeting", "hello")
    assert r.get("greeting") == b"hello"
    info = r.client_info()
    assert info["resp"] == "3"
    assert info["lib-name"] == "redis-py"


def test_common_commands_match_redis(shoal, redis_server):
    results = []
    for port in (shoal.port, redis_server.port):
        r = redis.Redis(port=port, decode_responses=True)
        r.flushall()
        out = []
        out.append(r.set("a", 1, ex=100))
        out.append(r.get("a"))
        out.append(r.incrby("a", 5))
        out.append(r.incrbyfloat("f", 10.5))
        out.append(r.mset({"x": 1, "y": 2, "z": 3}))
        out.append(r.mget("x", "y", "z", "missing"))
        out.append(r.msetnx({"x": 9, "new": 1}))
        out.append(r.exists("x", "y", "missing"))
        out.append(r.delete("y", "missing"))
        out.append(r.getrange("greeting_missing", 0, 10))
        out.append(r.append("s", "abc"))
        out.append(r.strlen("s"))
        out.append(r.setrange("s", 1, "ZZ"))
        out.append(r.get("s"))
        out.append(r.getdel("s"))
        out.append(r.type("x"))
        out.append(r.rename("x", "x2"))
        out.append(r.renamenx("x2", "z"))
        out.append(r.copy("z", "zc"))
        out.append(r.persist("a"))
        out.append(r.ttl("a"))
        out.append(r.object("encoding", "a"))
        out.append(sorted(r.keys("*")))
        out.append(sorted(r.scan_iter(match="x*")))
        out.append(r.dbsize())
        out.append(r.lcs("zc", "z"))
        results.append(out)
    assert results[0] == results[1]


def test_pipeline_and_errors(shoal):
    r = redis.Redis(port=shoal.port, decode_responses=True)
    r.flushall()
    with r.pipeline(transaction=False) as p:
        for i in range(100):
            p.set(f"k{i}", i)
            p.get(f"k{i}")
        res = p.execute()
    assert res[1::2] == [str(i) for i in range(100)]
    r.set("str", "abc")
    try:
        r.incr("str")
        raise AssertionError("INCR on a string must fail")
    except redis.ResponseError as e:
        assert "not an integer" in str(e)


def test_info_config_and_client_list_parse(shoal):
    r = redis.Redis(port=shoal.port)
    info = r.info()
    assert info["redis_version"]
    assert info["role"] == "master"
    assert "used_memory" in info and "connected_clients" in info
    all_info = r.info("all")
    assert any(k.startswith("cmdstat_") for k in all_info)
    assert r.config_get("maxclients")["maxclients"] == "10000"
    assert r.config_set("timeout", 0)
    assert r.config_get("save") == {"save": "3600 1 300 100 60 10000"}
    clients = r.client_list()
    assert clients and "addr" in clients[0]
    assert r.client_setname("py")
    assert r.client_getname() in ("py", b"py")


def test_resp2_mode(shoal):
    r = redis.Redis(port=shoal.port, protocol=2, decode_responses=True)
    assert r.set("two", "2")
    assert r.get("two") == "2"
    assert r.client_info()["resp"] == "2"


def test_password_via_hello_auth():
    from conftest import Server, _free_port, shoal_bin

    s = Server([shoal_bin(), "--threads", "2", "--requirepass", "pw"], _free_port())
    try:
        r = redis.Redis(port=s.port, password="pw")
        assert r.ping()
        try:
            redis.Redis(port=s.port, password="bad").ping()
            raise AssertionError("wrong password accepted")
        except redis.AuthenticationError:
            pass
        try:
            redis.Redis(port=s.port).get("x")
            raise AssertionError("unauthenticated access allowed")
        except redis.AuthenticationError:
            pass
    finally:
        s.stop()


def test_data_types_in_resp3_match_redis(shoal, redis_server):
    """The shapes redis-py 8 parses from RESP3 (maps, sets, doubles, nested
    pairs) for the session-store, leaderboard and queue patterns."""
    results = []
    for port in (shoal.port, redis_server.port):
        r = redis.Redis(port=port, decode_responses=True)
        r.flushall()
        out = []
        # Session store: HSET a mapping, PEXPIRE, read it back.
        out.append(r.hset("session:1", mapping={"user": "42", "ip": "10.0.0.1", "n": "0"}))
        out.append(r.pexpire("session:1", 1800000))
        out.append(r.hgetall("session:1"))
        out.append(r.hincrby("session:1", "n", 3))
        out.append(r.hmget("session:1", ["user", "missing"]))
        out.append(r.object("encoding", "session:1"))
        # Leaderboard: scores come back as floats.
        out.append(r.zadd("board", {"ann": 10, "bob": 7.5, "cid": 12}))
        out.append(r.zrange("board", 0, -1, withscores=True))
        out.append(r.zrevrank("board", "ann"))
        out.append(r.zscore("board", "bob"))
        out.append(r.zincrby("board", 2.5, "bob"))
        out.append(r.zpopmin("board", 2))
        out.append(r.zmpop(1, ["board"], max=True))
        # Sets come back as Python sets; integers stay an intset.
        out.append(r.sadd("tags", "a", "b", "c"))
        out.append(r.smembers("tags"))
        out.append(r.sinter("tags", "missing"))
        out.append(r.sadd("ids", 3, 1, 2))
        out.append(r.object("encoding", "ids"))
        # Queue: push, pop, blocking pop with data present.
        out.append(r.rpush("q", "j1", "j2", "j3"))
        out.append(r.lrange("q", 0, -1))
        out.append(r.blpop(["empty", "q"], timeout=1))
        out.append(r.lmpop(1, "q", direction="RIGHT", count=5))
        out.append(r.blpop(["q"], timeout=0.1))
        # Bitmaps and HyperLogLog.
        out.append(r.setbit("bits", 7, 1))
        out.append(r.bitcount("bits"))
        out.append(r.pfadd("visitors", *[f"u{i}" for i in range(500)]))
        out.append(r.pfcount("visitors"))
        results.append(out)
    assert results[0] == results[1]


def test_blpop_is_woken_by_a_push_from_another_client(shoal):
    import threading

    r = redis.Redis(port=shoal.port, decode_responses=True)
    r.delete("jobs")
    got = {}

    def worker():
        got["job"] = redis.Redis(port=shoal.port, decode_responses=True).blpop(["jobs"], timeout=5)

    t = threading.Thread(target=worker)
    t.start()
    deadline = time.time() + 5
    while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
        time.sleep(0.01)
    r.rpush("jobs", "job-1")
    t.join(5)
    assert list(got["job"]) == ["jobs", "job-1"]
