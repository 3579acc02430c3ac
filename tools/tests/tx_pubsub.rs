//! `--preset tx` and `--preset publish` against real servers: redis-server and
//! shoal-server with 2 shards, each preset's effect checked in the server
//! (the keys a transaction wrote, the messages every subscriber read).
//!
//! shoal-server is the one in this workspace's target directory (testkit);
//! when testing only this package, build it first:
//! `cargo build --release -p shoal-engine` for `--release` test runs.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ok, report, run, validate};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use testkit::{Server, ServerBuilder};

const LIMIT: Duration = Duration::from_secs(120);

fn shoal() -> Server {
    let bin = std::env::var_os("SHOAL_SERVER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| testkit::workspace_bin("shoal-server"));
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build [--release] -p shoal-engine)",
        bin.display()
    );
    // testkit's default: 2 shards, so cross-shard transactions cross shards.
    Server::shoal()
}

/// Both servers, named.
fn servers() -> Vec<(&'static str, Server)> {
    vec![("redis", Server::redis()), ("shoal", shoal())]
}

fn keys(server: &Server) -> Vec<String> {
    let reply = server.client().call(["KEYS", "*"]).unwrap();
    reply
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_text().unwrap())
        .collect()
}

/// The hash tag of a key (`{...}`), as Redis Cluster reads it.
fn tag(key: &str) -> &str {
    let open = key.find('{').unwrap();
    let close = open + key[open..].find('}').unwrap();
    &key[open + 1..close]
}

fn run_tx(port: u16, mode: &str) -> common::Row {
    let out = ok(
        &[
            "-p",
            &port.to_string(),
            "--preset",
            "tx",
            "--tx-keys",
            mode,
            "-r",
            "40",
            "-n",
            "600",
            "-c",
            "4",
            "-d",
            "8",
            "--csv",
        ],
        LIMIT,
    );
    let rows = common::csv(&out);
    assert_eq!(rows.len(), 1, "{out}");
    rows.into_iter().next().unwrap()
}

#[test]
fn tx_one_shard_writes_three_keys_under_one_tag() {
    for (name, server) in servers() {
        let row = run_tx(server.port(), "one-shard");
        assert_eq!(row.test, "TX (MULTI, 3 SET, EXEC; keys on one shard)");
        assert_eq!(row.num("errors"), 0.0, "{name}: {row:?}");
        assert!(row.num("rps") > 0.0);
        // Every transaction wrote {tx:N}a, {tx:N}b and {tx:N}c.
        let mut by_tag: BTreeMap<String, BTreeSet<char>> = BTreeMap::new();
        for k in keys(&server) {
            assert!(k.starts_with("{tx:"), "{name}: {k}");
            let suffix = k.chars().last().unwrap();
            by_tag
                .entry(tag(&k).to_string())
                .or_default()
                .insert(suffix);
        }
        assert!(
            (10..=40).contains(&by_tag.len()),
            "{name}: {} tags",
            by_tag.len()
        );
        for (t, suffixes) in &by_tag {
            assert_eq!(
                suffixes.iter().collect::<String>(),
                "abc",
                "{name}: tag {t}"
            );
        }
        let mut c = server.client();
        let any = by_tag.keys().next().unwrap();
        let v = c.call(["GET", &format!("{{{any}}}b")]).unwrap();
        assert_eq!(v.as_text().unwrap().len(), 8, "{name}: -d 8");
    }
}

#[test]
fn tx_cross_shard_writes_keys_on_three_consecutive_slots() {
    use shoal_tools::bench::cluster::slot;
    for (name, server) in servers() {
        let row = run_tx(server.port(), "cross-shard");
        assert_eq!(
            row.test,
            "TX (MULTI, 3 SET, EXEC; keys on 3 slots, cross-shard)"
        );
        assert_eq!(row.num("errors"), 0.0, "{name}: {row:?}");
        let all = keys(&server);
        let tags: BTreeSet<&str> = all.iter().map(|k| tag(k)).collect();
        assert_eq!(tags.len(), 3, "{name}: {tags:?}");
        let mut slots: Vec<u16> = tags.iter().map(|t| slot(t.as_bytes())).collect();
        slots.sort_unstable();
        assert_eq!(
            (slots[1] - slots[0], slots[2] - slots[1]),
            (1, 1),
            "{name}: {slots:?}"
        );
        // Shoal's 2 shards own slots by parity: both are in every transaction.
        let shards: BTreeSet<u16> = slots.iter().map(|s| s % 2).collect();
        assert_eq!(shards.len(), 2);
        // Each transaction wrote the same random part under the three tags.
        let mut by_suffix: BTreeMap<&str, usize> = BTreeMap::new();
        for k in &all {
            *by_suffix.entry(k.rsplit(':').next().unwrap()).or_default() += 1;
        }
        assert!(by_suffix.values().all(|&n| n == 3), "{name}: {by_suffix:?}");
    }
}

