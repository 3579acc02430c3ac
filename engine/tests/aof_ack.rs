//! With `appendfsync always`, no reply to a write leaves before an
//! fdatasync covering its record returned — checked by making every
//! fdatasync of the running shoal-server take 1 s (strace's syscall
//! delay injection) and timing replies:
//! - single-shard and multi-shard writes of every kind of path: plain
//!   commands, MSET over shards, cross-shard RENAME/SMOVE/LMOVE, EXEC over
//!   one and two shards, COPY, SUNIONSTORE, EVAL, FUNCTION LOAD, FCALL,
//!   SWAPDB, FLUSHALL;
//! - a pipeline of cross-shard MSETs shares its sync rounds;
//! - a BLPOP that was blocked and is served by another client's LPUSH
//!   (its pop is a write logged on the list's shard): its reply, like the
//!   LPUSH's, comes only after the sync, whichever shard the blocked
//!   client and the list are on.
//!
//! Skipped when strace is missing or may not attach (ptrace refused).

#![allow(clippy::unwrap_used)]

mod common;

use common::key_on;
use resp::client::Client;
use resp::Frame;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::Server;

const SHARDS: usize = 2;
/// A function library with one writing function.
const LIB: &str = "#!lua name=acklib\nredis.register_function('ackset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)";
/// What strace adds to every fdatasync.
const DELAY: Duration = Duration::from_millis(1000);
/// A reply that waited for a delayed sync came at least this late.
const GATED: Duration = Duration::from_millis(800);

