//! Pub/Sub: the subscribe/unsubscribe replies, messages, PUBSUB
//! introspection and the RESP2 subscribed mode byte for byte against
//! redis-server (RESP2 and RESP3); delivery to subscribers on both shards in
//! publish order; a subscriber that never reads is disconnected at its
//! output-buffer limit without the server's memory growing.

#![allow(clippy::unwrap_used)]

mod common;

use common::{words, Pair};
use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::Server;

/// Send `line` and read whatever arrives until the peer is quiet.
fn exchange(c: &mut Client, line: &str) -> Vec<u8> {
    c.send(words(line)).unwrap();
    c.read_raw(Duration::from_millis(60)).unwrap().0
}

/// A subscriber (`a`) and a publisher (`b`) on each server; every line goes
/// to `a` or `b` (prefix `a:` / `b:`), and both servers' bytes must match.
fn run(pair: &Pair, resp3: bool, script: &str) {
    let mut a = [pair.shoal.client(), pair.redis.client()];
    let mut b = [pair.shoal.client(), pair.redis.client()];
    if resp3 {
        for c in a.iter_mut().chain(b.iter_mut()) {
            c.call(["HELLO", "3"]).unwrap();
        }
    }
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (who, cmd) = line.split_once(": ").unwrap();
        let conns = if who == "a" { &mut a } else { &mut b };
        let [s, r] = conns;
        let got_s = exchange(s, cmd);
        let got_r = exchange(r, cmd);
        // Redis answers "unsubscribe all" and CHANNELS in its dict order:
        // compare those as multisets of lines.
        let sorted = |v: &[u8]| {
            let mut lines: Vec<Vec<u8>> = v.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            lines.sort();
            lines
        };
        if cmd == "UNSUBSCRIBE" || cmd == "PUNSUBSCRIBE" || cmd.starts_with("PUBSUB CHANNELS") {
            assert_eq!(sorted(&got_s), sorted(&got_r), "{who}: {cmd}");
        } else {
            assert_eq!(
                String::from_utf8_lossy(&got_s),
                String::from_utf8_lossy(&got_r),
                "{who}: {cmd}"
            );
        }
    }
}

const SCRIPT: &str = r#"
a: UNSUBSCRIBE
a: PUNSUBSCRIBE nothing
a: SUBSCRIBE news weather
a: SUBSCRIBE news
a: PSUBSCRIBE n* w?ather
a: SSUBSCRIBE orders
b: PUBSUB NUMSUB news weather nobody
b: PUBSUB NUMPAT
b: PUBSUB CHANNELS
b: PUBSUB CHANNELS n*
b: PUBSUB SHARDCHANNELS
b: PUBSUB SHARDNUMSUB orders news
b: PUBLISH news hello
a: PING
b: PUBLISH weather sunny
b: PUBLISH nothing x
b: SPUBLISH orders o1
b: SPUBLISH news not-a-shard-message
b: PUBSUB NOPE
b: PUBSUB CHANNELS a b
a: PING
a: PING hi
a: GET x
a: SET x 1
a: UNSUBSCRIBE news
a: PUNSUBSCRIBE n*
b: PUBLISH news bye
a: PUNSUBSCRIBE
a: UNSUBSCRIBE
a: SUNSUBSCRIBE orders
a: SUNSUBSCRIBE
a: PING
a: GET x
a: SUBSCRIBE
a: PUBLISH
"#;

#[test]
fn pubsub_matches_redis_resp2() {
    run(&Pair::start(), false, SCRIPT);
}

#[test]
fn pubsub_matches_redis_resp3() {
    run(&Pair::start(), true, SCRIPT);
}

