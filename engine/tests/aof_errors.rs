//! A failed AOF write stops writes with Redis's MISCONF error (reads go
//! on), shows in INFO, and clears once writing works again. The failure is
//! real: the file-size limit (RLIMIT_FSIZE, set on the running server with
//! `prlimit`) makes the kernel refuse the write with EFBIG.

#![allow(clippy::unwrap_used)]

mod common;

use common::key_on;
use resp::client::Client;
use resp::Frame;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{Server, ServerBuilder};

fn info_field(c: &mut Client, name: &str) -> String {
    let Frame::Bulk(b) = c.call(["INFO", "persistence"]).unwrap() else {
        panic!("INFO is not a bulk string");
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_default()
}

/// Where the records of the longest incr file end: each goes on with the
/// zeros the server writes ahead of its log.
fn incr_size(dir: &std::path::Path) -> u64 {
    let d = dir.join("appendonlydir");
    std::fs::read_dir(&d)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
        .map(|e| {
            let b = std::fs::read(e.path()).unwrap();
            b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1) as u64
        })
        .max()
        .unwrap_or(0)
}

/// A server with `threads` shards and `appendfsync always`, or None when
/// prlimit is missing here.
fn always_server(threads: usize) -> Option<Server> {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit missing: skipped");
        return None;
    }
    Some(
        ServerBuilder::shoal()
            .threads(threads)
            .directive("save", "")
            .directive("appendonly", "yes")
            .directive("appendfsync", "always")
            .start(),
    )
}

/// Set the running server's file-size limit (None: unlimited).
fn limit_file_size(s: &Server, limit: Option<u64>) {
    let soft = limit.map_or("unlimited".to_string(), |l| l.to_string());
    let st = Command::new("prlimit")
        .args([
            "--pid",
            &s.pid().unwrap().to_string(),
            &format!("--fsize={soft}:unlimited"),
        ])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn write_errors_refuse_writes_with_misconf_until_solved() {
    let Some(s) = always_server(1) else { return };
    let mut c = s.client();
    assert_eq!(
        c.call(["SET", "a", "1"]).unwrap(),
        Frame::Simple("OK".into())
    );
    limit_file_size(&s, Some(incr_size(s.dir()) + 10));
    // The write that does not fit: its reply cannot claim success, so the
    // connection closes (the outcome is unknown to the client).
    let r = c.call(["SET", "b", "22222222222222222222"]);
    assert!(
        !matches!(r, Ok(Frame::Simple(_))),
        "a write that could not be logged was acknowledged: {r:?}"
    );
    let mut c = s.client();
    let e = c.call(["SET", "c", "3"]).unwrap();
    assert_eq!(
        e,
        Frame::Error("MISCONF Errors writing to the AOF file: File too large".into())
    );
    assert!(matches!(c.call(["PING"]).unwrap(), Frame::Error(_)));
    assert_eq!(c.call(["GET", "a"]).unwrap(), Frame::Bulk("1".into()));
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "err");
    limit_file_size(&s, None);
    // The writer retries every second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "aof_last_write_status") != "ok" {
        assert!(Instant::now() < deadline, "the write error never cleared");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        c.call(["SET", "c", "3"]).unwrap(),
        Frame::Simple("OK".into())
    );
    // The limit applies to every file of the process, the log included, so
    // the error's own log line is lost to it; the recovery's is not.
    let log = s.log();
    assert!(log.contains("AOF write error looks solved"), "{log}");
}

/// The same with a multi-shard MSET, whose parts settle in the background:
/// its reply never claims success for parts that could not be logged.
#[test]
fn write_errors_refuse_multi_shard_writes_too() {
    let Some(s) = always_server(2) else { return };
    let (x, y) = (key_on("x", 0), key_on("y", 1));
    let mut c = s.client();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ok = Frame::Simple("OK".into());
    assert_eq!(c.call(["MSET", &x, "1", &y, "1"]).unwrap(), ok);
    limit_file_size(&s, Some(incr_size(s.dir()) + 10));
    let r = c.call(["MSET", &x, "22222222222222222222", &y, "2"]);
    assert!(
        !matches!(r, Ok(Frame::Simple(_))),
        "a multi-shard write that could not be logged was acknowledged: {r:?}"
    );
    let mut c = s.client();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let e = c.call(["MSET", &x, "3", &y, "3"]).unwrap();
    assert!(
        matches!(&e, Frame::Error(t) if t.starts_with(b"MISCONF")),
        "MSET while the log cannot be written: {e:?}"
    );
    limit_file_size(&s, None);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "aof_last_write_status") != "ok" {
        assert!(Instant::now() < deadline, "the write error never cleared");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.call(["MSET", &x, "4", &y, "4"]).unwrap(), ok);
    assert_eq!(
        c.call(["MGET", &x, &y]).unwrap(),
        Frame::Array(vec![Frame::Bulk("4".into()), Frame::Bulk("4".into())])
    );
    // The failed transaction's hold on each shard was released once its
    // parts reached the disk: single-shard writes there are acknowledged.
    for k in [&x, &y] {
        assert_eq!(c.call(["SET", k, "5"]).unwrap(), ok);
    }
}
