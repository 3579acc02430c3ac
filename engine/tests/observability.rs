//! SLOWLOG, the latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR),
//! MONITOR and the CLIENT LIST fields that show subscriptions, MULTI,
//! blocking and monitoring — against redis-server where the output is
//! deterministic (timestamps, durations and client ports aside).

#![allow(clippy::unwrap_used)]

mod common;

use common::{words, Pair};
use resp::client::Client;
use resp::Frame;
use std::collections::BTreeMap;
use std::time::Duration;

fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line)).unwrap()
}

/// The argument lists of SLOWLOG GET's entries, newest first.
fn slow_args(f: &Frame) -> Vec<Vec<String>> {
    let Frame::Array(entries) = f else {
        panic!("SLOWLOG GET: {f}")
    };
    entries
        .iter()
        .map(|e| {
            let Frame::Array(fields) = e else {
                panic!("entry: {e}")
            };
            assert_eq!(fields.len(), 6, "entry: {e}");
            assert!(matches!(fields[0], Frame::Integer(_)));
            assert!(matches!(fields[1], Frame::Integer(_)));
            assert!(matches!(fields[2], Frame::Integer(_)));
            let Frame::Array(args) = &fields[3] else {
                panic!("args: {e}")
            };
            args.iter()
                .map(|a| String::from_utf8_lossy(a.as_bytes().unwrap()).into_owned())
                .collect()
        })
        .collect()
}

#[test]
fn slowlog_matches_redis() {
    let p = Pair::start();
    let mut got = Vec::new();
    for server in [&p.shoal, &p.redis] {
        let mut c = server.client();
        call(&mut c, "CONFIG SET slowlog-log-slower-than 0");
        call(&mut c, "CLIENT SETNAME slowpoke");
        call(&mut c, "SLOWLOG RESET");
        call(&mut c, "SET foo bar");
        call(&mut c, "MSET foo 1 bar 2");
        let long = "x".repeat(200);
        c.call(["SET", "k", long.as_str()]).unwrap();
        let mut many = vec!["RPUSH".to_string(), "list".to_string()];
        many.extend((0..40).map(|i| i.to_string()));
        c.call(&many).unwrap();
        call(&mut c, "GET nokey");
        let mut d = server.client();
        call(&mut d, "PING");
        // Errors of SLOWLOG itself.
        let errs: Vec<Frame> = [
            "SLOWLOG GET x",
            "SLOWLOG GET -2",
            "SLOWLOG GET 1 2",
            "SLOWLOG LEN 1",
            "SLOWLOG NOPE",
        ]
        .iter()
        .map(|l| call(&mut c, l))
        .collect();
        let all = call(&mut c, "SLOWLOG GET -1");
        let three = call(&mut c, "SLOWLOG GET 3");
        let default = call(&mut c, "SLOWLOG GET");
        let len = call(&mut c, "SLOWLOG LEN");
        // The client name and the address are reported.
        let Frame::Array(entries) = &all else {
            panic!()
        };
        let Frame::Array(first) = &entries[entries.len() - 3] else {
            panic!()
        };
        assert!(first[4].as_bytes().unwrap().starts_with(b"127.0.0.1:"));
        assert_eq!(first[5].as_bytes().unwrap(), b"slowpoke");
        call(&mut c, "CONFIG SET slowlog-max-len 2");
        call(&mut c, "PING");
        let capped = call(&mut c, "SLOWLOG LEN");
        call(&mut c, "SLOWLOG RESET");
        let after_reset = call(&mut c, "SLOWLOG LEN");
        got.push((
            errs,
            slow_args(&all),
            slow_args(&three),
            slow_args(&default).len(),
            len,
            capped,
            after_reset,
        ));
    }
    assert_eq!(got[0].0, got[1].0, "errors");
    assert_eq!(got[0].1, got[1].1, "SLOWLOG GET -1 arguments");
    assert_eq!(got[0].2, got[1].2, "SLOWLOG GET 3");
    assert_eq!(got[0].3, got[1].3, "SLOWLOG GET default count");
    assert_eq!(got[0].4, got[1].4, "SLOWLOG LEN");
    assert_eq!(got[0].5, got[1].5, "SLOWLOG LEN after slowlog-max-len 2");
    assert_eq!(got[0].6, got[1].6, "SLOWLOG LEN after RESET");
}

fn latest(c: &mut Client) -> BTreeMap<String, (i64, i64)> {
    let Frame::Array(v) = call(c, "LATENCY LATEST") else {
        panic!()
    };
    v.iter()
        .map(|e| {
            let Frame::Array(f) = e else { panic!() };
            let name = String::from_utf8_lossy(f[0].as_bytes().unwrap()).into_owned();
            let (Frame::Integer(l), Frame::Integer(m)) = (&f[2], &f[3]) else {
                panic!("{e}")
            };
            (name, (*l, *m))
        })
        .collect()
}

