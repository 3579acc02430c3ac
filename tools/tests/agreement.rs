//! Accuracy against redis-benchmark on the same redis-server.
//!
//! Two measurements, two stated tolerances, each on the median of 3 runs of
//! each tool taken in alternation (so a burst of background load hits both):
//!
//! 1. A server-bound run (`DEBUG SLEEP 0.002` from 2 clients: the server, not
//!    the client, sets the pace): both tools must see the same throughput and
//!    median within 25 %. This checks units, counting and timing.
//! 2. SET/GET at -P 1, -c 50 (client-bound on 2 shared cores): the tools differ
//!    in their own efficiency, so rps must agree within a factor of 3 and the
//!    median within a factor of 3 — enough to catch a wrong unit or a
//!    miscount, loose enough not to flake on a loaded 2-core machine.
//!    Efficiency proper is measured in benches/benchmark-tool-efficiency.sh.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{csv, ok, run_program, Row};
use std::time::Duration;
use testkit::ServerBuilder;

const LIMIT: Duration = Duration::from_secs(120);

fn redis_benchmark(args: &[&str]) -> Vec<Row> {
    let out = run_program("redis-benchmark", args, LIMIT);
    assert!(
        out.status.success(),
        "redis-benchmark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    csv(&String::from_utf8_lossy(&out.stdout))
}

fn within(a: f64, b: f64, factor: f64) -> bool {
    a <= b * factor && b <= a * factor
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Run both tools 3 times in alternation with the same flags; for each test,
/// the median rps and p50 of (redis-benchmark, shoal-benchmark).
fn alternate(args: &[&str]) -> Vec<(String, [f64; 2], [f64; 2])> {
    let mut theirs = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..3 {
        theirs.push(redis_benchmark(args));
        let rows = csv(&ok(args, LIMIT));
        for r in &rows {
            assert_eq!(r.num("errors"), 0.0, "{r:?}");
        }
        ours.push(rows);
    }
    let tests: Vec<String> = ours[0].iter().map(|r| r.test.clone()).collect();
    assert_eq!(
        tests,
        theirs[0].iter().map(|r| r.test.clone()).collect::<Vec<_>>()
    );
    tests
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let m = |runs: &Vec<Vec<Row>>, col: &str| {
                median(runs.iter().map(|r| r[i].num(col)).collect())
            };
            (
                name.clone(),
                [m(&theirs, "rps"), m(&ours, "rps")],
                [m(&theirs, "p50_latency_ms"), m(&ours, "p50_latency_ms")],
            )
        })
        .collect()
}

#[test]
fn server_bound_throughput_and_median_agree_within_25_percent() {
    let server = ServerBuilder::redis()
        .directive("enable-debug-command", "yes")
        .start();
    let port = server.port().to_string();
    let args = [
        "-p", &port, "-c", "2", "-n", "300", "--csv", "debug", "sleep", "0.002",
    ];
    let results = alternate(&args);
    let (_, [t_rps, o_rps], [t_p50, o_p50]) = &results[0];
    assert!(
        within(*o_rps, *t_rps, 1.25),
        "rps: ours {o_rps} theirs {t_rps}"
    );
    assert!(
        within(*o_p50, *t_p50, 1.25),
        "p50: ours {o_p50} theirs {t_p50}"
    );
    // Both wait ~2 ms per request, queued behind the other client's request.
    assert!(*o_p50 >= 2.0, "p50 {o_p50}");
}

#[test]
fn set_get_agree_within_a_factor_of_3() {
    let server = ServerBuilder::redis().start();
    let port = server.port().to_string();
    let args = [
        "-p", &port, "-c", "50", "-n", "50000", "-P", "1", "-r", "100000", "-t", "set,get", "--csv",
    ];
    let results = alternate(&args);
    assert_eq!(results.len(), 2);
    for (test, [t_rps, o_rps], [t_p50, o_p50]) in &results {
        assert!(
            within(*o_rps, *t_rps, 3.0),
            "{test} rps: ours {o_rps} theirs {t_rps}"
        );
        assert!(
            within(*o_p50, *t_p50, 3.0),
            "{test} p50: ours {o_p50} theirs {t_p50}"
        );
    }
}
