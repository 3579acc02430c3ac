//! Lua scripting against redis-server: EVAL / EVALSHA / SCRIPT and FUNCTION
//! / FCALL replies compared byte for byte (RESP2 and RESP3), the error
//! texts and positions, scripts touching keys on both shards (declared or
//! not), BUSY and SCRIPT KILL, and isolation: concurrent EVAL transfers
//! between counters on two shards never show a partial script.
//!
//! With 2 shards `foo` lives on shard 0 and `bar` on shard 1.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Diff, Pair};
use resp::Frame;
use std::thread;
use std::time::{Duration, Instant};

const EVAL_SCRIPT: &str = r##"
SET foo bar
SET bar{x} 1
EVAL "return 1" 0
EVAL "return 'x'" 0
EVAL "return 3.99" 0
EVAL "return -3.99" 0
EVAL "return true" 0
EVAL "return false" 0
EVAL "return nil" 0
EVAL "return {1,2,3,'a',nil,5}" 0
EVAL "return {1,{2,{3,'x'}},{ok='fine'},{err='bad'}}" 0
EVAL "return {ok='fine'}" 0
EVAL "return {err='oops'}" 0
EVAL "return {err='ERR with\r\nnewline'}" 0
EVAL "return redis.error_reply('E1 z')" 0
EVAL "return redis.error_reply('nocode')" 0
EVAL "return redis.error_reply('-X y')" 0
EVAL "return redis.error_reply(1, 2)" 0
EVAL "return redis.status_reply('x')" 0
EVAL "return redis.status_reply()" 0
EVAL "return redis.sha1hex('')" 0
EVAL "return redis.sha1hex('abc')" 0
EVAL "return redis.sha1hex()" 0
EVAL "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}" 2 k1 k2 a1 a2
EVAL "return redis.call('get', KEYS[1])" 1 foo
EVAL "return redis.call('get', 'nokey')" 0
EVAL "return {redis.call('get', 'nokey')}" 0
EVAL "return redis.call('incr', 'foo')" 0
EVAL "return redis.call('incr', 'bar{x}')" 0
EVAL "local x = redis.call('incr', 'foo')\nreturn x" 0
EVAL "local x = redis.call('lpush', 'bar{x}', 'a')\nreturn x" 0
EVAL "return redis.pcall('incr', 'foo')" 0
EVAL "local t = redis.pcall('incr', 'foo'); return t.err" 0
EVAL "return pcall(redis.call, 'incr', 'foo')" 0
EVAL "local ok, e = pcall(redis.call, 'incr', 'foo'); return e" 0
EVAL "local ok, e = pcall(redis.call, 'incr', 'bar{x}'); return {tostring(ok), e}" 0
EVAL "local ok, e = pcall(function() return redis.call('incr', 'bar{x}') end); return {tostring(ok), e}" 0
EVAL "return redis.call('nosuch')" 0
EVAL "return redis.pcall('nosuch')" 0
EVAL "return redis.call()" 0
EVAL "return redis.call(1)" 0
EVAL "return redis.call('get', {})" 0
EVAL "return redis.call('set', 'k')" 0
EVAL "return redis.call('eval', 'return 1', '0')" 0
EVAL "return redis.call('multi')" 0
EVAL "return redis.call('set', 'num', 3.5)" 0
EVAL "return redis.call('get', 'num')" 0
EVAL "redis.call('set', 'num', 1/3); return redis.call('get', 'num')" 0
EVAL "redis.call('set', 'num', 100); return redis.call('get', 'num')" 0
EVAL "return redis.call('ping')" 0
EVAL "return redis.call('hset', 'h', 'a', '1', 'b', '2')" 0
EVAL "return redis.call('hgetall', 'h')" 0
EVAL "redis.setresp(3); return redis.call('hgetall', 'h')" 0
EVAL "redis.setresp(3); return redis.call('get', 'nokey')" 0
EVAL "redis.setresp(3); return redis.call('exists', 'h')" 0
EVAL "redis.setresp(3); return true" 0
EVAL "redis.setresp(3); return false" 0
EVAL "redis.setresp(3); local r = redis.call('hgetall', 'h'); return r.map.a" 0
EVAL "redis.setresp(4)" 0
EVAL "redis.setresp()" 0
EVAL "return {double=3.5}" 0
EVAL "return {map={a=1}}" 0
EVAL "return {set={a=true}}" 0
EVAL "return {big_number='12345678901234567890'}" 0
EVAL "return {verbatim_string={format='txt', string='hello'}}" 0
EVAL "x = 1" 0
EVAL "return y" 0
EVAL "redis = 1" 0
EVAL "error('boom')" 0
EVAL "error({err='MYERR x'})" 0
EVAL "local function f()\nerror('deep')\nend\nf()" 0
EVAL "error()" 0
EVAL "syntax error here" 0
# (the sequence itself continues across scripts and depends on history)
EVAL "local a, b, c = math.random(10), math.random(5, 7), math.random(); return {a >= 1 and a <= 10, b >= 5 and b <= 7, c >= 0 and c < 1}" 0
EVAL "return math.random(0)" 0
EVAL "return math.random(3, 1)" 0
EVAL "return type(loadstring)" 0
EVAL "return type(print)" 0
EVAL "return type(debug)" 0
EVAL "return _VERSION" 0
EVAL "return redis.REDIS_VERSION_NUM > 0" 0
EVAL "return redis.LOG_WARNING" 0
EVAL "redis.log(redis.LOG_WARNING, 'from', 'script'); return 1" 0
EVAL "redis.log(99, 'x')" 0
EVAL "redis.log('x')" 0
EVAL "return redis.set_repl(redis.REPL_ALL)" 0
EVAL "return redis.replicate_commands()" 0
EVAL "return 1" 1
EVAL "return 1" -1
EVAL "return 1" x
EVAL "return 1" 2 a
EVAL_RO "return redis.call('get', KEYS[1])" 1 foo
EVAL_RO "return redis.call('set', 'a', 'b')" 1 a
EVAL "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')" 0
EVAL "#!lua\nreturn redis.call('set', 'a', 'b')" 0
EVAL_RO "#!lua\nreturn 1" 0
EVAL_RO "#!lua flags=no-writes\nreturn redis.call('get', 'foo')" 0
EVAL "#!lua flags=bogus\nreturn 1" 0
EVAL "#!luax\nreturn 1" 0
EVAL "#!lua name=x\nreturn 1" 0
SCRIPT LOAD "return 'loaded'"
SCRIPT EXISTS 8c5e8d8d8f3d57d02ccc6f1c2bbd0ae9e1bd9b4b e0e1f9fabfc9d4800c877a703b823ac0578ff8db abc
EVAL "return 1" 0
SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db
EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0
EVALSHA E0E1F9FABFC9D4800C877A703B823AC0578FF8DB 0
EVALSHA_RO e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0
EVALSHA 0123456789012345678901234567890123456789 0
EVALSHA abc 0
SCRIPT LOAD "syntax error"
SCRIPT FLUSH
SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db
EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0
SCRIPT FLUSH ASYNC
SCRIPT FLUSH SYNC
SCRIPT FLUSH bogus
SCRIPT KILL
SCRIPT DEBUG NO
SCRIPT NOSUCH
MULTI
EVAL "return redis.call('incr', 'ctr')" 0
EVAL "return redis.call('incr', 'ctr{x}')" 0
EXEC
"##;