#[test]
fn latency_monitor_sees_debug_sleep() {
    let p = Pair::start();
    for server in [&p.shoal, &p.redis] {
        let mut c = server.client();
        assert_eq!(latest(&mut c).len(), 0);
        // Off by default: nothing recorded.
        call(&mut c, "DEBUG SLEEP 0.05");
        assert_eq!(latest(&mut c).len(), 0);
        call(&mut c, "CONFIG SET latency-monitor-threshold 20");
        call(&mut c, "DEBUG SLEEP 0.05");
        call(&mut c, "PING");
        let l = latest(&mut c);
        let (last, max) = l["command"];
        assert!((50..1000).contains(&last), "{last}");
        assert!(max >= last);
        assert!(!l.contains_key("fast-command"), "{l:?}");
        let Frame::Array(h) = call(&mut c, "LATENCY HISTORY command") else {
            panic!()
        };
        assert_eq!(h.len(), 1);
        assert!(matches!(
            call(&mut c, "LATENCY DOCTOR"),
            Frame::Bulk(_) | Frame::Verbatim(..)
        ));
        assert!(matches!(
            call(&mut c, "LATENCY GRAPH command"),
            Frame::Bulk(_) | Frame::Verbatim(..)
        ));
        assert_eq!(call(&mut c, "LATENCY RESET nothing"), Frame::Integer(0));
        assert_eq!(call(&mut c, "LATENCY RESET"), Frame::Integer(1));
        assert_eq!(latest(&mut c).len(), 0);
    }
    let mut d = p.diff();
    d.same("LATENCY HISTORY nothing");
    d.same_error("LATENCY GRAPH nothing");
    d.same_error("LATENCY LATEST x");
    d.same_error("LATENCY HISTORY");
}

/// Lines a monitor received, without the timestamp and client address.
fn monitor_lines(m: &mut Client) -> Vec<String> {
    let (raw, _) = m.read_raw(Duration::from_millis(300)).unwrap();
    String::from_utf8_lossy(&raw)
        .lines()
        .map(|l| {
            // +<time> [<db> <addr>] args
            let (_, rest) = l.split_once(" [").unwrap();
            let (db_addr, args) = rest.split_once("] ").unwrap();
            let db = db_addr.split_whitespace().next().unwrap();
            format!("{db} {args}")
        })
        .collect()
}

#[test]
fn monitor_shows_every_shard() {
    let p = Pair::start();
    let mut got = Vec::new();
    for server in [&p.shoal, &p.redis] {
        let mut m = server.client();
        assert_eq!(call(&mut m, "MONITOR"), Frame::Simple("OK".into()));
        // Several clients, so commands arrive on both shards.
        for i in 0..6 {
            let mut c = server.client();
            call(&mut c, &format!("SET key{i} \"v\\n{i}\""));
            call(&mut c, "SELECT 2");
            call(&mut c, "MSET foo 1 bar 2");
            call(&mut c, "AUTH nobody secret");
            call(&mut c, "CONFIG GET maxclients");
        }
        let lines = monitor_lines(&mut m);
        got.push(lines);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0].len(), 24, "{:?}", got[0]);
}

/// EVAL shows itself, then each command of the script as client `lua`.
#[test]
fn monitor_shows_scripts() {
    let p = Pair::start();
    let mut got = Vec::new();
    for server in [&p.shoal, &p.redis] {
        let mut m = server.client();
        assert_eq!(call(&mut m, "MONITOR"), Frame::Simple("OK".into()));
        for i in 0..4 {
            let mut c = server.client();
            call(
                &mut c,
                &format!("EVAL \"return redis.call('set', KEYS[1], ARGV[1])\" 1 k{i} v"),
            );
            call(&mut c, "EVAL \"return redis.call('get', 'foo')\" 0");
        }
        let (raw, _) = m.read_raw(Duration::from_millis(300)).unwrap();
        let mut lines: Vec<String> = String::from_utf8_lossy(&raw)
            .lines()
            .map(|l| {
                let (_, rest) = l.split_once(" [").unwrap();
                let (db_addr, args) = rest.split_once("] ").unwrap();
                let who = if db_addr.ends_with(" lua") {
                    "lua"
                } else {
                    "client"
                };
                format!("{who} {args}")
            })
            .collect();
        // Lines from scripts on different shards may interleave.
        lines.sort();
        got.push(lines);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0].len(), 16, "{:?}", got[0]);
}

/// One `field=value` of CLIENT LIST for client `id`.
fn client_fields(c: &mut Client, id: i64) -> BTreeMap<String, String> {
    let text = call(c, "CLIENT LIST").as_text().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("no client {id} in {text}"))
        .to_string();
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| ["flags", "sub", "psub", "ssub", "multi", "cmd"].contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn client_list_shows_subscriptions_multi_and_blocking() {
    let p = Pair::start();
    let mut got = Vec::new();
    for server in [&p.shoal, &p.redis] {
        let mut admin = server.client();
        let mut a = server.client();
        let Frame::Integer(id) = call(&mut a, "CLIENT ID") else {
            panic!()
        };
        let mut seen = vec![client_fields(&mut admin, id)];
        a.send(words("SUBSCRIBE c1 c2")).unwrap();
        a.read().unwrap();
        a.read().unwrap();
        call(&mut a, "PSUBSCRIBE p*");
        call(&mut a, "SSUBSCRIBE s1");
        seen.push(client_fields(&mut admin, id));
        a.send(words("UNSUBSCRIBE")).unwrap();
        a.read().unwrap();
        a.read().unwrap();
        call(&mut a, "PUNSUBSCRIBE");
        call(&mut a, "SUNSUBSCRIBE");
        seen.push(client_fields(&mut admin, id));
        call(&mut a, "MULTI");
        call(&mut a, "SET x 1");
        call(&mut a, "GET x");
        seen.push(client_fields(&mut admin, id));
        call(&mut a, "EXEC");
        seen.push(client_fields(&mut admin, id));
        a.send(words("BLPOP emptylist 0")).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        seen.push(client_fields(&mut admin, id));
        call(&mut admin, "RPUSH emptylist x");
        a.read().unwrap();
        call(&mut a, "MONITOR");
        seen.push(client_fields(&mut admin, id));
        got.push(seen);
    }
    assert_eq!(got[0], got[1]);
}
