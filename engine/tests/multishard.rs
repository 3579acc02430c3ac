//! Atomicity and isolation of commands spanning shards, under concurrency,
//! on a 2-shard shoal-server: no reader ever sees half of a multi-shard
//! write; MSETNX is all-or-nothing; RENAME across shards is never observed
//! half-done; pipelined replies stay in request order across shards.

#![allow(clippy::unwrap_used)]

mod common;

use resp::Frame;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// `n` keys, alternating between the two shards.
fn spread_keys(prefix: &str, n: usize) -> Vec<String> {
    let (mut s0, mut s1) = (Vec::new(), Vec::new());
    for i in 0.. {
        let k = format!("{prefix}:{i}");
        if shoal::shard::owner_of(k.as_bytes(), 2) == 0 {
            s0.push(k);
        } else {
            s1.push(k);
        }
        if s0.len() >= n && s1.len() >= n {
            break;
        }
    }
    s0.into_iter()
        .zip(s1)
        .flat_map(|(a, b)| [a, b])
        .take(n)
        .collect()
}

#[test]
fn mget_never_sees_a_partial_mset() {
    let server = common::shoal().start();
    let keys = spread_keys("atom", 10);
    assert!(keys
        .iter()
        .any(|k| shoal::shard::owner_of(k.as_bytes(), 2) == 0));
    assert!(keys
        .iter()
        .any(|k| shoal::shard::owner_of(k.as_bytes(), 2) == 1));
    let mut init = vec!["MSET".to_string()];
    for k in &keys {
        init.push(k.clone());
        init.push("init".into());
    }
    server.client().call(&init).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut writers = Vec::new();
    for w in 0..3 {
        let mut c = server.client();
        let keys = keys.clone();
        writers.push(thread::spawn(move || {
            for i in 0..1500 {
                if Instant::now() > deadline {
                    break;
                }
                let v = format!("w{w}-{i}");
                let mut cmd = vec!["MSET".to_string()];
                for k in &keys {
                    cmd.push(k.clone());
                    cmd.push(v.clone());
                }
                assert_eq!(c.call(&cmd).unwrap(), Frame::simple("OK"));
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut c = server.client();
        let keys = keys.clone();
        let stop = stop.clone();
        readers.push(thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let mut cmd = vec!["MGET".to_string()];
                cmd.extend(keys.iter().cloned());
                let r = c.call(&cmd).unwrap();
                let vals: Vec<String> = r
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_text().unwrap())
                    .collect();
                assert!(vals.windows(2).all(|w| w[0] == w[1]), "torn read: {vals:?}");
                reads += 1;
            }
            reads
        }));
    }
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 100, "readers made too little progress: {reads}");
}

#[test]
fn msetnx_is_all_or_nothing_across_shards() {
    let server = common::shoal().start();
    // Each writer claims a pair (k[i], k[i+1]) of keys on different shards;
    // neighbouring writers overlap, so they race for shared keys.
    let keys = spread_keys("nx", 16);
    let mut handles = Vec::new();
    for w in 0..15 {
        let mut c = server.client();
        let (a, b) = (keys[w].clone(), keys[w + 1].clone());
        handles.push(thread::spawn(move || {
            let v = format!("writer{w}");
            let r = c.call(["MSETNX", &a, &v, &b, &v]).unwrap();
            (a, b, v, r)
        }));
    }
    let mut c = server.client();
    let mut winners = 0;
    for h in handles {
        let (a, b, v, r) = h.join().unwrap();
        let got_a = c.call(["GET", &a]).unwrap();
        let got_b = c.call(["GET", &b]).unwrap();
        match r {
            Frame::Integer(1) => {
                winners += 1;
                assert_eq!(got_a, Frame::bulk(&v), "winner {v} lost {a}");
                assert_eq!(got_b, Frame::bulk(&v), "winner {v} lost {b}");
            }
            Frame::Integer(0) => {
                assert_ne!(got_a, Frame::bulk(&v), "loser {v} wrote {a}");
                assert_ne!(got_b, Frame::bulk(&v), "loser {v} wrote {b}");
            }
            other => panic!("MSETNX replied {other}"),
        }
    }
    assert!(winners >= 1);
}

