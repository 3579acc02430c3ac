//! Open loop against closed loop when redis-server freezes for 200 ms
//! (`DEBUG SLEEP 0.2` from another connection, mid-run).
//!
//! Closed loop (redis-benchmark's model) sends nothing while it waits, so only
//! one request per connection sees the stall: it shows in the max and hides
//! from the percentiles. Open loop keeps the schedule and measures from the
//! intended send time, so every request due during the stall is late: ~10 %
//! of a 2 s run, which lifts p95 and p99 far above normal.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ok, report};
use std::time::Duration;
use testkit::{Server, ServerBuilder};

const LIMIT: Duration = Duration::from_secs(60);

/// Run `-t get` for 2 s with `pacing` flags while the server freezes for 200 ms
/// 0.8 s into the run; returns the run from report.json.
fn run_through_a_freeze(server: &Server, pacing: &[&str]) -> serde_json::Value {
    let port = server.port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let mut c = server.client();
    let freeze = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        let reply = c.call(["DEBUG", "SLEEP", "0.2"]).unwrap();
        assert!(!reply.is_error(), "{reply}");
    });
    let mut args = vec![
        "-p",
        &port,
        "-c",
        "10",
        "-t",
        "get",
        "--duration",
        "2",
        "-q",
        "--report",
        dir,
    ];
    args.extend_from_slice(pacing);
    ok(&args, LIMIT);
    freeze.join().unwrap();
    let r = report(tmp.path());
    assert_eq!(r["runs"].as_array().unwrap().len(), 1);
    r["runs"][0].clone()
}

#[test]
fn open_loop_reports_the_stall_that_closed_loop_hides() {
    let server = ServerBuilder::redis()
        .directive("enable-debug-command", "yes")
        .start();
    let open = run_through_a_freeze(&server, &["--rate", "2000"]);
    let closed = run_through_a_freeze(&server, &[]);
    let ms = |run: &serde_json::Value, k: &str| run["latency"][k].as_f64().unwrap();
    // Both runs lived through the stall: their max shows it.
    assert!(ms(&open, "max_ms") >= 150.0, "open {}", open["latency"]);
    assert!(
        ms(&closed, "max_ms") >= 150.0,
        "closed {}",
        closed["latency"]
    );
    // The schedule is exact: 2 s at 2000/s.
    assert_eq!(open["requests"], 4000);
    assert_eq!(open["offered_rps"], 2000.0);
    // Open loop: ~400 of 4000 requests were due during the stall.
    assert!(ms(&open, "p95_ms") >= 20.0, "open {}", open["latency"]);
    assert!(ms(&open, "p99_ms") >= 100.0, "open {}", open["latency"]);
    // Closed loop: 10 stalled requests out of tens of thousands.
    assert!(
        closed["requests"].as_u64().unwrap() > 5000,
        "{}",
        closed["requests"]
    );
    assert!(ms(&closed, "p99_ms") < 50.0, "closed {}", closed["latency"]);
    // Open-loop runs say how far sends lagged behind schedule; closed-loop runs have none.
    assert!(
        open["send_lag"]["count"].as_u64().unwrap() == 4000,
        "{}",
        open["send_lag"]
    );
    assert!(closed["send_lag"].is_null());
    assert_eq!(open["errors"], 0);
    assert_eq!(closed["errors"], 0);
}

/// Two worker threads share one schedule: the counts still come out exact.
#[test]
fn sweep_runs_each_rate_and_reports_latency_against_load() {
    let server = Server::redis();
    let port = server.port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(
        &[
            "-p",
            &port,
            "-c",
            "4",
            "--threads",
            "2",
            "-t",
            "set",
            "-r",
            "1000",
            "--sweep",
            "2000,500",
            "--duration",
            "1",
            "--csv",
            "--report",
            tmp.path().to_str().unwrap(),
        ],
        LIMIT,
    );
    let rows = common::csv(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cols["offered_rps"], "500", "ascending rates");
    let r = report(tmp.path());
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["requests"], 500);
    assert_eq!(runs[1]["requests"], 2000);
    for run in runs {
        let offered = run["offered_rps"].as_f64().unwrap();
        let rps = run["rps"].as_f64().unwrap();
        assert!(
            rps > offered * 0.8 && rps < offered * 1.1,
            "{offered} offered, {rps} achieved"
        );
        assert_eq!(run["mode"], "open");
        assert_eq!(run["saturated"], false);
    }
    assert_eq!(r["settings"]["mode"], "sweep");
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("latency vs offered load"));
}

#[test]
fn a_rate_beyond_the_server_is_marked_saturated_and_the_sweep_stops() {
    let server = ServerBuilder::redis()
        .directive("enable-debug-command", "yes")
        .start();
    let port = server.port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    // Each request holds the server 5 ms: at most ~200/s, whatever is offered.
    ok(
        &[
            "-p",
            &port,
            "-c",
            "2",
            "--sweep",
            "50,1000,2000",
            "--duration",
            "1",
            "--max-inflight",
            "20",
            "-q",
            "--report",
            tmp.path().to_str().unwrap(),
            "debug",
            "sleep",
            "0.005",
        ],
        LIMIT,
    );
    let r = report(tmp.path());
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "2000/s is skipped after 1000/s saturated");
    assert_eq!(runs[0]["saturated"], false);
    assert_eq!(runs[1]["saturated"], true);
    assert!(runs[1]["rps"].as_f64().unwrap() < 400.0);
}