const FUNCTION_SCRIPT: &str = r##"
FUNCTION FLUSH
FUNCTION LOAD "return 1"
FUNCTION LOAD "#!lua\nreturn 1"
FUNCTION LOAD "#!lua name=my-lib\nreturn 1"
FUNCTION LOAD "#!js name=x\nreturn 1"
FUNCTION LOAD "#!lua name=mylib\nreturn 1"
FUNCTION LOAD "#!lua name=mylib\nredis.register_function('myset', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='myget', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read it'}"
FUNCTION LOAD "#!lua name=mylib\nredis.register_function('x', function() return 1 end)"
FUNCTION LOAD "#!lua name=lib2\nredis.register_function('myset', function() return 1 end)"
FUNCTION LOAD "#!lua name=lib3\nredis.call('ping')"
FUNCTION LOAD "#!lua name=lib3\nlocal x = "
FUNCTION LOAD "#!lua name=lib3\nredis.register_function('bad name', function() return 1 end)"
FUNCTION LOAD "#!lua name=lib3\nredis.register_function('f3', function() return 1 end, 'x')"
FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function() return 1 end, flags={'bogus'}}"
FUNCTION LOAD "#!lua name=lib3\nerror('oops')"
FUNCTION LOAD "#!lua name=spin\nwhile true do end"
FCALL myset 1 foo v1
FCALL myset 1 bar v2
FCALL myget 1 foo
FCALL myget 1 bar
FCALL_RO myget 1 bar
FCALL_RO myset 1 foo v
FCALL nosuch 0
FCALL myset x
FCALL myset 5 a
# (LIST of a two-function library: the order is Redis's hash table's)
FUNCTION LOAD "#!lua name=single\nredis.register_function{function_name='one', callback=function() return 1 end, flags={'no-writes', 'allow-stale'}, description='the one'}"
FUNCTION LIST LIBRARYNAME sing*
FUNCTION LIST WITHCODE LIBRARYNAME single
FUNCTION LIST LIBRARYNAME nomatch
FUNCTION LIST bogus
FUNCTION LIST LIBRARYNAME
FUNCTION DELETE single
FUNCTION LOAD REPLACE "#!lua name=mylib\nredis.register_function('myset', function(keys, args) return 'replaced' end)"
FCALL myset 0
FCALL myget 1 foo
FUNCTION DELETE nosuch
FUNCTION DELETE mylib
FCALL myset 0
FUNCTION FLUSH bogus
FUNCTION STATS
FUNCTION KILL
"##;

