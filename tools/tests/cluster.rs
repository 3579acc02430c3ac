//! Cluster mode against a real 3-node redis-server cluster (made with
//! `redis-cli --cluster create`): slot-aware routing spreads keys over all
//! masters with no error, multi-key MSET stays in one slot, and a slot that
//! migrates mid-run (ASK while migrating, MOVED after) is followed with no
//! error and no lost request.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ok, report, run_program};
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::{Server, ServerBuilder};

const LIMIT: Duration = Duration::from_secs(120);

fn cluster() -> Vec<Server> {
    let nodes: Vec<Server> = (0..3)
        .map(|_| {
            ServerBuilder::redis()
                .directive("cluster-enabled", "yes")
                .directive("cluster-node-timeout", "5000")
                .start()
        })
        .collect();
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr()).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
    let out = run_program("redis-cli", &args, LIMIT);
    assert!(
        out.status.success(),
        "cluster create: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in &nodes {
        loop {
            let info = n
                .client()
                .call(["CLUSTER", "INFO"])
                .unwrap()
                .as_text()
                .unwrap();
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster not ok: {info}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    nodes
}

fn node_id(n: &Server) -> String {
    n.client()
        .call(["CLUSTER", "MYID"])
        .unwrap()
        .as_text()
        .unwrap()
}

fn dbsize(n: &Server) -> i64 {
    n.client().call(["DBSIZE"]).unwrap().as_int().unwrap()
}

#[test]
fn routes_by_slot_over_all_masters() {
    let nodes = cluster();
    let port = nodes[0].port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    ok(
        &[
            "--cluster",
            "-p",
            &port,
            "-t",
            "set,get,incr,mset",
            "-n",
            "3000",
            "-c",
            "6",
            "-P",
            "4",
            "-r",
            "100000",
            "-q",
            "--report",
            tmp.path().to_str().unwrap(),
        ],
        LIMIT,
    );
    let r = report(tmp.path());
    assert_eq!(
        r["targets"][0]["cluster_nodes"].as_array().unwrap().len(),
        3
    );
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["requests"], 3000, "{}", run["test"]);
        assert_eq!(
            run["errors"], 0,
            "{}: {}",
            run["test"], run["error_samples"]
        );
        assert_eq!(run["redirects"], 0, "a fresh slot map needs no redirect");
    }
    for n in &nodes {
        assert!(dbsize(n) > 1000, "every master got keys: {}", dbsize(n));
    }
    // MSET keys share a hash tag, so each MSET lands whole on one node.
    let mut c = nodes[0].client();
    let keys = c.call(["KEYS", "key:{*}:*"]).unwrap();
    assert!(!keys.as_array().unwrap().is_empty());
}

#[test]
fn follows_ask_and_moved_while_a_slot_migrates() {
    let nodes = cluster();
    // Keys are key:000000000000 .. key:000000000009 (-r 10); move the slot of key 7.
    let key = "key:000000000007";
    let slot = nodes[0]
        .client()
        .call(["CLUSTER", "KEYSLOT", key])
        .unwrap()
        .as_int()
        .unwrap()
        .to_string();
    // Only the owner answers GET for the key; the others reply MOVED.
    let owner = nodes
        .iter()
        .position(|n| !n.client().call(["GET", key]).unwrap().is_error())
        .unwrap();
    let (src, dst) = (&nodes[owner], &nodes[(owner + 1) % 3]);
    let seed = nodes[(owner + 2) % 3].port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_string();
    let bench = std::thread::spawn(move || {
        ok(
            &[
                "--cluster",
                "-p",
                &seed,
                "-t",
                "set",
                "-r",
                "10",
                "-c",
                "4",
                "--duration",
                "3",
                "-q",
                "--report",
                &dir,
            ],
            LIMIT,
        )
    });
    std::thread::sleep(Duration::from_millis(700));
    let (src_id, dst_id) = (node_id(src), node_id(dst));
    assert_eq!(
        dst.client()
            .call(["CLUSTER", "SETSLOT", &slot, "IMPORTING", &src_id])
            .unwrap(),
        Frame::simple("OK")
    );
    assert_eq!(
        src.client()
            .call(["CLUSTER", "SETSLOT", &slot, "MIGRATING", &dst_id])
            .unwrap(),
        Frame::simple("OK")
    );
    // While migrating: keys already moved answer ASK.
    let keys = src
        .client()
        .call(["CLUSTER", "GETKEYSINSLOT", &slot, "100"])
        .unwrap();
    let keys: Vec<String> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_text().unwrap())
        .collect();
    let (host, port) = dst
        .addr()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let mut migrate = vec![
        "MIGRATE".to_string(),
        host,
        port,
        String::new(),
        "0".into(),
        "5000".into(),
        "KEYS".into(),
    ];
    migrate.extend(keys);
    let reply = src.client().call(migrate.iter()).unwrap();
    assert!(!reply.is_error(), "{reply}");
    std::thread::sleep(Duration::from_millis(500));
    // Then the slot is dst's everywhere: the benchmark's map is stale, so MOVED.
    for n in &nodes {
        let r = n
            .client()
            .call(["CLUSTER", "SETSLOT", &slot, "NODE", &dst_id])
            .unwrap();
        assert!(!r.is_error(), "{r}");
    }
    bench.join().unwrap();
    let r = report(tmp.path());
    let run = &r["runs"][0];
    assert_eq!(run["errors"], 0, "{}", run["error_samples"]);
    assert!(run["redirects"].as_u64().unwrap() > 0, "{run}");
    assert_eq!(run["latency"]["count"], run["requests"]);
    let moved = dst
        .client()
        .call(["CLUSTER", "COUNTKEYSINSLOT", &slot])
        .unwrap();
    assert_eq!(moved, Frame::Integer(1), "the key lives on the new owner");
}
