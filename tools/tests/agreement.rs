//! Accuracy against redis-benchmark on the same redis-server.
//!
//! Two measurements, two stated tolerances:
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

#[test]
fn server_bound_throughput_and_median_agree_within_25_percent() {
    let server = ServerBuilder::redis()
        .directive("enable-debug-command", "yes")
        .start();
    let port = server.port().to_string();
    let args = [
        "-p", &port, "-c", "2", "-n", "300", "--csv", "debug", "sleep", "0.002",
    ];
    let theirs = redis_benchmark(&args);
    let ours = csv(&ok(&args, LIMIT));
    let (t, o) = (&theirs[0], &ours[0]);
    assert_eq!(o.num("errors"), 0.0);
    assert!(
        within(o.num("rps"), t.num("rps"), 1.25),
        "rps: ours {o:?} theirs {t:?}"
    );
    assert!(
        within(o.num("p50_latency_ms"), t.num("p50_latency_ms"), 1.25),
        "p50: ours {o:?} theirs {t:?}"
    );
    // Both wait ~2 ms per request, queued behind the other client's request.
    assert!(o.num("p50_latency_ms") >= 2.0, "{o:?}");
}

#[test]
fn set_get_agree_within_a_factor_of_3() {
    let server = ServerBuilder::redis().start();
    let port = server.port().to_string();
    let args = [
        "-p", &port, "-c", "50", "-n", "50000", "-P", "1", "-r", "100000", "-t", "set,get", "--csv",
    ];
    let theirs = redis_benchmark(&args);
    let ours = csv(&ok(&args, LIMIT));
    assert_eq!(theirs.len(), 2);
    assert_eq!(ours.len(), 2);
    for (t, o) in theirs.iter().zip(&ours) {
        assert_eq!(t.test, o.test);
        assert_eq!(o.num("errors"), 0.0);
        assert!(
            within(o.num("rps"), t.num("rps"), 3.0),
            "rps: ours {o:?} theirs {t:?}"
        );
        let (op50, tp50) = (o.num("p50_latency_ms"), t.num("p50_latency_ms"));
        assert!(within(op50, tp50, 3.0), "p50: ours {o:?} theirs {t:?}");
    }
}
