//! Blocking list pops: wake-ups across shards, FIFO order among waiters,
//! timeouts, exactly-once service of clients blocked on keys of both
//! shards, and no element lost when a blocked client goes away. Scenarios
//! that Redis can run too are run on both servers and must agree.

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;
use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::Server;

/// Keys `a0` (shard 0) and `a1` (shard 1) under Redis Cluster's slot function, 2 shards.
const K0: &str = "left";
const K1: &str = "right";

fn blocked_clients(s: &Server) -> i64 {
    let mut c = s.client();
    let Frame::Bulk(info) = c.call(["INFO", "clients"]).unwrap() else {
        panic!()
    };
    let text = String::from_utf8_lossy(&info).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Wait until `n` clients are blocked on `s` (bounded).
fn wait_blocked(s: &Server, n: i64) {
    let t0 = Instant::now();
    while blocked_clients(s) < n {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "clients never blocked"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn bulk(s: &str) -> Frame {
    Frame::bulk(s)
}

/// Three clients block on one key in turn; three pushes serve them in
/// that order. Returns what each got.
fn fifo_scenario(s: &Server, key: &str) -> Vec<Frame> {
    let mut waiters: Vec<Client> = Vec::new();
    for i in 0..3 {
        let mut c = s.client();
        c.send(["BLPOP", key, "5"]).unwrap();
        waiters.push(c);
        wait_blocked(s, i + 1);
    }
    let mut pusher = s.client();
    for v in ["first", "second", "third"] {
        pusher.call(["RPUSH", key, v]).unwrap();
    }
    waiters.iter_mut().map(|c| c.read().unwrap()).collect()
}

#[test]
fn waiters_are_served_first_come_first_served_like_redis() {
    let pair = Pair::start();
    for key in [K0, K1] {
        let a = fifo_scenario(&pair.shoal, key);
        let b = fifo_scenario(&pair.redis, key);
        assert_eq!(a, b, "{key}");
        assert_eq!(
            a[0],
            Frame::Array(vec![bulk(key), bulk("first")]),
            "the longest waiter is served first"
        );
    }
}

#[test]
fn a_push_on_either_shard_wakes_a_client_of_either_shard() {
    let pair = Pair::start();
    // Connections land on both shards (SO_REUSEPORT); several of them cover
    // the four home/owner combinations with high probability, and every
    // one must be served whatever its home.
    for round in 0..8 {
        let key = if round % 2 == 0 { K0 } else { K1 };
        let mut c = pair.shoal.client();
        c.send(["BRPOP", key, "5"]).unwrap();
        wait_blocked(&pair.shoal, 1);
        pair.shoal.client().call(["LPUSH", key, "v"]).unwrap();
        assert_eq!(c.read().unwrap(), Frame::Array(vec![bulk(key), bulk("v")]));
        assert_eq!(blocked_clients(&pair.shoal), 0);
    }
}

#[test]
fn timeouts_reply_nil_after_the_time_and_zero_blocks() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        let t0 = Instant::now();
        let r = c.call(["BLPOP", K0, K1, "0.2"]).unwrap();
        let took = t0.elapsed();
        assert_eq!(r, Frame::NullArray);
        assert!(
            took >= Duration::from_millis(190),
            "returned after {took:?}"
        );
        assert!(took < Duration::from_secs(3), "returned after {took:?}");
    }
    // Timeout 0 blocks until served.
    let mut c = pair.shoal.client();
    c.send(["BLPOP", K1, "0"]).unwrap();
    wait_blocked(&pair.shoal, 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(blocked_clients(&pair.shoal), 1, "still blocked");
    pair.shoal.client().call(["RPUSH", K1, "late"]).unwrap();
    assert_eq!(
        c.read().unwrap(),
        Frame::Array(vec![bulk(K1), bulk("late")])
    );
}

#[test]
fn a_client_blocked_on_both_shards_is_served_once() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        c.send(["BLPOP", K0, K1, "5"]).unwrap();
        wait_blocked(s, 1);
        let mut p = s.client();
        p.call(["RPUSH", K1, "one"]).unwrap();
        assert_eq!(c.read().unwrap(), Frame::Array(vec![bulk(K1), bulk("one")]));
        p.call(["RPUSH", K0, "two"]).unwrap();
        assert_eq!(
            p.call(["LLEN", K0]).unwrap(),
            Frame::Integer(1),
            "nothing else popped"
        );
        assert_eq!(blocked_clients(s), 0);
        p.call(["DEL", K0]).unwrap();
    }
}