#[test]
fn eval_matches_redis() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start();
    pair.script(false, EVAL_SCRIPT);
    pair.diff().same("FLUSHALL");
    pair.script(true, EVAL_SCRIPT);
}

#[test]
fn functions_match_redis() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start();
    pair.script(false, FUNCTION_SCRIPT);
    pair.script(true, FUNCTION_SCRIPT);
}

/// FUNCTION DUMP from one server restores into the other, both ways.
#[test]
fn function_dump_restores_across_servers() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start();
    let mut d = pair.diff();
    d.same("FUNCTION LOAD \"#!lua name=lib1\\nredis.register_function('f1', function(k, a) return a[1] end)\"");
    d.same("FUNCTION LOAD \"#!lua name=lib2\\nredis.register_function{function_name='f2', callback=function() return 2 end, flags={'no-writes'}}\"");
    let s_dump = d.shoal.call(["FUNCTION", "DUMP"]).unwrap();
    let r_dump = d.redis.call(["FUNCTION", "DUMP"]).unwrap();
    let (Frame::Bulk(s_dump), Frame::Bulk(r_dump)) = (s_dump, r_dump) else {
        panic!("FUNCTION DUMP replies are not bulk strings");
    };
    d.same("FUNCTION FLUSH");
    assert_eq!(
        d.shoal
            .call([&b"FUNCTION"[..], b"RESTORE", &r_dump[..]])
            .unwrap(),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        d.redis
            .call([&b"FUNCTION"[..], b"RESTORE", &s_dump[..]])
            .unwrap(),
        Frame::Simple("OK".into())
    );
    d.same("FCALL f1 0 hello");
    d.same("FCALL_RO f2 0");
    d.same_unordered("FUNCTION LIST WITHCODE");
    // APPEND (the default) refuses existing libraries; REPLACE and FLUSH do not.
    let again = d
        .shoal
        .call([&b"FUNCTION"[..], b"RESTORE", &r_dump[..]])
        .unwrap();
    let again_r = d
        .redis
        .call([&b"FUNCTION"[..], b"RESTORE", &r_dump[..]])
        .unwrap();
    // Which existing library the error names follows Redis's hash order.
    for r in [&again, &again_r] {
        let text = r.to_string();
        assert!(
            text.starts_with("(error) ERR Library ") && text.ends_with(" already exists"),
            "{text}"
        );
    }
    for policy in ["REPLACE", "FLUSH"] {
        let a = d
            .shoal
            .call([&b"FUNCTION"[..], b"RESTORE", &r_dump[..], policy.as_bytes()])
            .unwrap();
        let b = d
            .redis
            .call([&b"FUNCTION"[..], b"RESTORE", &r_dump[..], policy.as_bytes()])
            .unwrap();
        assert_eq!(a, b, "RESTORE {policy}");
    }
    d.same_error("FUNCTION RESTORE garbage");
}

