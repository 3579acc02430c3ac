//! MULTI / EXEC / DISCARD / WATCH / UNWATCH: differential scripts against
//! redis-server (RESP2 and RESP3), WATCH scenarios with a second client
//! (writes from either shard, flushes, expiry, SWAPDB), and isolation under
//! load: transfers between counters on two shards never show a partial
//! EXEC, and WATCH-based compare-and-set loses no increment.
//!
//! With 2 shards `foo` lives on shard 0 and `bar` on shard 1.

#![allow(clippy::unwrap_used)]

mod common;

use common::{words, Diff, Pair};
use resp::client::Client;
use resp::Frame;
use std::thread;
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
EXEC
DISCARD
MULTI
MULTI
WATCH x
SET foo 1
INCR foo
LPUSH foo x
SET bar 2
MSET foo 3 bar 4 baz 5
MGET foo bar baz
GET nokey
EXEC
MULTI
EXEC
MULTI
SET foo 10
DISCARD
GET foo
MULTI
NOSUCHCOMMAND a b
SET foo 11
EXEC
GET foo
MULTI
GET
EXEC
MULTI
SELECT 1
SET foo db1
SELECT 0
GET foo
EXEC
SELECT 1
GET foo
SELECT 0
MULTI
BLPOP emptylist 0
BRPOP emptylist bar 0
BZPOPMIN emptyzset 0
BLMOVE emptylist other LEFT RIGHT 0
EXEC
RPUSH mylist a b
MULTI
BLPOP mylist 0
BLMPOP 0 1 mylist RIGHT
LLEN mylist
EXEC
MULTI
SADD s1 a b c
SADD s2 b c d
SINTERSTORE dst s1 s2
RENAME dst bar
SCARD bar
SISMEMBER bar b
DEL s1 s2 bar
EXEC
MULTI
FLUSHALL
DBSIZE
SET after flush
KEYS *
EXEC
MULTI
PING
ECHO hi
UNWATCH
EXEC
MULTI
RESET
EXEC
"#;

#[test]
fn transactions_match_redis_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn transactions_match_redis_resp3() {
    Pair::start().script(true, SCRIPT);
}

/// A second pair of connections on the same two servers.
fn other(p: &Pair) -> Diff {
    p.diff()
}

#[test]
fn watch_matches_redis() {
    let p = Pair::start();
    let mut a = p.diff();
    let mut b = other(&p);
    // Another client's write, on either shard, breaks the watch.
    for key in ["foo", "bar"] {
        a.same(&format!("SET {key} 1"));
        a.same(&format!("WATCH {key}"));
        b.same(&format!("SET {key} 2"));
        a.same("MULTI");
        a.same(&format!("GET {key}"));
        a.same("EXEC");
    }
    // Writes to other keys do not; an EXEC unwatches.
    a.same("WATCH foo bar");
    b.same("SET unrelated 1");
    a.same("MULTI");
    a.same("INCR foo");
    a.same("EXEC");
    b.same("SET foo 5");
    a.same("MULTI");
    a.same("GET foo");
    a.same("EXEC");
    // The client's own write breaks its watch too.
    a.same("WATCH bar");
    a.same("SET bar own");
    a.same("MULTI");
    a.same("GET bar");
    a.same("EXEC");
    // UNWATCH and DISCARD forget the watches.
    a.same("WATCH foo");
    a.same("UNWATCH");
    b.same("SET foo 6");
    a.same("MULTI");
    a.same("GET foo");
    a.same("EXEC");
    a.same("WATCH foo");
    a.same("MULTI");
    a.same("DISCARD");
    b.same("SET foo 7");
    a.same("MULTI");
    a.same("GET foo");
    a.same("EXEC");
    // Deleting a missing key touches nothing; deleting a present one does.
    a.same("WATCH missing");
    b.same("DEL missing");
    a.same("MULTI");
    a.same("EXEC");
    a.same("WATCH foo");
    b.same("DEL foo");
    a.same("MULTI");
    a.same("EXEC");
    // FLUSHDB breaks watches of keys that existed, not of missing ones.
    a.same("SET foo 1");
    a.same("WATCH foo");
    b.same("FLUSHDB");
    a.same("MULTI");
    a.same("EXEC");
    a.same("WATCH missing");
    b.same("FLUSHALL");
    a.same("MULTI");
    a.same("EXEC");
    // SWAPDB changes what db 0 holds.
    b.same("SELECT 1");
    b.same("SET bar in1");
    a.same("WATCH bar");
    b.same("SWAPDB 0 1");
    a.same("MULTI");
    a.same("GET bar");
    a.same("EXEC");
    b.same("SELECT 0");
    // Watches in another database are separate.
    a.same("SELECT 1");
    a.same("WATCH foo");
    a.same("SELECT 0");
    b.same("SET foo db0");
    a.same("MULTI");
    a.same("EXEC");
    // A key that expires after WATCH counts as changed.
    a.same("SET foo v PX 100");
    a.same("WATCH foo");
    thread::sleep(Duration::from_millis(250));
    a.same("MULTI");
    a.same("EXEC");
    // A WATCH inside MULTI is refused without dooming the transaction.
    a.same("MULTI");
    a.same("WATCH foo");
    a.same("SET foo w");
    a.same("EXEC");
}

fn int(f: &Frame) -> i64 {
    match f {
        Frame::Integer(i) => *i,
        Frame::Bulk(b) => std::str::from_utf8(b).unwrap().parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line)).unwrap()
}

