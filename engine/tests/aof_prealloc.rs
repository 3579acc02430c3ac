//! The zeros shoal-server writes ahead of its AOF records (so an
//! `appendfsync always` fdatasync commits no metadata), against real
//! processes and real SIGKILLs:
//! - a log longer than several preallocation chunks, written while the
//!   zeros ahead were being extended, comes back whole after a crash (no
//!   zeros ever overwrote a record);
//! - a clean shutdown leaves the file ending with its last record, and
//!   after a crash appending resumes right after the last record;
//! - a crash that left a later page of records on disk after an earlier
//!   page that never got there (zeros between) is a torn tail: cut with
//!   `aof-load-truncated yes`, refused with `no`.

#![allow(clippy::unwrap_used)]

mod common;

use resp::client::Client;
use resp::Frame;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::{Server, ServerBuilder};

/// The preallocation chunk (engine/src/aof/prealloc.rs).
const CHUNK: usize = 8 << 20;

fn aof_shoal() -> ServerBuilder {
    common::shoal()
        .threads(1)
        .directive("appendonly", "yes")
        .directive("appendfsync", "always")
        .directive("save", "")
}

fn restart(dir: &Path) -> ServerBuilder {
    aof_shoal().directive("dir", dir.to_str().unwrap())
}

fn client(s: &Server) -> Client {
    let mut c = s.client();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// The one incr file of a one-shard server started in `dir`.
fn incr_file(dir: &Path) -> PathBuf {
    let adir = dir.join("appendonlydir");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&adir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    v.sort();
    v.pop().expect("an incr file")
}

/// Where the records of `bytes` end.
fn records_end(bytes: &[u8]) -> usize {
    common::aof_records(bytes).last().map_or(0, |r| r.end)
}

fn value(i: usize) -> String {
    format!("{i:06}-{}", "v".repeat(4000))
}

/// SET k0..k<n> (4 KB values), pipelined 100 at a time.
fn write_keys(c: &mut Client, n: usize) {
    for start in (0..n).step_by(100) {
        let cmds = (start..(start + 100).min(n)).map(|i| {
            vec![
                b"SET".to_vec(),
                format!("k{i}").into_bytes(),
                value(i).into_bytes(),
            ]
        });
        for r in c.pipeline(cmds).unwrap() {
            assert_eq!(r, Frame::Simple("OK".into()));
        }
    }
}

fn check_keys(c: &mut Client, n: usize) {
    assert_eq!(
        c.call(["DBSIZE"]).unwrap(),
        Frame::Integer(n as i64),
        "keys after the restart"
    );
    for start in (0..n).step_by(500) {
        let cmds = (start..(start + 500).min(n))
            .map(|i| vec![b"GET".to_vec(), format!("k{i}").into_bytes()]);
        for (i, r) in (start..).zip(c.pipeline(cmds).unwrap()) {
            assert_eq!(r, Frame::Bulk(value(i).into_bytes().into()), "k{i}");
        }
    }
}

#[test]
fn a_log_across_several_chunks_survives_a_crash_whole() {
    // About 3 chunks of records: every extension ran while records were
    // appended right below it.
    let n = 3 * CHUNK / 4050;
    let mut s = aof_shoal().start();
    let mut c = client(&s);
    write_keys(&mut c, n);
    s.kill9();
    let file = incr_file(s.dir());
    let bytes = std::fs::read(&file).unwrap();
    let end = records_end(&bytes);
    let sets = common::aof_records(&bytes)
        .iter()
        .filter(|r| r.args.first().is_some_and(|a| a == b"SET"))
        .count();
    assert_eq!(sets, n, "whole SET records in {}", file.display());
    let tail = bytes.get(end..).unwrap();
    assert!(
        !tail.is_empty() && tail.iter().all(|&b| b == 0),
        "{}: {} bytes after the records, not all zeros",
        file.display(),
        tail.len()
    );

    let mut again = restart(s.dir()).start();
    let mut c = client(&again);
    check_keys(&mut c, n);
    // Appending goes on right after the last record.
    assert_eq!(
        c.call(["SET", "after", "crash"]).unwrap(),
        Frame::Simple("OK".into())
    );
    let bytes = std::fs::read(&file).unwrap();
    let recs = common::aof_records(&bytes);
    assert!(
        recs.iter().any(|r| r.start == end),
        "no record starts where the old ones end ({end})"
    );
    let last = recs.last().unwrap();
    assert_eq!(
        last.args,
        [b"SET".to_vec(), b"after".to_vec(), b"crash".to_vec()]
    );

    // A clean shutdown leaves no zeros.
    let _ = c.call(["SHUTDOWN"]);
    assert_eq!(again.wait_exit(Duration::from_secs(10)), Some(0));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        records_end(&bytes),
        bytes.len(),
        "{} ends in zeros after a clean shutdown",
        file.display()
    );
}

/// Keys written and killed; then a "later page" of records put 4 KB past
/// the end of the records, as unordered writeback can leave it.
fn crash_with_a_gap() -> (Server, PathBuf, u64) {
    let mut s = aof_shoal().start();
    let mut c = client(&s);
    write_keys(&mut c, 10);
    s.kill9();
    let file = incr_file(s.dir());
    let mut bytes = std::fs::read(&file).unwrap();
    let end = records_end(&bytes);
    let later = Frame::command([&b"SET"[..], b"later", b"page"]);
    let at = (end + 4096).next_multiple_of(4096);
    assert!(
        bytes.len() >= at + later.len(),
        "no preallocated space to hold the later page"
    );
    bytes.splice(at..at + later.len(), later);
    std::fs::write(&file, &bytes).unwrap();
    (s, file, end as u64)
}

#[test]
fn a_page_after_unwritten_zeros_is_a_torn_tail() {
    let (first, file, end) = crash_with_a_gap();
    let len = std::fs::metadata(&file).unwrap().len();

    let mut refused = restart(first.dir())
        .directive("aof-load-truncated", "no")
        .no_wait()
        .start();
    let code = refused.wait_exit(Duration::from_secs(10));
    let log = refused.log();
    assert!(
        matches!(code, Some(c) if c != 0),
        "started with aof-load-truncated no (exit {code:?}); log:\n{log}"
    );
    assert!(log.contains("Unexpected end of file"), "{log}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        len,
        "a refused start changed the file"
    );
    drop(refused);

    let again = restart(first.dir())
        .directive("aof-load-truncated", "yes")
        .start();
    let mut c = client(&again);
    check_keys(&mut c, 10);
    assert_eq!(c.call(["GET", "later"]).unwrap(), Frame::Null);
    // Cut there (the server then writes zeros ahead again).
    assert_eq!(
        records_end(&std::fs::read(&file).unwrap()) as u64,
        end,
        "the later page is still there; log:\n{}",
        again.log()
    );
}
