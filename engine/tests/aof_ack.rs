//! With `appendfsync always`, no reply to a write leaves before an
//! fdatasync covering its record returned — checked by making every
//! fdatasync of the running shoal-server take 1.5 s (strace's syscall
//! delay injection) and timing replies:
//! - a SET, and a multi-shard MSET;
//! - a BLPOP that was blocked and is served by another client's LPUSH
//!   (its pop is a write logged on the list's shard): its reply, like the
//!   LPUSH's, comes only after the sync, whichever shard the blocked
//!   client and the list are on.
//!
//! Skipped when strace is missing or may not attach (ptrace refused).

#![allow(clippy::unwrap_used)]

mod common;

use resp::client::Client;
use resp::Frame;
use shoal::shard::owner_of;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::Server;

const SHARDS: usize = 2;
/// What strace adds to every fdatasync.
const DELAY: Duration = Duration::from_millis(1500);
/// A reply that waited for a delayed sync came at least this late.
const GATED: Duration = Duration::from_millis(1200);

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

fn key_on(prefix: &str, shard: usize) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| owner_of(k.as_bytes(), SHARDS) == shard)
        .unwrap()
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

    let t = Instant::now();
    assert_eq!(
        c.call(["SET", "a", "1"]).unwrap(),
        Frame::Simple("OK".into())
    );
    assert!(t.elapsed() >= GATED, "SET answered after {:?}", t.elapsed());
    let (x, y) = (key_on("m", 0), key_on("m", 1));
    let t = Instant::now();
    assert_eq!(
        c.call(["MSET", &x, "1", &y, "2"]).unwrap(),
        Frame::Simple("OK".into())
    );
    assert!(
        t.elapsed() >= GATED,
        "MSET answered after {:?}",
        t.elapsed()
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
    let _ = strace.kill();
    let _ = strace.wait();
}
