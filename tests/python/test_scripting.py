"""redis-py's scripting helpers against shoal-server (2 shards): Script
objects (EVALSHA, falling back to SCRIPT LOAD on NOSCRIPT), pipelines of
scripts, error mapping, and functions (FUNCTION LOAD / FCALL), in RESP2 and
RESP3."""

import pytest
import redis

RATE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@pytest.mark.parametrize("protocol", [2, 3])
def test_script_objects(shoal, protocol):
    r = redis.Redis(port=shoal.port, protocol=protocol, decode_responses=True)
    r.script_flush()
    limit = r.register_script(RATE)
    keys = [f"rl{protocol}:{i}" for i in range(6)]
    # The first call meets NOSCRIPT and loads the script, as with Redis.
    assert [limit(keys=[k], args=[60000]) for k in keys] == [1] * 6
    assert limit(keys=[keys[0]], args=[60000]) == 2
    assert 0 < r.pttl(keys[0]) <= 60000
    assert r.script_exists(limit.sha) == [True]
    pipe = r.pipeline()
    for k in keys:
        limit(keys=[k], args=[60000], client=pipe)
    assert pipe.execute() == [3, 2, 2, 2, 2, 2]


def test_script_errors(shoal):
    r = redis.Redis(port=shoal.port, decode_responses=True)
    r.set("s", "text")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.eval("return redis.call('incr', KEYS[1])", 1, "s")
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("0" * 40, 0)
    assert r.eval("return {1, 'two', {3}}", 0) == [1, "two", [3]]
    assert r.eval("return redis.status_reply('FINE')", 0) == "FINE"


@pytest.mark.parametrize("protocol", [2, 3])
def test_functions(shoal, protocol):
    r = redis.Redis(port=shoal.port, protocol=protocol, decode_responses=True)
    r.function_flush()
    code = (
        "#!lua name=counters\n"
        "redis.register_function('bump', function(keys, args)"
        " return redis.call('incrby', keys[1], args[1]) end)\n"
        "redis.register_function{function_name='peek', callback=function(keys)"
        " return redis.call('get', keys[1]) end, flags={'no-writes'}}"
    )
    assert r.function_load(code) == "counters"
    key = f"c{protocol}"
    assert r.fcall("bump", 1, key, 5) == 5
    assert r.fcall_ro("peek", 1, key) == "5"
    lib = r.function_list()[0]
    if protocol == 2:
        lib = dict(zip(lib[::2], lib[1::2]))
    assert lib["library_name"] == "counters"
    assert len(lib["functions"]) == 2
    assert r.function_delete("counters")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        r.fcall("bump", 1, key, 1)