/// strace attached to every thread of `server`, delaying fdatasync's
/// return. None when strace cannot do it here.
fn slow_fsync(server: &Server) -> Option<Child> {
    let pid = server.pid().unwrap().to_string();
    let delay = format!("inject=fdatasync:delay_exit={}", DELAY.as_micros());
    let mut child = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fdatasync",
            "-e",
            &delay,
            "-p",
            &pid,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Attached when a SET takes the delay (bounded: 10 tries).
    let mut c = client(server);
    for _ in 0..10 {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        let t = Instant::now();
        assert_eq!(
            c.call(["SET", "probe", "1"]).unwrap(),
            Frame::Simple("OK".into())
        );
        if t.elapsed() >= GATED {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn client(s: &Server) -> Client {
    let mut c = s.client();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c
}

#[test]
fn replies_wait_for_the_fdatasync_blocked_pops_included() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("strace missing: skipped");
        return;
    }
    let s = common::shoal()
        .threads(SHARDS)
        .directive("appendonly", "yes")
        .directive("appendfsync", "always")
        .directive("save", "")
        .start();
    let Some(mut strace) = slow_fsync(&s) else {
        eprintln!("strace could not attach: skipped");
        return;
    };
    let mut c = client(&s);

    let (x, y) = (key_on("m", 0), key_on("m", 1));
    let (s0, s1) = (key_on("s", 0), key_on("s", 1));
    let (l0, l1) = (key_on("l", 0), key_on("l", 1));
    let (r0, r1) = (key_on("r", 0), key_on("r", 1));
    let script = "return redis.call('SET', KEYS[1], ARGV[1])";
    let writes: Vec<Vec<&str>> = vec![
        vec!["SET", "a", "1"],
        vec!["INCR", "n"],
        vec!["MSET", &x, "1", &y, "2"],
        vec!["SADD", &s0, "m"],
        vec!["SMOVE", &s0, &s1, "m"],
        vec!["RPUSH", &l0, "e"],
        vec!["LMOVE", &l0, &l1, "LEFT", "RIGHT"],
        vec!["SET", &r0, "v"],
        vec!["RENAME", &r0, &r1],
        vec!["EXPIRE", &r1, "100"],
        vec!["EVAL", script, "1", &x, "3"],
        vec!["EVAL", script, "1", &y, "3"],
        vec!["COPY", &s1, &s0],
        vec!["SUNIONSTORE", &s0, &s1, &s0],
        vec!["ZADD", "z", "1", "m"],
        vec!["FUNCTION", "LOAD", LIB],
        vec!["FCALL", "ackset", "1", &y, "4"],
        vec!["SWAPDB", "0", "1"],
        vec!["DEL", &x, &y],
    ];
    for w in &writes {
        let t = Instant::now();
        let r = c.call(w.iter().copied()).unwrap();
        assert!(!r.is_error(), "{w:?}: {r}");
        assert!(
            t.elapsed() >= GATED,
            "{w:?} answered after {:?}",
            t.elapsed()
        );
    }
    for keys in [[x.as_str(), x.as_str()], [x.as_str(), y.as_str()]] {
        assert_eq!(c.call(["MULTI"]).unwrap(), Frame::Simple("OK".into()));
        for k in keys {
            assert_eq!(
                c.call(["SET", k, "t"]).unwrap(),
                Frame::Simple("QUEUED".into())
            );
        }
        let t = Instant::now();
        let r = c.call(["EXEC"]).unwrap();
        assert!(!r.is_error(), "EXEC over {keys:?}: {r}");
        assert!(
            t.elapsed() >= GATED,
            "EXEC over {keys:?} answered after {:?}",
            t.elapsed()
        );
    }

    // A pipeline of cross-shard MSETs: every reply after a sync, and the
    // syncs shared (group commit): the transactions run on while earlier
    // ones go to disk, so the pipeline takes a few sync rounds, not one
    // each (it took one each before, 20 s here).
    let n = 20;
    let cmds = (0..n).map(|i| {
        vec![
            b"MSET".to_vec(),
            x.as_bytes().to_vec(),
            format!("{i}").into_bytes(),
            y.as_bytes().to_vec(),
            format!("{i}").into_bytes(),
        ]
    });
    let t = Instant::now();
    for r in c.pipeline(cmds).unwrap() {
        assert_eq!(r, Frame::Simple("OK".into()));
    }
    let took = t.elapsed();
    assert!(took >= GATED, "pipelined MSETs answered after {took:?}");
    assert!(
        took < DELAY * n / 4,
        "{n} pipelined MSETs took {took:?}: about one sync round each, not shared"
    );
    assert_eq!(
        c.call(["MGET", &x, &y]).unwrap(),
        Frame::Array(vec![Frame::Bulk("19".into()), Frame::Bulk("19".into())])
    );

    // Blocked clients on both shards' lists; several connections, so the
    // blocked client's own shard differs from the list's in some of them.
    for round in 0..4 {
        let list = key_on(&format!("q{round}-"), round % SHARDS);
        let addr = s.addr();
        let l2 = list.clone();
        let waiter = std::thread::spawn(move || {
            let mut b = Client::connect(&addr).unwrap();
            b.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let r = b.call(["BLPOP", &l2, "0"]).unwrap();
            (r, Instant::now())
        });
        // Blocked once the server lists it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = c.call(["INFO", "clients"]).unwrap().to_string();
            if info.contains("blocked_clients:1") {
                break;
            }
            assert!(Instant::now() < deadline, "BLPOP never blocked: {info}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pushed = Instant::now();
        assert_eq!(c.call(["LPUSH", &list, "x"]).unwrap(), Frame::Integer(1));
        assert!(
            pushed.elapsed() >= GATED,
            "LPUSH answered after {:?}",
            pushed.elapsed()
        );
        let (r, at) = waiter.join().unwrap();
        assert_eq!(
            r,
            Frame::Array(vec![
                Frame::Bulk(list.clone().into()),
                Frame::Bulk("x".into())
            ])
        );
        let waited = at.duration_since(pushed);
        assert!(
            waited >= GATED,
            "round {round}: the served BLPOP answered {waited:?} after the push, before its pop was synced"
        );
    }
    let t = Instant::now();
    assert_eq!(c.call(["FLUSHALL"]).unwrap(), Frame::Simple("OK".into()));
    assert!(
        t.elapsed() >= GATED,
        "FLUSHALL answered after {:?}",
        t.elapsed()
    );
    let _ = strace.kill();
    let _ = strace.wait();
}
