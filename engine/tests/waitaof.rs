//! WAITAOF (Redis 7.2; the Debian 7.0 reference lacks it, so this checks
//! Redis's documented behaviour and its source's error texts): argument
//! errors, the refusal with the AOF off, waiting for the everysec sync,
//! the timeout when replicas are asked for (Shoal has none yet, like a
//! Redis master without replicas), and the immediate answer inside MULTI,
//! on one and on two shards.

#![allow(clippy::unwrap_used)]

mod common;

use resp::Frame;
use std::time::{Duration, Instant};

fn pair(local: i64, replicas: i64) -> Frame {
    Frame::Array(vec![Frame::Integer(local), Frame::Integer(replicas)])
}

fn err(text: &'static str) -> Frame {
    Frame::Error(text.into())
}

#[test]
fn arguments_and_the_aof_off() {
    let s = common::shoal().threads(1).directive("save", "").start();
    let mut c = s.client();
    for (args, want) in [
        (
            vec!["2", "0", "0"],
            err("ERR value is out of range, value must between 0 and 1"),
        ),
        (
            vec!["x", "0", "0"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            vec!["0", "-1", "0"],
            err("ERR value is out of range, must be positive"),
        ),
        (
            vec!["0", "y", "0"],
            err("ERR value is not an integer or out of range"),
        ),
        (vec!["0", "0", "-1"], err("ERR timeout is negative")),
        (
            vec!["0", "0", "1.5"],
            err("ERR timeout is not an integer or out of range"),
        ),
        (
            vec!["1", "0", "0"],
            err("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."),
        ),
        (vec!["0", "0", "0"], pair(0, 0)),
    ] {
        let mut cmd = vec!["WAITAOF"];
        cmd.extend(&args);
        assert_eq!(c.call(cmd.clone()).unwrap(), want, "{cmd:?}");
    }
    assert_eq!(
        c.call(["WAITAOF", "1"]).unwrap(),
        err("ERR wrong number of arguments for 'waitaof' command")
    );
    // Replicas asked for: the timeout ends it.
    let t = Instant::now();
    assert_eq!(c.call(["WAITAOF", "0", "1", "200"]).unwrap(), pair(0, 0));
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn waits_for_the_sync_on_every_shard() {
    for threads in [1, 2] {
        let s = common::shoal()
            .threads(threads)
            .directive("save", "")
            .directive("appendonly", "yes")
            .directive("appendfsync", "everysec")
            .start();
        let mut c = s.client();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        for i in 0..20 {
            assert_eq!(
                c.call(["SET", &format!("k{i}"), "v"]).unwrap(),
                Frame::Simple("OK".into())
            );
        }
        let t = Instant::now();
        assert_eq!(c.call(["WAITAOF", "1", "0", "0"]).unwrap(), pair(1, 0));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        // Nothing new since: synced at once.
        assert_eq!(c.call(["WAITAOF", "0", "0", "0"]).unwrap(), pair(1, 0));
        // Replicas asked for: the timeout, and the local sync counted.
        let t = Instant::now();
        assert_eq!(c.call(["WAITAOF", "1", "1", "150"]).unwrap(), pair(1, 0));
        assert!(
            t.elapsed() >= Duration::from_millis(140),
            "{:?}",
            t.elapsed()
        );
        // Inside MULTI nothing blocks.
        assert_eq!(c.call(["MULTI"]).unwrap(), Frame::Simple("OK".into()));
        assert_eq!(
            c.call(["WAITAOF", "1", "1", "0"]).unwrap(),
            Frame::Simple("QUEUED".into())
        );
        let t = Instant::now();
        let r = c.call(["EXEC"]).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "EXEC took {:?}",
            t.elapsed()
        );
        assert_eq!(r, Frame::Array(vec![pair(1, 0)]), "threads {threads}");
    }
}
