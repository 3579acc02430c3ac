//! Golden INFO fixtures → expected samples.
//!
//! The fixtures under `tests/fixtures/` are real replies of redis-server and
//! redis-sentinel 7.0.15 (captured by `fixtures/capture.sh`: INFO ALL as text,
//! the other commands as raw RESP bytes decoded with the workspace codec),
//! plus `shoal-shards.info`, written by hand from the engine's INFO contract.
//! Each `*.expected` file lists samples written by hand from its fixture; the
//! test runs the collector on the replies, encodes the result in the
//! Prometheus text format and checks every expected sample is there with that
//! value. It also checks that no series is emitted twice and that the
//! OpenMetrics encoding carries the same sample names.

mod common;

use common::{parse_exposition, Sample};
use resp::decode::decode;
use resp::Frame;
use shoal_exporter::collect::{metrics_from, Replies};
use shoal_exporter::expo::{encode, Format};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn resp_frame(name: &str) -> Frame {
    let bytes = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (f, used) = decode(&bytes).expect("valid RESP").expect("complete frame");
    assert_eq!(used, bytes.len(), "{name}: one frame, nothing after it");
    f
}

/// (partial?, sample) from an expected line.
fn expected(name: &str) -> Vec<(bool, Sample)> {
    text(name)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (partial, l) = match l.strip_prefix('~') {
                Some(rest) => (true, rest),
                None => (false, l),
            };
            let s = parse_exposition(l)
                .pop()
                .unwrap_or_else(|| panic!("bad expected line {l:?}"));
            (partial, s)
        })
        .collect()
}

fn check(replies: &Replies, expected_file: &str) -> Vec<Sample> {
    let set = metrics_from(replies, "redis");
    let body = encode(&set, Format::PrometheusText);
    let got = parse_exposition(&body);
    let mut missing = Vec::new();
    for (partial, want) in expected(expected_file) {
        let hit = got.iter().any(|g| {
            let labels_ok = if partial {
                want.labels.iter().all(|(k, v)| g.labels.get(k) == Some(v))
            } else {
                g.labels == want.labels
            };
            let same = (g.value - want.value).abs() <= 1e-9 * want.value.abs().max(1.0);
            g.name == want.name && labels_ok && same
        });
        if !hit {
            let near: Vec<String> = got
                .iter()
                .filter(|g| g.name == want.name)
                .map(|g| format!("{:?} {}", g.labels, g.value))
                .collect();
            missing.push(format!(
                "{} {:?} {} (got: {near:?})",
                want.name, want.labels, want.value
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "{expected_file}: missing or different samples:\n{}",
        missing.join("\n")
    );
    // No series twice.
    let mut seen = BTreeSet::new();
    for s in &got {
        let key = (s.name.clone(), s.labels.clone());
        assert!(
            seen.insert(key),
            "duplicate series {} {:?}",
            s.name,
            s.labels
        );
    }
    // OpenMetrics: the same sample names (its numbers print differently).
    let om = encode(&set, Format::OpenMetrics);
    assert!(om.ends_with("# EOF\n"));
    let om_names: BTreeSet<String> = om
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_string))
        .collect();
    let names: BTreeSet<String> = got.iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        om_names, names,
        "OpenMetrics and text formats expose different sample names"
    );
    got
}

#[test]
fn redis_primary_with_replica_latency_slowlog_and_config() {
    let replies = Replies {
        info: text("redis-7.0.15-primary.info"),
        config: Some(resp_frame("redis-7.0.15-primary.config.resp")),
        latency_latest: Some(resp_frame("redis-7.0.15-primary.latency-latest.resp")),
        latency_histogram: Some(resp_frame("redis-7.0.15-primary.latency-histogram.resp")),
        slowlog_len: Some(resp_frame("redis-7.0.15-primary.slowlog-len.resp")),
        slowlog_get: Some(resp_frame("redis-7.0.15-primary.slowlog-get.resp")),
        ..Replies::default()
    };
    let got = check(&replies, "redis-7.0.15-primary.expected");
    // Every DB 0..databases-1 is present (dashboards rely on the zeros).
    let dbs: BTreeSet<&str> = got
        .iter()
        .filter(|s| s.name == "redis_db_keys")
        .filter_map(|s| s.label("db"))
        .collect();
    assert_eq!(dbs.len(), 16, "{dbs:?}");
    // Histogram buckets are cumulative and end at the call count.
    let mut per_cmd: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in got
        .iter()
        .filter(|s| s.name == "redis_commands_latencies_usec_bucket")
    {
        per_cmd
            .entry(s.label("cmd").unwrap_or(""))
            .or_default()
            .push(s.value);
    }
    assert!(per_cmd.len() >= 5, "{per_cmd:?}");
    for (cmd, counts) in per_cmd {
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{cmd}: {counts:?}");
    }
}

#[test]
fn redis_replica() {
    check(
        &Replies {
            info: text("redis-7.0.15-replica.info"),
            ..Replies::default()
        },
        "redis-7.0.15-replica.expected",
    );
}

#[test]
fn redis_sentinel() {
    let got = check(
        &Replies {
            info: text("redis-sentinel-7.0.15.info"),
            ..Replies::default()
        },
        "redis-sentinel-7.0.15.expected",
    );
    // A sentinel has no keyspace and no memory section: no such series are invented.
    assert!(!got.iter().any(|s| s.name == "redis_memory_used_bytes"));
}

#[test]
fn shoal_shards_section() {
    let got = check(
        &Replies {
            info: text("shoal-shards.info"),
            ..Replies::default()
        },
        "shoal-shards.expected",
    );
    let shards: BTreeSet<&str> = got
        .iter()
        .filter(|s| s.name.starts_with("redis_shard_"))
        .filter_map(|s| s.label("shard"))
        .collect();
    assert_eq!(shards, BTreeSet::from(["0", "1"]));
}

#[test]
fn redis_info_has_no_shard_series() {
    let set = metrics_from(
        &Replies {
            info: text("redis-7.0.15-primary.info"),
            ..Replies::default()
        },
        "redis",
    );
    assert!(set
        .families()
        .iter()
        .all(|f| !f.name.starts_with("redis_shard")));
}

#[test]
fn garbage_replies_yield_no_panic_and_few_series() {
    let replies = Replies {
        info:
            "\u{0}\u{7f}garbage\r\n# Keyspace\r\ndb0:keys=abc\r\ndbx:keys=1\r\nslave0:nonsense\r\n"
                .into(),
        config: Some(Frame::Integer(3)),
        latency_latest: Some(Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![])])),
        latency_histogram: Some(Frame::bulk("not an array")),
        slowlog_len: Some(Frame::bulk("x")),
        slowlog_get: Some(Frame::Array(vec![Frame::Null])),
        cluster_info: Some("cluster_state:maybe\r\n".into()),
        sentinel_masters: Some(Frame::Array(vec![Frame::Integer(5)])),
        sentinel_details: vec![],
    };
    let set = metrics_from(&replies, "redis");
    let body = encode(&set, Format::PrometheusText);
    let got = parse_exposition(&body);
    // db0 with unparsable keys counts as 0; dbx is not a database.
    assert_eq!(
        common::find(&got, "redis_db_keys", &[("db", "db0")]).map(|s| s.value),
        Some(0.0)
    );
    assert!(common::find(&got, "redis_db_keys", &[("db", "dbx")]).is_none());
    assert!(!got
        .iter()
        .any(|s| s.name.starts_with("redis_commands_latencies")));
}
