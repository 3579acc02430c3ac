//! Helpers shared by the BGSAVE tests (bgsave.rs, bgsave_replies.rs):
//! commands, INFO persistence fields, waiting for a save, the server log.
#![allow(dead_code, clippy::unwrap_used)]

use super::common::{self, words};
pub use super::common::{check_rdb, log_with};
use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::ServerBuilder;

pub fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line))
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

pub fn ok(c: &mut Client, line: &str) {
    let r = call(c, line);
    assert!(!r.is_error(), "{line}: {r}");
}

/// Shoal under test, without save points unless a test sets some.
pub fn shoal() -> ServerBuilder {
    common::shoal().directive("save", "")
}

pub fn info(c: &mut Client, section: &str) -> String {
    match c.call(["INFO", section]).unwrap() {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO {section}: {other}"),
    }
}

pub fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in INFO:\n{info}"))
}

pub fn num(info: &str, name: &str) -> i64 {
    field(info, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number:\n{info}"))
}

/// Poll INFO persistence until no BGSAVE runs; returns that INFO.
pub fn wait_idle(c: &mut Client, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let i = info(c, "persistence");
        if field(&i, "rdb_bgsave_in_progress") == "0" {
            return i;
        }
        assert!(
            Instant::now() < deadline,
            "BGSAVE still running after {limit:?}:\n{i}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `keys read` in redis-check-rdb's report.
pub fn keys_read(report: &str) -> i64 {
    report
        .lines()
        .find_map(|l| {
            l.strip_prefix("[info] ")?
                .strip_suffix(" keys read")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no key count in:\n{report}"))
}
