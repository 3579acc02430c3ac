"""redis-py's PubSub, transactions and the Spring Session notification
flow against shoal-server (2 shards), in RESP3 (redis-py 8's default) and
RESP2."""

import time

import pytest
import redis


def _message(p, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None:
            return m
    return None


@pytest.mark.parametrize("protocol", [2, 3])
def test_pubsub(shoal, protocol):
    r = redis.Redis(port=shoal.port, protocol=protocol, decode_responses=True)
    sub = redis.Redis(port=shoal.port, protocol=protocol, decode_responses=True).pubsub()
    sub.subscribe("news")
    sub.psubscribe("n*")
    assert sub.get_message(timeout=1)["type"] == "subscribe"
    assert sub.get_message(timeout=1)["type"] == "psubscribe"
    assert r.pubsub_numsub("news") == [("news", 1)]
    assert r.pubsub_numpat() == 1
    assert r.publish("news", "hello") == 2
    got = [_message(sub), _message(sub)]
    assert sorted(m["type"] for m in got) == ["message", "pmessage"]
    assert all(m["data"] == "hello" for m in got)
    sub.unsubscribe()
    sub.punsubscribe()
    sub.close()


def test_transaction_pipeline_and_watch(shoal):
    r = redis.Redis(port=shoal.port, decode_responses=True)
    r.mset({"foo": 1, "bar": 1})
    with r.pipeline(transaction=True) as p:
        p.incr("foo").incr("bar").mget("foo", "bar")
        assert p.execute() == [2, 2, ["2", "2"]]

    def bump(pipe):
        v = int(pipe.get("foo"))
        pipe.multi()
        pipe.set("foo", v + 1)

    assert r.transaction(bump, "foo") == [True]
    assert r.get("foo") == "3"
    with r.pipeline() as p:
        p.watch("bar")
        redis.Redis(port=shoal.port).set("bar", 100)
        p.multi()
        p.set("bar", 5)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("bar") == "100"


def test_spring_session_expiry_notifications(shoal):
    r = redis.Redis(port=shoal.port, decode_responses=True)
    r.config_set("notify-keyspace-events", "Egx")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "gxE"}
    sub = redis.Redis(port=shoal.port, decode_responses=True).pubsub()
    sub.subscribe("__keyevent@0__:expired", "__keyevent@0__:del")
    # Sessions on both shards expire through the active sweep...
    keys = [f"spring:session:sessions:expires:{i}" for i in range(8)]
    for k in keys:
        r.set(k, "")
        r.pexpire(k, 100)
    seen = set()
    deadline = time.time() + 10
    while len(seen) < len(keys) and time.time() < deadline:
        m = _message(sub, 0.5)
        if m and m["channel"] == "__keyevent@0__:expired":
            seen.add(m["data"])
    assert seen == set(keys)
    # ...and when a read finds them expired first (EXISTS).
    r.config_set("hz", "1")
    r.set("forced", "x")
    r.pexpire("forced", 30)
    time.sleep(0.1)
    r.exists("forced")
    m = _message(sub)
    assert m is not None and (m["channel"], m["data"]) == ("__keyevent@0__:expired", "forced")
    r.config_set("hz", "10")
    r.config_set("notify-keyspace-events", "")
    sub.close()