#[test]
fn cross_shard_rename_is_never_seen_half_done() {
    let server = common::shoal().start();
    let keys = spread_keys("ren", 2);
    let (a, b) = (keys[0].clone(), keys[1].clone());
    assert_ne!(
        shoal::shard::owner_of(a.as_bytes(), 2),
        shoal::shard::owner_of(b.as_bytes(), 2)
    );
    server.client().call(["SET", &a, "token"]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let mut c = server.client();
        let (a, b) = (a.clone(), b.clone());
        thread::spawn(move || {
            for i in 0..2000 {
                let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
                assert_eq!(c.call(["RENAME", from, to]).unwrap(), Frame::simple("OK"));
            }
        })
    };
    let watcher = {
        let mut c = server.client();
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(
                    c.call(["EXISTS", &a, &b]).unwrap(),
                    Frame::Integer(1),
                    "token seen in 0 or 2 places"
                );
                n += 1;
            }
            n
        })
    };
    mover.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 10);
}

#[test]
fn pipelined_replies_keep_request_order_across_shards() {
    let server = common::shoal().start();
    let mut c = server.client();
    let keys = spread_keys("pipe", 200);
    let mut cmds: Vec<Vec<String>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        cmds.push(vec!["SET".into(), k.clone(), i.to_string()]);
        cmds.push(vec!["GET".into(), k.clone()]);
        cmds.push(vec!["PING".into(), i.to_string()]);
        if i % 10 == 0 {
            cmds.push(vec!["MGET".into(), keys[0].clone(), k.clone()]);
            cmds.push(vec!["SELECT".into(), "0".into()]);
        }
    }
    let replies = c.pipeline(&cmds).unwrap();
    let mut it = replies.into_iter();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(it.next().unwrap(), Frame::simple("OK"));
        assert_eq!(it.next().unwrap(), Frame::bulk(i.to_string()), "GET {k}");
        assert_eq!(it.next().unwrap(), Frame::bulk(i.to_string()), "PING {i}");
        if i % 10 == 0 {
            assert_eq!(
                it.next().unwrap(),
                Frame::Array(vec![Frame::bulk("0"), Frame::bulk(i.to_string())])
            );
            assert_eq!(it.next().unwrap(), Frame::simple("OK"));
        }
    }
    assert!(it.next().is_none());
}

#[test]
fn multi_shard_commands_count_and_flush_everywhere() {
    let server = common::shoal().start();
    let mut c = server.client();
    let keys = spread_keys("many", 50);
    for k in &keys {
        c.call(["SET", k, "v"]).unwrap();
    }
    let mut exists = vec!["EXISTS".to_string()];
    exists.extend(keys.iter().cloned());
    exists.push(keys[0].clone());
    assert_eq!(c.call(&exists).unwrap(), Frame::Integer(51));
    let mut del = vec!["DEL".to_string()];
    del.extend(keys.iter().take(20).cloned());
    assert_eq!(c.call(&del).unwrap(), Frame::Integer(20));
    assert_eq!(c.call(["DBSIZE"]).unwrap(), Frame::Integer(30));
    c.call(["SELECT", "3"]).unwrap();
    c.call(["SET", &keys[40], "in3"]).unwrap();
    c.call(["SELECT", "0"]).unwrap();
    assert_eq!(c.call(["SWAPDB", "0", "3"]).unwrap(), Frame::simple("OK"));
    assert_eq!(c.call(["DBSIZE"]).unwrap(), Frame::Integer(1));
    assert_eq!(c.call(["GET", &keys[40]]).unwrap(), Frame::bulk("in3"));
    assert_eq!(c.call(["FLUSHALL"]).unwrap(), Frame::simple("OK"));
    c.call(["SELECT", "3"]).unwrap();
    assert_eq!(c.call(["DBSIZE"]).unwrap(), Frame::Integer(0));
}
