//! shoal-exporter against a live redis-server: fixed targets, multi-target
//! `/scrape`, config-file targets with labels, AUTH, content negotiation.

mod common;

use common::{find, http_get, http_get_accept, parse_exposition, Exporter};
use testkit::{Server, ServerBuilder};

fn load(server: &Server, n: usize) {
    let mut c = server.client();
    let cmds: Vec<Vec<String>> = (0..n)
        .map(|i| vec!["SET".into(), format!("key:{i}"), "v".into()])
        .collect();
    c.pipeline(cmds).expect("pipeline");
    for i in 0..10 {
        c.call(["GET", &format!("key:{i}")]).expect("get");
    }
    c.call(["GET", "missing"]).expect("get");
    c.call(["SET", "ttl", "v", "EX", "1000"]).expect("set ex");
}

#[test]
fn fixed_target_reports_load_replication_and_histograms() {
    let primary = Server::redis();
    let replica = ServerBuilder::redis()
        .arg("--replicaof")
        .arg("127.0.0.1")
        .arg(primary.port().to_string())
        .start();
    load(&primary, 500);
    let linked = common::wait_for(std::time::Duration::from_secs(10), || {
        let mut c = replica.client();
        let info = c.call(["INFO", "replication"]).ok()?.as_text()?;
        info.contains("master_link_status:up").then_some(())
    });
    assert!(linked.is_some(), "replica did not link");
    let ex = Exporter::start(&["--redis.addr", &primary.addr()]);
    let s = ex.samples("/metrics");
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(1.0));
    let sets = find(&s, "redis_commands_total", &[("cmd", "set")])
        .map(|x| x.value)
        .unwrap_or(0.0);
    assert!(sets >= 501.0, "set calls {sets}");
    // 500 key:N plus "ttl".
    assert_eq!(
        find(&s, "redis_db_keys", &[("db", "db0")]).map(|x| x.value),
        Some(501.0)
    );
    assert_eq!(
        find(&s, "redis_db_keys_expiring", &[("db", "db0")]).map(|x| x.value),
        Some(1.0)
    );
    assert!(find(&s, "redis_keyspace_misses_total", &[]).is_some_and(|x| x.value >= 1.0));
    assert_eq!(
        find(&s, "redis_connected_slaves", &[]).map(|x| x.value),
        Some(1.0)
    );
    let port = replica.port().to_string();
    assert!(find(
        &s,
        "redis_connected_slave_offset_bytes",
        &[("slave_port", &port), ("slave_ip", "127.0.0.1")]
    )
    .is_some());
    let bucket_inf = find(
        &s,
        "redis_commands_latencies_usec_bucket",
        &[("cmd", "set"), ("le", "+Inf")],
    )
    .map(|x| x.value);
    let count = find(&s, "redis_commands_latencies_usec_count", &[("cmd", "set")]).map(|x| x.value);
    assert_eq!(bucket_inf, count);
    assert!(count.unwrap_or(0.0) >= 501.0);
    assert!(find(&s, "redis_exporter_last_scrape_error", &[("err", "")])
        .is_some_and(|x| x.value == 0.0));

    // The replica, scraped through /scrape on the same exporter.
    let r = ex.samples(&format!("/scrape?target={}", replica.addr()));
    let pport = primary.port().to_string();
    let link = find(
        &r,
        "redis_master_link_up",
        &[("master_host", "127.0.0.1"), ("master_port", &pport)],
    );
    assert_eq!(link.map(|x| x.value), Some(1.0));
    assert!(find(&r, "redis_slave_info", &[("read_only", "1")]).is_some());
}

#[test]
fn multi_target_mode_and_bad_scrape_requests() {
    let a = Server::redis();
    let ex = Exporter::start(&["--redis.addr", ""]);
    // /metrics has only exporter series without a fixed target.
    let m = ex.samples("/metrics");
    assert!(find(&m, "redis_up", &[]).is_none());
    assert!(find(&m, "redis_exporter_scrapes_total", &[]).is_some());
    let s = ex.samples(&format!("/scrape?target=redis://{}", a.addr()));
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(1.0));
    let (status, body) = http_get(&ex.url("/scrape")).expect("http");
    assert_eq!(status, 400, "{body}");
    let (status, body) = http_get(&ex.url("/scrape?target=rediss://x:1")).expect("http");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("TLS"), "{body}");
    let m = ex.samples("/metrics");
    assert_eq!(
        find(&m, "redis_target_scrape_request_errors_total", &[]).map(|x| x.value),
        Some(2.0)
    );
    let (status, _) = http_get(&ex.url("/nope")).expect("http");
    assert_eq!(status, 404);
}