#[test]
fn many_clients_on_both_shards_get_every_element_exactly_once() {
    let pair = Pair::start();
    let s = &pair.shoal;
    let n = 40;
    let mut waiters: Vec<Client> = (0..n)
        .map(|_| {
            let mut c = s.client();
            c.send(["BLPOP", K0, K1, "10"]).unwrap();
            c
        })
        .collect();
    wait_blocked(s, n as i64);
    let addr = s.addr();
    let pushers: Vec<_> = [K0, K1]
        .into_iter()
        .map(|k| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                for i in 0..n / 2 {
                    c.call(["RPUSH", k, &format!("{k}-{i}")]).unwrap();
                }
            })
        })
        .collect();
    for p in pushers {
        p.join().unwrap();
    }
    let mut got: Vec<String> = waiters
        .iter_mut()
        .map(|c| match c.read().unwrap() {
            Frame::Array(v) => format!("{}", v[1]),
            other => panic!("{other}"),
        })
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), n, "every client got a distinct element");
    let mut c = s.client();
    assert_eq!(
        c.call(["EXISTS", K0, K1]).unwrap(),
        Frame::Integer(0),
        "none left over"
    );
}

#[test]
fn a_client_that_disconnects_while_blocked_loses_nothing() {
    let pair = Pair::start();
    let s = &pair.shoal;
    for key in [K0, K1] {
        let mut c = s.client();
        c.send(["BLPOP", key, "0"]).unwrap();
        wait_blocked(s, 1);
        drop(c);
        let t0 = Instant::now();
        while blocked_clients(s) > 0 {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut p = s.client();
        p.call(["RPUSH", key, "kept"]).unwrap();
        assert_eq!(
            p.call(["LRANGE", key, "0", "-1"]).unwrap(),
            Frame::Array(vec![bulk("kept")])
        );
    }
}

#[test]
fn blmove_across_shards_and_type_changes_while_blocked() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        c.send(["BLMOVE", K0, K1, "RIGHT", "LEFT", "5"]).unwrap();
        wait_blocked(s, 1);
        let mut p = s.client();
        // A key that becomes another type does not wake the client.
        p.call(["SET", K0, "string"]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(blocked_clients(s), 1);
        p.call(["DEL", K0]).unwrap();
        p.call(["RPUSH", K0, "a", "b"]).unwrap();
        assert_eq!(c.read().unwrap(), bulk("b"));
        assert_eq!(
            p.call(["LRANGE", K1, "0", "-1"]).unwrap(),
            Frame::Array(vec![bulk("b")])
        );
        assert_eq!(
            p.call(["LRANGE", K0, "0", "-1"]).unwrap(),
            Frame::Array(vec![bulk("a")])
        );
        // BLMPOP takes several at once.
        let mut c = s.client();
        c.send(["BLMPOP", "5", "2", "nokey", K1, "LEFT", "COUNT", "5"])
            .unwrap();
        let r = c.read().unwrap();
        assert_eq!(
            r,
            Frame::Array(vec![bulk(K1), Frame::Array(vec![bulk("b")])])
        );
        p.call(["DEL", K0, K1]).unwrap();
    }
}

#[test]
fn commands_pipelined_behind_a_blocked_one_wait_and_then_run_in_order() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        c.send(["BLPOP", K1, "5"]).unwrap();
        wait_blocked(s, 1);
        // Sent while blocked: held until the BLPOP is served.
        c.send(["RPUSH", K0, "after"]).unwrap();
        c.send(["PING"]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let mut p = s.client();
        assert_eq!(
            p.call(["EXISTS", K0]).unwrap(),
            Frame::Integer(0),
            "not run early"
        );
        p.call(["RPUSH", K1, "x"]).unwrap();
        assert_eq!(c.read().unwrap(), Frame::Array(vec![bulk(K1), bulk("x")]));
        assert_eq!(c.read().unwrap(), Frame::Integer(1));
        assert_eq!(c.read().unwrap(), Frame::simple("PONG"));
        p.call(["DEL", K0]).unwrap();
    }
}