fn shard_clients(s: &Server) -> Vec<i64> {
    let mut c = s.client();
    let text = c.call(["INFO", "shards"]).unwrap().as_text().unwrap();
    text.lines()
        .filter(|l| l.starts_with("shard") && l.contains("connected_clients="))
        .map(|l| {
            l.rsplit("connected_clients=")
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

fn message(f: Frame) -> (Vec<u8>, Vec<u8>) {
    match f {
        Frame::Array(v) | Frame::Push(v) => match v.as_slice() {
            [Frame::Bulk(kind), Frame::Bulk(ch), Frame::Bulk(msg)] if &kind[..] == b"message" => {
                (ch.to_vec(), msg.to_vec())
            }
            _ => panic!("not a message: {v:?}"),
        },
        other => panic!("not a message: {other}"),
    }
}

/// Subscribers spread over both shards all get every message of two
/// publishers (also on both shards), each publisher's in its order.
#[test]
fn messages_reach_every_shard_in_publish_order() {
    let s = common::shoal().start();
    let mut subs: Vec<Client> = Vec::new();
    // Connections land on shards by the kernel's SO_REUSEPORT hash: open
    // subscribers until both shards have some.
    while subs.len() < 64 {
        let mut c = s.client();
        c.call(["SUBSCRIBE", "feed"]).unwrap();
        subs.push(c);
        // The INFO connection behind shard_clients counts on its own shard
        // too: 3 per shard means at least 2 subscribers on each.
        if subs.len() >= 6 && shard_clients(&s).iter().all(|&n| n >= 3) {
            break;
        }
    }
    assert!(
        shard_clients(&s).iter().all(|&n| n >= 2),
        "subscribers did not spread over both shards: {:?}",
        shard_clients(&s)
    );
    let n = 500;
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            let mut c = s.client();
            std::thread::spawn(move || {
                let cmds: Vec<Vec<Vec<u8>>> = (0..n)
                    .map(|i| words(&format!("PUBLISH feed p{p}-{i}")))
                    .collect();
                for r in c.pipeline(cmds).unwrap() {
                    assert!(matches!(r, Frame::Integer(_)), "{r}");
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    for sub in &mut subs {
        let mut next = [0usize; 2];
        for _ in 0..2 * n {
            let (ch, msg) = message(sub.read().unwrap());
            assert_eq!(ch, b"feed");
            let text = String::from_utf8(msg).unwrap();
            let (p, i) = text.trim_start_matches('p').split_once('-').unwrap();
            let (p, i): (usize, usize) = (p.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[p], "publisher {p} out of order");
            next[p] += 1;
        }
    }
    let mut c = s.client();
    assert_eq!(
        c.call(["PUBLISH", "feed", "last"]).unwrap(),
        Frame::Integer(subs.len() as i64)
    );
}

/// A RESP3 subscriber keeps running commands; pushes interleave.
#[test]
fn resp3_subscriber_runs_commands() {
    let s = common::shoal().start();
    let mut a = s.client();
    a.call(["HELLO", "3"]).unwrap();
    assert!(matches!(
        a.call(["SUBSCRIBE", "ch"]).unwrap(),
        Frame::Push(_)
    ));
    assert_eq!(
        a.call(["SET", "k", "v"]).unwrap(),
        Frame::Simple("OK".into())
    );
    let mut b = s.client();
    assert_eq!(b.call(["PUBLISH", "ch", "m"]).unwrap(), Frame::Integer(1));
    assert!(matches!(a.read().unwrap(), Frame::Push(_)));
    assert_eq!(a.call(["GET", "k"]).unwrap(), Frame::Bulk("v".into()));
}

fn used_memory(c: &mut Client) -> i64 {
    let text = c.call(["INFO", "memory"]).unwrap().as_text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A subscriber that never reads is closed once its pending messages pass
/// the hard limit; the server's memory stays bounded meanwhile.
#[test]
fn slow_subscriber_is_disconnected_at_the_limit() {
    let s = common::shoal().start();
    let mut admin = s.client();
    admin
        .call([
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 2mb 1mb 60",
        ])
        .unwrap();
    let before = used_memory(&mut admin);
    let mut lazy = s.client();
    lazy.call(["SUBSCRIBE", "firehose"]).unwrap();
    let payload = "x".repeat(64 * 1024);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delivered_to_none = false;
    // 64 MB in total: far beyond the kernel's socket buffers and the limit.
    for _ in 0..1024 {
        let n = admin
            .call(["PUBLISH", "firehose", payload.as_str()])
            .unwrap();
        if n == Frame::Integer(0) {
            delivered_to_none = true;
            break;
        }
        assert!(Instant::now() < deadline, "publishing took too long");
    }
    assert!(delivered_to_none, "the slow subscriber was never dropped");
    let numsub = admin.call(["PUBSUB", "NUMSUB", "firehose"]).unwrap();
    assert_eq!(
        numsub,
        Frame::Array(vec![Frame::Bulk("firehose".into()), Frame::Integer(0)])
    );
    let grown = used_memory(&mut admin) - before;
    assert!(grown < 16 << 20, "memory grew by {grown} bytes");
    assert!(s.log().contains("output buffer limits"), "{}", s.log());
    // The server goes on.
    assert_eq!(admin.call(["PING"]).unwrap(), Frame::Simple("PONG".into()));
}