/// Transfers between a counter on shard 0 and one on shard 1 run in EXEC
/// blocks from several clients while others read both counters, through
/// EXEC and through MGET: no reader ever sees the total change.
#[test]
fn exec_is_atomic_across_shards() {
    let p = Pair::start();
    let s = &p.shoal;
    let mut setup = s.client();
    call(&mut setup, "MSET foo 1000 bar 0");
    let deadline = Instant::now() + Duration::from_secs(20);
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let mut c = s.client();
            thread::spawn(move || {
                for i in 0..400 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let n = (i % 7) + 1;
                    let (from, to) = if (i + t) % 2 == 0 {
                        ("foo", "bar")
                    } else {
                        ("bar", "foo")
                    };
                    c.send(words("MULTI")).unwrap();
                    c.send(words(&format!("DECRBY {from} {n}"))).unwrap();
                    c.send(words(&format!("INCRBY {to} {n}"))).unwrap();
                    c.send(words("EXEC")).unwrap();
                    for _ in 0..3 {
                        c.read().unwrap();
                    }
                    match c.read().unwrap() {
                        Frame::Array(v) => assert_eq!(v.len(), 2),
                        other => panic!("EXEC: {other}"),
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let mut c = s.client();
            thread::spawn(move || {
                let mut checks = 0;
                while Instant::now() < deadline && checks < 1500 {
                    let (a, b) = if r == 0 {
                        c.send(words("MULTI")).unwrap();
                        c.send(words("GET foo")).unwrap();
                        c.send(words("GET bar")).unwrap();
                        c.send(words("EXEC")).unwrap();
                        c.read().unwrap();
                        c.read().unwrap();
                        c.read().unwrap();
                        match c.read().unwrap() {
                            Frame::Array(v) => (int(&v[0]), int(&v[1])),
                            other => panic!("EXEC: {other}"),
                        }
                    } else {
                        match call(&mut c, "MGET foo bar") {
                            Frame::Array(v) => (int(&v[0]), int(&v[1])),
                            other => panic!("MGET: {other}"),
                        }
                    };
                    assert_eq!(a + b, 1000, "saw a partial transaction: {a} + {b}");
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let mut c = s.client();
    let a = int(&call(&mut c, "GET foo"));
    let b = int(&call(&mut c, "GET bar"));
    assert_eq!(a + b, 1000);
}

/// Optimistic increments (WATCH, GET, MULTI, SET, EXEC, retry on a null
/// reply) from several clients on a key of each shard: every successful
/// EXEC counts, none is lost or doubled.
#[test]
fn watch_compare_and_set_loses_nothing() {
    let p = Pair::start();
    let s = &p.shoal;
    let per_thread = 150;
    let deadline = Instant::now() + Duration::from_secs(20);
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let mut c = s.client();
            let key = if t % 2 == 0 { "foo" } else { "bar" };
            thread::spawn(move || {
                let mut done = 0;
                let mut retries = 0;
                while done < per_thread && Instant::now() < deadline {
                    call(&mut c, &format!("WATCH {key}"));
                    let v = match call(&mut c, &format!("GET {key}")) {
                        Frame::Null => 0,
                        f => int(&f),
                    };
                    call(&mut c, "MULTI");
                    call(&mut c, &format!("SET {key} {}", v + 1));
                    match call(&mut c, "EXEC") {
                        Frame::Array(_) => done += 1,
                        Frame::Null | Frame::NullArray => retries += 1,
                        other => panic!("EXEC: {other}"),
                    }
                }
                (done, retries)
            })
        })
        .collect();
    let mut total = [0i64; 2];
    for (t, w) in workers.into_iter().enumerate() {
        let (done, _retries) = w.join().unwrap();
        total[t % 2] += done;
    }
    let mut c = s.client();
    assert_eq!(int(&call(&mut c, "GET foo")), total[0]);
    assert_eq!(int(&call(&mut c, "GET bar")), total[1]);
    assert_eq!(total[0] + total[1], 4 * per_thread);
}

/// Transactions whose keys (and watched keys) all live on one shard run
/// there in one hop, whichever shard the client is on: replies, WATCH
/// (kept and broken by another client), and errors inside EXEC, from
/// connections on both shards, for keys of both shards.
#[test]
fn single_shard_transactions_from_either_shard() {
    let server = common::shoal().start();
    // `foo` and `{foo}x` live on shard 0, `bar` and `{bar}x` on shard 1.
    for i in 0..8 {
        let mut c = server.client();
        let mut other = server.client();
        for (k1, k2) in [("foo", "{foo}x"), ("bar", "{bar}x")] {
            call(&mut c, &format!("SET {k1} {i}"));
            call(&mut c, &format!("WATCH {k1}"));
            call(&mut c, "MULTI");
            call(&mut c, &format!("INCR {k1}"));
            call(&mut c, &format!("LPUSH {k1} x"));
            call(&mut c, &format!("SET {k2} v{i}"));
            call(&mut c, &format!("GET {k2}"));
            let r = call(&mut c, "EXEC");
            let Frame::Array(v) = &r else {
                panic!("EXEC: {r}")
            };
            assert_eq!(v.len(), 4, "{r}");
            assert_eq!(v[0], Frame::Integer(i + 1));
            assert!(v[1].is_error(), "{r}");
            assert_eq!(v[3], Frame::Bulk(format!("v{i}").into()));
            // A write by another client between WATCH and EXEC breaks it.
            call(&mut c, &format!("WATCH {k1}"));
            call(&mut other, &format!("SET {k1} changed"));
            call(&mut c, "MULTI");
            call(&mut c, &format!("SET {k2} lost"));
            assert_eq!(call(&mut c, "EXEC"), Frame::NullArray);
            assert_eq!(
                call(&mut c, &format!("GET {k2}")),
                Frame::Bulk(format!("v{i}").into())
            );
        }
    }
}