/// A script touching a key on the other shard that it did not declare, and
/// EVALSHA from a connection on either shard after SCRIPT LOAD.
#[test]
fn scripts_reach_every_shard() {
    let server = common::shoal().threads(2).start();
    let mut c = server.client();
    let sha = c
        .call([
            "SCRIPT",
            "LOAD",
            "return redis.call('incr', KEYS[1]) + redis.call('incr', 'bar')",
        ])
        .unwrap();
    let Frame::Bulk(sha) = sha else {
        panic!("SCRIPT LOAD: {sha}");
    };
    // Several connections land on both shards (SO_REUSEPORT spreads them).
    for i in 0..8 {
        let mut c = server.client();
        let r = c.call([&b"EVALSHA"[..], &sha[..], b"1", b"foo"]).unwrap();
        assert_eq!(r, Frame::Integer(2 * (i + 1)), "run {i}");
    }
    assert_eq!(
        c.call(["MGET", "foo", "bar"]).unwrap().to_string(),
        "[\"8\", \"8\"]"
    );
}

/// Transfers between two counters on different shards by EVAL, under
/// concurrent readers: every read (MGET or another EVAL) sees the total.
#[test]
fn eval_is_isolated_across_shards() {
    let server = common::shoal().threads(2).start();
    let mut c = server.client();
    c.call(["MSET", "foo", "1000", "bar", "1000"]).unwrap();
    let transfer = "local a = redis.call('decrby', KEYS[1], ARGV[1])\n\
                    local b = redis.call('incrby', KEYS[2], ARGV[1])\n\
                    return a + b";
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut writers = Vec::new();
    for w in 0..3 {
        let addr = server.port();
        let transfer = transfer.to_string();
        writers.push(thread::spawn(move || {
            let mut c = resp::client::Client::connect(("127.0.0.1", addr)).unwrap();
            let mut n = 0;
            while Instant::now() < deadline && n < 20_000 {
                let (from, to) = if (n + w) % 2 == 0 {
                    ("foo", "bar")
                } else {
                    ("bar", "foo")
                };
                let r = c.call(["EVAL", &transfer, "2", from, to, "7"]).unwrap();
                assert_eq!(r, Frame::Integer(2000), "a script saw a partial transfer");
                n += 1;
            }
            n
        }));
    }
    let mut reads = 0;
    while Instant::now() < deadline {
        let r = c.call(["MGET", "foo", "bar"]).unwrap();
        let Frame::Array(v) = r else { panic!("MGET") };
        let total: i64 = v
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => std::str::from_utf8(b).unwrap().parse::<i64>().unwrap(),
                other => panic!("MGET element {other}"),
            })
            .sum();
        assert_eq!(total, 2000, "MGET saw a partial EVAL");
        reads += 1;
    }
    let done: i32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(
        done > 100 && reads > 100,
        "too little load: {done} scripts, {reads} reads"
    );
}