#[test]
fn tx_that_cannot_start_counts_every_request_as_an_error() {
    // MULTI renamed away: the SETs run outside a transaction, EXEC fails.
    let server = ServerBuilder::redis()
        .arg("--rename-command")
        .arg("MULTI")
        .arg("")
        .start();
    let out = run(
        &[
            "-p",
            &server.port().to_string(),
            "--preset",
            "tx",
            "-n",
            "200",
            "-c",
            "2",
            "--csv",
        ],
        LIMIT,
    );
    assert!(out.status.success());
    let rows = common::csv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0].num("errors"), 200.0, "{rows:?}");
}

#[test]
fn publish_reaches_every_subscriber() {
    for (name, server) in servers() {
        let tmp = tempfile::tempdir().unwrap();
        let out = ok(
            &[
                "-p",
                &server.port().to_string(),
                "--preset",
                "publish",
                "--subscribers",
                "3",
                "-n",
                "3000",
                "-c",
                "4",
                "-d",
                "16",
                "--report",
                tmp.path().to_str().unwrap(),
            ],
            LIMIT,
        );
        assert!(
            out.contains("====== PUBLISH (3 subscribers) ======"),
            "{out}"
        );
        assert!(
            out.contains("subscribers: each of 3 subscribers received all 3000 messages"),
            "{name}: {out}"
        );
        validate(tmp.path());
        let r = report(tmp.path());
        let run = &r["runs"][0];
        assert_eq!(run["errors"], 0, "{name}");
        assert_eq!(run["requests"], 3000, "{name}");
        assert_eq!(run["delivery"]["expected"], 3000, "{name}");
        assert_eq!(
            run["delivery"]["received"],
            serde_json::json!([3000, 3000, 3000]),
            "{name}"
        );
        assert_eq!(run["delivery"]["failure"], serde_json::Value::Null);
        let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
        assert!(md.contains("received all 3000 messages"), "{name}: {md}");
    }
}

#[test]
fn publish_without_subscribers_has_no_delivery_to_check() {
    let server = Server::redis();
    let tmp = tempfile::tempdir().unwrap();
    ok(
        &[
            "-p",
            &server.port().to_string(),
            "--preset",
            "publish",
            "--subscribers",
            "0",
            "-n",
            "500",
            "-c",
            "2",
            "-q",
            "--report",
            tmp.path().to_str().unwrap(),
        ],
        LIMIT,
    );
    let r = report(tmp.path());
    assert_eq!(r["runs"][0]["errors"], 0);
    assert_eq!(r["runs"][0]["delivery"], serde_json::Value::Null);
    validate(tmp.path());
}

#[test]
fn subscribers_the_server_drops_are_reported_as_a_shortfall() {
    // Messages larger than Redis's 16 KiB reply buffer spill into its reply
    // list, which a 1 kB hard limit does not allow: every subscriber is closed.
    let server = ServerBuilder::redis()
        .arg("--client-output-buffer-limit")
        .arg("pubsub 1kb 0 0")
        .start();
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "-p",
            &server.port().to_string(),
            "--preset",
            "publish",
            "--subscribers",
            "2",
            "-n",
            "200",
            "-c",
            "2",
            "-d",
            "40000",
            "-q",
            "--report",
            tmp.path().to_str().unwrap(),
        ],
        LIMIT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("WARNING: PUBLISH (2 subscribers)") && stderr.contains("missing"),
        "{stderr}"
    );
    validate(tmp.path());
    let r = report(tmp.path());
    let d = &r["runs"][0]["delivery"];
    assert_eq!(d["expected"], 200);
    let received: Vec<u64> = d["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(received.iter().all(|&n| n < 200), "{received:?}");
    assert!(
        d["failure"].as_str().unwrap().contains("closed"),
        "{}",
        d["failure"]
    );
}