#[test]
fn rename_copy_and_restore_onto_a_waited_key_wake_the_client() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut p = s.client();
        for how in ["RENAME", "COPY", "RESTORE"] {
            let mut c = s.client();
            c.send(["BLPOP", K1, "5"]).unwrap();
            wait_blocked(s, 1);
            p.call(["RPUSH", K0, how]).unwrap();
            match how {
                "RESTORE" => {
                    let Frame::Bulk(dump) = p.call(["DUMP", K0]).unwrap() else {
                        panic!()
                    };
                    p.call([&b"RESTORE"[..], K1.as_bytes(), b"0", &dump])
                        .unwrap();
                }
                _ => {
                    p.call([how, K0, K1]).unwrap();
                }
            }
            assert_eq!(
                c.read().unwrap(),
                Frame::Array(vec![bulk(K1), bulk(how)]),
                "{how}"
            );
            p.call(["DEL", K0, K1]).unwrap();
        }
    }
}

#[test]
fn bzpopmin_and_bzmpop_wake_on_zadd_and_ignore_other_types() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut p = s.client();
        let mut c = s.client();
        c.send(["BZPOPMIN", K0, K1, "5"]).unwrap();
        wait_blocked(s, 1);
        // A list on a key a BZPOPMIN waits on does not serve it.
        p.call(["RPUSH", K0, "x"]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(blocked_clients(s), 1);
        p.call(["ZADD", K1, "2", "b", "1", "a"]).unwrap();
        let r = c.read().unwrap();
        let Frame::Array(v) = r else { panic!("{r}") };
        assert_eq!(&v[..2], &[bulk(K1), bulk("a")]);
        let mut c = s.client();
        c.send(["BZMPOP", "5", "1", "zz", "MAX", "COUNT", "2"])
            .unwrap();
        wait_blocked(s, 1);
        p.call(["ZADD", "zz", "1", "m1", "3", "m3", "2", "m2"])
            .unwrap();
        let r = c.read().unwrap();
        let Frame::Array(v) = r else { panic!("{r}") };
        assert_eq!(v[0], bulk("zz"));
        let Frame::Array(pairs) = &v[1] else { panic!() };
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            p.call(["ZRANGE", "zz", "0", "-1"]).unwrap(),
            Frame::Array(vec![bulk("m1")])
        );
        p.call(["DEL", K0, K1, "zz"]).unwrap();
    }
}

#[test]
fn client_unblock_ends_the_wait_with_a_timeout_or_an_error() {
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut p = s.client();
        for (reason, expect) in [
            ("TIMEOUT", Frame::NullArray),
            (
                "ERROR",
                Frame::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into()),
            ),
        ] {
            let mut c = s.client();
            let Frame::Integer(id) = c.call(["CLIENT", "ID"]).unwrap() else {
                panic!()
            };
            c.send(["BLPOP", K0, K1, "0"]).unwrap();
            wait_blocked(s, 1);
            let id = id.to_string();
            assert_eq!(
                p.call(["CLIENT", "UNBLOCK", &id, reason]).unwrap(),
                Frame::Integer(1)
            );
            assert_eq!(c.read().unwrap(), expect, "{reason}");
            assert_eq!(
                p.call(["CLIENT", "UNBLOCK", &id]).unwrap(),
                Frame::Integer(0)
            );
            // The client is usable afterwards and nothing was left registered.
            assert_eq!(c.call(["PING"]).unwrap(), Frame::simple("PONG"));
            p.call(["RPUSH", K0, "x"]).unwrap();
            assert_eq!(p.call(["LLEN", K0]).unwrap(), Frame::Integer(1));
            p.call(["DEL", K0]).unwrap();
        }
        let r = p.call(["CLIENT", "UNBLOCK", "1", "MAYBE"]).unwrap();
        assert_eq!(
            r,
            Frame::Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into())
        );
    }
}