#[test]
fn config_file_targets_get_their_labels_and_a_target_label() {
    let a = Server::redis();
    let b = Server::redis();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("exporter.toml");
    let text = format!(
        "connection_timeout = \"5s\"\n[[targets]]\naddr = \"redis://{}\"\nlabels = {{ role = \"primary\", env = \"test\" }}\n\
         [[targets]]\naddr = \"{}\"\nlabels = {{ role = \"replica\" }}\n",
        a.addr(),
        b.addr()
    );
    std::fs::write(&cfg, text).expect("write config");
    let ex = Exporter::start(&["--config", cfg.to_str().unwrap_or_default()]);
    let s = ex.samples("/metrics");
    let ta = format!("redis://{}", a.addr());
    let up_a = find(
        &s,
        "redis_up",
        &[("target", &ta), ("role", "primary"), ("env", "test")],
    );
    let up_b = find(
        &s,
        "redis_up",
        &[("target", &b.addr()), ("role", "replica")],
    );
    assert_eq!(up_a.map(|x| x.value), Some(1.0), "{s:?}");
    assert_eq!(up_b.map(|x| x.value), Some(1.0));
    // Per-target labels reach every series of that target, not the other's.
    assert!(s
        .iter()
        .filter(|x| x.label("target") == Some(b.addr().as_str()))
        .all(|x| x.label("env").is_none()));
    // Exporter-level series are per target too.
    assert!(find(&s, "redis_exporter_scrape_errors_total", &[("target", &ta)]).is_some());
}

#[test]
fn auth_with_password_user_and_wrong_password() {
    // testkit's readiness PING has no password: wait here with AUTH instead.
    let srv = ServerBuilder::redis()
        .directive("requirepass", "s3cret")
        .no_wait()
        .start();
    let ready = common::wait_for(std::time::Duration::from_secs(20), || {
        let mut c = resp::client::Client::connect(srv.addr()).ok()?;
        c.call(["AUTH", "s3cret"]).ok().filter(|f| !f.is_error())
    });
    assert!(
        ready.is_some(),
        "redis-server with requirepass did not start"
    );
    let ex = Exporter::start(&["--redis.addr", ""]);
    let no = ex.samples(&format!("/scrape?target={}", srv.addr()));
    assert_eq!(find(&no, "redis_up", &[]).map(|x| x.value), Some(0.0));
    let err = find(&no, "redis_exporter_last_scrape_error", &[])
        .and_then(|x| x.label("err"))
        .unwrap_or("");
    assert!(err.contains("NOAUTH"), "{err}");
    let ok = ex.samples(&format!("/scrape?target=redis://:s3cret@{}", srv.addr()));
    assert_eq!(find(&ok, "redis_up", &[]).map(|x| x.value), Some(1.0));
    let ok = ex.samples(&format!(
        "/scrape?target=redis://default:s3cret@{}",
        srv.addr()
    ));
    assert_eq!(find(&ok, "redis_up", &[]).map(|x| x.value), Some(1.0));
    let bad = ex.samples(&format!("/scrape?target=redis://:wrong@{}", srv.addr()));
    assert_eq!(find(&bad, "redis_up", &[]).map(|x| x.value), Some(0.0));
    let err = find(&bad, "redis_exporter_last_scrape_error", &[])
        .and_then(|x| x.label("err"))
        .unwrap_or("");
    assert!(err.starts_with("AUTH failed"), "{err}");
    // Password from the flag / environment applies to /scrape targets too.
    let ex2 = Exporter::start(&["--redis.addr", "", "--redis.password", "s3cret"]);
    let ok = ex2.samples(&format!("/scrape?target={}", srv.addr()));
    assert_eq!(find(&ok, "redis_up", &[]).map(|x| x.value), Some(1.0));
}

#[test]
fn openmetrics_when_asked_for() {
    let srv = Server::redis();
    let ex = Exporter::start(&["--redis.addr", &srv.addr()]);
    let (status, body) = http_get_accept(
        &ex.url("/metrics"),
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
    )
    .expect("http");
    assert_eq!(status, 200);
    assert!(body.ends_with("# EOF\n"));
    assert!(
        body.contains("# TYPE redis_commands_processed counter"),
        "{body}"
    );
    let (_, plain) = http_get(&ex.url("/metrics")).expect("http");
    assert!(!plain.contains("# EOF"));
    assert!(parse_exposition(&plain)
        .iter()
        .any(|s| s.name == "redis_commands_processed_total"));
}