/// Past busy-reply-threshold other clients get BUSY; SCRIPT KILL stops a
/// script that has not written, UNKILLABLE protects one that has; the
/// replies match redis-server's.
#[test]
fn busy_scripts_and_script_kill_match_redis() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start_with(&[("busy-reply-threshold", "200")]);
    let mut seen = Vec::new();
    for (name, port) in [("shoal", pair.shoal.port()), ("redis", pair.redis.port())] {
        let runner = thread::spawn(move || {
            let mut c = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
            c.call(["EVAL", "local i = 0\nwhile true do i = i + 1 end", "0"])
                .unwrap()
        });
        let mut other = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
        thread::sleep(Duration::from_millis(400));
        let busy = other.call(["GET", "x"]).unwrap();
        assert_eq!(
            busy.to_string(),
            "(error) BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "{name}"
        );
        assert_eq!(
            other.call(["SCRIPT", "KILL"]).unwrap(),
            Frame::Simple("OK".into()),
            "{name}"
        );
        let killed = runner.join().unwrap();
        assert!(
            killed
                .to_string()
                .starts_with("(error) ERR Script killed by user with SCRIPT KILL..."),
            "{name}: {killed}"
        );
        seen.push(killed);
        assert_eq!(other.call(["PING"]).unwrap(), Frame::Simple("PONG".into()));
    }
    assert_eq!(seen.first(), seen.get(1), "killed-script replies differ");
    let mut d: Diff = pair.diff();
    d.same("SCRIPT KILL");
}

/// Scripts proven to touch only KEYS run on their keys' shard alone: from
/// connections on both shards, on keys of both shards, alone and inside
/// MULTI, every increment lands once.
#[test]
fn declared_key_scripts_run_on_their_shard() {
    let server = common::shoal().threads(2).start();
    let script = "local n = redis.call('INCR', KEYS[1])\nif n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\nreturn n";
    for round in 1..=3 {
        for c in 0..4 {
            let mut conn = server.client();
            for k in 0..10 {
                let key = format!("rl:{k}");
                let r = conn.call(["EVAL", script, "1", &key, "60000"]).unwrap();
                assert_eq!(r, Frame::Integer((round - 1) * 4 + c + 1), "{key}");
            }
        }
    }
    let mut c = server.client();
    assert_eq!(c.call(["MULTI"]).unwrap(), Frame::Simple("OK".into()));
    for k in ["foo", "bar"] {
        c.call(["EVAL", script, "1", k, "60000"]).unwrap();
    }
    let r = c.call(["EXEC"]).unwrap();
    assert_eq!(r, Frame::Array(vec![Frame::Integer(1), Frame::Integer(1)]));
    let ttl = c.call(["PTTL", "bar"]).unwrap();
    assert!(
        matches!(ttl, Frame::Integer(t) if t > 0 && t <= 60000),
        "{ttl}"
    );
}

/// A busy script that wrote is UNKILLABLE (same reply as Redis); SHUTDOWN
/// NOSAVE still stops the server.
#[test]
fn unkillable_script_and_shutdown_nosave() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let mut pair = Pair::start_with(&[("busy-reply-threshold", "200")]);
    let mut replies = Vec::new();
    for (name, port) in [("shoal", pair.shoal.port()), ("redis", pair.redis.port())] {
        thread::spawn(move || {
            let mut c = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
            let _ = c.call([
                "EVAL",
                "redis.call('set', 'x', '1')\nwhile true do end",
                "0",
            ]);
        });
        thread::sleep(Duration::from_millis(500));
        let mut other = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
        let r = other.call(["SCRIPT", "KILL"]).unwrap();
        assert!(
            r.to_string().starts_with("(error) UNKILLABLE"),
            "{name}: {r}"
        );
        replies.push(r);
        let _ = other.call(["SHUTDOWN", "NOSAVE"]);
    }
    assert_eq!(replies.first(), replies.get(1));
    assert!(
        pair.shoal.wait_exit(Duration::from_secs(10)).is_some(),
        "shoal did not exit"
    );
    assert!(
        pair.redis.wait_exit(Duration::from_secs(10)).is_some(),
        "redis did not exit"
    );
}

