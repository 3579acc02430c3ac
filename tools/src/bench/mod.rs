//! # shoal-benchmark
//!
//! A load generator that tells the truth about latency tails.
//!
//! | module | what it owns |
//! |---|---|
//! | [`cli`] | flags (redis-benchmark's, then ours), validation into a `Config` |
//! | [`workload`] | what is sent: standard tests, a command line, presets; templates with in-place random fields |
//! | [`subscribers`] | `--preset publish`'s subscribers: SUBSCRIBE before a run, read and count on their own thread |
//! | [`schedule`] | the open-loop send schedule (due times; coordinated-omission correction) |
//! | [`driver`] | the event loop: clients, connections, pacing, replies, redirects; one mio poll per thread |
//! | [`reply`] | allocation-free scanning of replies on the hot path; MOVED/ASK parsing |
//! | [`conn`] | endpoints, the blocking handshake (AUTH, SELECT), nonblocking streams |
//! | [`cluster`] | hash slots (CRC16, hash tags) and the slot map from CLUSTER SLOTS |
//! | [`hist`] | HDR histograms (1 µs .. 100 s, 3 digits), merge, summaries, encoding |
//! | [`machine`] | machine facts and server INFO for reports |
//! | [`output`] | redis-benchmark-style text, `-q`, CSV, the progress bar |
//! | [`report`] | report.json / report.md / report.html (SVG charts) |
//! | [`runner`] | the order of runs (tests × loads × targets, interleaved), records, interval logs |
//!
//! Neighbours: `resp` decodes setup replies (INFO, CLUSTER SLOTS); nothing
//! here knows the engine.

pub mod cli;
pub mod cluster;
pub mod conn;
pub mod driver;
pub mod hist;
pub mod machine;
pub mod output;
pub mod reply;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod subscribers;
pub mod workload;

use clap::Parser;
use std::process::ExitCode;

/// Run shoal-benchmark with the process's arguments; the exit code says how it went.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let args = match cli::Args::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) => {
            // clap formats help, version and usage errors itself.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let cfg = match args.validate() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("shoal-benchmark: {msg}");
            return ExitCode::from(2);
        }
    };
    match runner::run(&cfg, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("shoal-benchmark: {msg}");
            ExitCode::FAILURE
        }
    }
}