/// A command that must wait for another shard, called inside a coroutine
/// the script made, is refused (nothing of it runs) instead of suspending
/// the wrong coroutine; the script and the server go on.
#[test]
fn waiting_inside_a_user_coroutine_is_refused() {
    let server = common::shoal().threads(2).start();
    let script = "local out = {}\n\
                  for _, k in ipairs({'foo', 'bar'}) do\n\
                    local co = coroutine.create(function() return redis.call('set', k, 'v') end)\n\
                    local ok, r = coroutine.resume(co)\n\
                    out[#out + 1] = ok and (type(r) == 'table' and (r.ok or r.err) or tostring(r)) or tostring(r.err or r)\n\
                  end\n\
                  return out";
    for _ in 0..4 {
        let mut c = server.client();
        let r = c.call(["EVAL", script, "0"]).unwrap().to_string();
        // One of foo / bar lives on the connection's shard, the other not.
        assert!(
            r.contains("OK") && r.contains("must wait for another shard"),
            "{r}"
        );
    }
    let mut c = server.client();
    assert_eq!(c.call(["PING"]).unwrap(), Frame::Simple("PONG".into()));
}

/// FUNCTION STATS names the busy function and its FCALL; FUNCTION KILL
/// stops it; both answer as redis-server does (durations aside).
#[test]
fn function_stats_and_kill_of_a_busy_function() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start_with(&[("busy-reply-threshold", "200")]);
    let mut d = pair.diff();
    d.same("FUNCTION LOAD \"#!lua name=spinlib\\nredis.register_function('spin', function(keys, args) while true do end end)\"");
    let mut seen = Vec::new();
    for (name, port) in [("shoal", pair.shoal.port()), ("redis", pair.redis.port())] {
        let runner = thread::spawn(move || {
            let mut c = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
            c.call(["fcall", "spin", "0", "a1"]).unwrap()
        });
        thread::sleep(Duration::from_millis(400));
        let mut other = resp::client::Client::connect(("127.0.0.1", port)).unwrap();
        let stats = other.call(["FUNCTION", "STATS"]).unwrap();
        // Mask the duration: everything else must match Redis.
        let masked = stats
            .to_string()
            .split("\"duration_ms\", ")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_string()
                } else {
                    part.trim_start_matches(|c: char| {
                        c.is_ascii_digit() || c == '(' || c == ')' || c == ' ' || c.is_alphabetic()
                    })
                    .to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\"duration_ms\", <ms>");
        assert!(masked.contains("spin"), "{name}: {stats}");
        assert_eq!(
            other.call(["FUNCTION", "KILL"]).unwrap(),
            Frame::Simple("OK".into()),
            "{name}"
        );
        let killed = runner.join().unwrap();
        seen.push((masked, killed));
    }
    assert_eq!(seen.first(), seen.get(1));
}

/// FUNCTION RESTORE is all or nothing: a payload whose second library does
/// not compile loads neither, on Shoal as on Redis.
#[test]
fn function_restore_is_all_or_nothing() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start();
    let mut d = pair.diff();
    d.same(
        "FUNCTION LOAD \"#!lua name=keep\\nredis.register_function('k', function() return 1 end)\"",
    );
    let payload = shoal::script::functions::dump(&[
        bytes::Bytes::from_static(
            b"#!lua name=good\nredis.register_function('g', function() return 2 end)",
        ),
        bytes::Bytes::from_static(b"#!lua name=bad\nthis does not compile"),
    ]);
    let mut errs = Vec::new();
    for c in [&mut d.shoal, &mut d.redis] {
        let r = c
            .call([&b"FUNCTION"[..], b"RESTORE", &payload[..]])
            .unwrap();
        assert!(r.to_string().contains("Error compiling function"), "{r}");
        errs.push(r);
    }
    assert_eq!(errs.first(), errs.get(1));
    d.same_unordered("FUNCTION LIST");
    d.same_error("FCALL g 0");
    d.same("FCALL k 0");
}
