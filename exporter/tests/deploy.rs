//! deploy/: promtool checks, the alert rules' unit tests, the compose file
//! (parses, every file it mounts or builds from exists, services wired to the
//! provisioning), the Grafana provisioning and dashboard structure, and the
//! local launcher script starting and stopping a real stack.

mod common;

use common::{find, repo, require, wait_for};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use yaml_rust2::{Yaml, YamlLoader};

fn run(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.remove(0)
}

fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn promtool_checks_config_rules_and_rule_unit_tests() {
    require("promtool");
    let dir = repo().join("deploy/prometheus");
    let (ok, out) = run("promtool", &["check", "config", "prometheus.yml"], &dir);
    assert!(ok, "promtool check config:\n{out}");
    assert!(out.contains("SUCCESS: 1 rule files found"), "{out}");
    let (ok, out) = run(
        "promtool",
        &["check", "rules", "rules/shoal-alerts.yml"],
        &dir,
    );
    assert!(ok, "promtool check rules:\n{out}");
    let (ok, out) = run(
        "promtool",
        &["test", "rules", "tests/shoal-alerts.test.yml"],
        &dir,
    );
    assert!(ok, "promtool test rules:\n{out}");
    // Every alert has a unit test case.
    let rules = yaml("deploy/prometheus/rules/shoal-alerts.yml");
    let tests =
        std::fs::read_to_string(dir.join("tests/shoal-alerts.test.yml")).expect("tests file");
    for g in rules["groups"].as_vec().expect("groups") {
        for r in g["rules"].as_vec().expect("rules") {
            let name = r["alert"].as_str().expect("alert name");
            assert!(
                tests.contains(&format!("alertname: {name}\n")),
                "{name} has no promtool test case"
            );
            let sev = r["labels"]["severity"].as_str().unwrap_or("");
            assert!(
                sev == "warning" || sev == "critical",
                "{name}: severity {sev:?}"
            );
        }
    }
}

#[test]
fn seed_alerts_are_present_with_their_severities() {
    let rules = yaml("deploy/prometheus/rules/shoal-alerts.yml");
    let mut found = Vec::new();
    for g in rules["groups"].as_vec().expect("groups") {
        for r in g["rules"].as_vec().expect("rules") {
            found.push((
                r["alert"].as_str().unwrap_or("").to_string(),
                r["expr"].as_str().unwrap_or("").to_string(),
                r["labels"]["severity"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    let get = |n: &str| {
        found
            .iter()
            .find(|(a, ..)| a == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    // Seed 002: replication lag > 5 s warning, replica down and primary down critical.
    assert!(
        get("ShoalReplicationLag").1.contains("> 5") && get("ShoalReplicationLag").2 == "warning"
    );
    assert_eq!(get("ShoalReplicaDown").2, "critical");
    assert_eq!(get("ShoalPrimaryDown").2, "critical");
    for n in [
        "ShoalMemoryNearMaxmemory",
        "ShoalRejectedConnections",
        "ShoalEvictions",
        "ShoalRdbSaveFailed",
        "ShoalAofWriteFailed",
        "ShoalCommandLatencyP99High",
    ] {
        get(n);
    }
}

#[test]
fn compose_file_parses_and_references_existing_files() {
    let deploy = repo().join("deploy");
    let c = yaml("deploy/docker-compose.monitoring.yml");
    let services = c["services"].as_hash().expect("services");
    let names: BTreeSet<&str> = services.keys().filter_map(Yaml::as_str).collect();
    for s in [
        "shoal-primary",
        "shoal-replica",
        "shoal-exporter",
        "prometheus",
        "grafana",
    ] {
        assert!(names.contains(s), "service {s} missing: {names:?}");
    }
    let named_volumes: BTreeSet<&str> = c["volumes"]
        .as_hash()
        .map(|h| h.keys().filter_map(Yaml::as_str).collect())
        .unwrap_or_default();
    let mut mounts = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap_or("");
        if let Some(b) = svc["build"].as_hash() {
            let ctx = deploy.join(
                b[&Yaml::String("context".into())]
                    .as_str()
                    .expect("context"),
            );
            let df = b[&Yaml::String("dockerfile".into())]
                .as_str()
                .expect("dockerfile");
            assert!(ctx.join(df).is_file(), "{name}: dockerfile {df} missing");
        }
        for dep in svc["depends_on"].as_vec().into_iter().flatten() {
            assert!(
                names.contains(dep.as_str().unwrap_or("")),
                "{name} depends on unknown {dep:?}"
            );
        }
        for v in svc["volumes"].as_vec().into_iter().flatten() {
            let spec = v.as_str().expect("short volume syntax");
            let mut parts = spec.split(':');
            let (src, dst) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if src.starts_with('.') {
                assert!(
                    deploy.join(src).exists(),
                    "{name}: mounted {src} does not exist"
                );
                mounts.push((name.to_string(), src.to_string(), dst.to_string()));
            } else {
                assert!(
                    named_volumes.contains(src),
                    "{name}: volume {src} not declared"
                );
            }
        }
    }
    let mounted = |svc: &str, dst: &str| mounts.iter().any(|(s, _, d)| s == svc && d == dst);
    // Prometheus gets its config, rules and targets where prometheus.yml expects them.
    assert!(mounted("prometheus", "/etc/prometheus/prometheus.yml"));
    assert!(mounted("prometheus", "/etc/prometheus/rules"));
    assert!(mounted("prometheus", "/etc/prometheus/targets"));
    // Grafana gets the provisioning and the dashboards at the path the provider reads.
    let provider = yaml("deploy/grafana/provisioning/dashboards/shoal.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("provider path")
        .to_string();
    assert!(
        mounted("grafana", &path),
        "dashboards not mounted at {path}"
    );
    assert!(mounted("grafana", "/etc/grafana/provisioning/datasources"));
    assert!(mounted("grafana", "/etc/grafana/provisioning/dashboards"));
    // The exporter's config file is mounted where its command reads it, and parses.
    let cmd: Vec<&str> = services[&Yaml::String("shoal-exporter".into())]["command"]
        .as_vec()
        .expect("exporter command")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let cfg = cmd
        .iter()
        .skip_while(|a| **a != "--config")
        .nth(1)
        .expect("--config");
    assert!(mounted("shoal-exporter", cfg));
    let out = Command::new(env!("CARGO_BIN_EXE_shoal-exporter"))
        .args([
            "--config",
            repo()
                .join("deploy/exporter/shoal-exporter.toml")
                .to_str()
                .unwrap_or_default(),
            "--web.listen-address",
            "256.0.0.1:1",
        ])
        .output()
        .expect("run exporter");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on 256.0.0.1:1"),
        "config file should parse, then fail on the address: {err}"
    );
    // Prometheus in compose scrapes the exporter service by the name compose gives it.
    let prom =
        std::fs::read_to_string(deploy.join("prometheus/prometheus.yml")).expect("prometheus.yml");
    assert!(prom.contains("shoal-exporter:9121"));
    let targets = yaml("deploy/prometheus/targets/shoal.yml");
    for t in targets.as_vec().expect("target groups") {
        let addr = t["targets"][0].as_str().expect("target");
        let host = addr
            .trim_start_matches("redis://")
            .split(':')
            .next()
            .unwrap_or("");
        assert!(
            names.contains(host),
            "target {addr} is not a compose service"
        );
        assert!(
            t["labels"]["role"].as_str().is_some(),
            "{addr}: no role label"
        );
    }
}

#[test]
fn dashboard_structure_and_provisioning() {
    let d = json("deploy/grafana/dashboards/shoal-overview.json");
    let ds = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let uid = ds["datasources"][0]["uid"]
        .as_str()
        .expect("datasource uid");
    assert_eq!(d["uid"], "shoal-overview");
    let vars: BTreeSet<String> = d["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    let panels = d["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut titles = Vec::new();
    for p in panels {
        let id = p["id"].as_u64().expect("panel id");
        assert!(ids.insert(id), "duplicate panel id {id}");
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().expect("x"), g["w"].as_u64().expect("w"));
        assert!(
            x + w <= 24 && w > 0 && g["h"].as_u64().unwrap_or(0) > 0,
            "bad gridPos {g}"
        );
        if p["type"] == "row" {
            continue;
        }
        titles.push(p["title"].as_str().unwrap_or("").to_string());
        assert_eq!(p["datasource"]["uid"], uid, "panel {id} datasource");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {id} has no query");
        for t in targets {
            let expr = t["expr"].as_str().expect("expr");
            assert!(!expr.is_empty());
            for part in expr.split('$').skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    vars.contains(&name) || name.starts_with("__"),
                    "panel {id}: ${name} not defined"
                );
            }
        }
    }
    // The seed-004 panels and the additions.
    for want in [
        "Commands/s",
        "CPU seconds per second",
        "Memory",
        "Connected / blocked clients",
        "Keys per DB",
        "Network I/O",
        "Hit rate (5m)",
        "p50 / p99 / p99.9 by command",
        "Latency heatmap",
        "Replication offsets",
        "Replication lag",
        "Masters seen by sentinels",
        "Commands/s per shard",
        "Keys per shard",
    ] {
        assert!(
            titles.iter().any(|t| t == want),
            "panel {want:?} missing: {titles:?}"
        );
    }
    // The committed JSON is what the generator writes.
    require("python3");
    let (ok, out) = run(
        "python3",
        &["deploy/grafana/gen_dashboard.py", "--stdout"],
        &repo(),
    );
    assert!(ok, "{out}");
    let generated: serde_json::Value = serde_json::from_str(&out).expect("generator JSON");
    assert_eq!(
        generated, d,
        "dashboard JSON is stale: run deploy/grafana/gen_dashboard.py"
    );
}

#[test]
fn local_launcher_starts_and_stops_the_stack() {
    require("prometheus");
    require("redis-sentinel");
    let run_dir = tempfile::tempdir().expect("tempdir");
    let ports: Vec<String> = (0..5).map(|_| testkit::free_port().to_string()).collect();
    let script = repo().join("deploy/monitoring-local.sh");
    let env = [
        (
            "SHOAL_MON_DIR",
            run_dir.path().to_str().unwrap_or_default().to_string(),
        ),
        ("PRIMARY_PORT", ports[0].clone()),
        ("REPLICA_PORT", ports[1].clone()),
        ("SENTINEL_PORT", ports[2].clone()),
        ("EXPORTER_PORT", ports[3].clone()),
        ("PROMETHEUS_PORT", ports[4].clone()),
        (
            "SHOAL_EXPORTER_BIN",
            env!("CARGO_BIN_EXE_shoal-exporter").to_string(),
        ),
    ];
    let stop = || {
        let mut c = Command::new(&script);
        c.arg("stop").envs(env.iter().cloned());
        c.output().expect("stop")
    };
    let mut start = Command::new(&script);
    start
        .args(["start", "--redis", "--sentinel"])
        .envs(env.iter().cloned());
    let out = start.output().expect("start");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        stop();
        panic!("launcher failed:\n{text}");
    }
    let exporter = format!("http://127.0.0.1:{}", ports[3]);
    let s = common::parse_exposition(
        &common::http_get(&format!("{exporter}/scrape?target=127.0.0.1:{}", ports[0]))
            .expect("scrape")
            .1,
    );
    let up = find(&s, "redis_up", &[]).map(|x| x.value);
    let prom = format!("http://127.0.0.1:{}", ports[4]);
    let seen = wait_for(Duration::from_secs(30), || {
        let (_, body) =
            common::http_get(&format!("{prom}/api/v1/query?query=count(redis_up%3D%3D1)")).ok()?;
        body.contains("\"3\"").then_some(())
    });
    let out = stop();
    let stopped = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        up,
        Some(1.0),
        "launcher's exporter cannot scrape its primary:\n{text}"
    );
    assert!(
        seen.is_some(),
        "launcher's Prometheus does not see primary, replica and sentinel up"
    );
    assert!(stopped.contains("stopped"), "{stopped}");
    let left: Vec<_> = std::fs::read_dir(run_dir.path())
        .expect("run dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .collect();
    assert!(left.is_empty(), "pid files left: {left:?}");
    assert!(
        common::http_get(&format!("{exporter}/health")).is_err(),
        "exporter still running after stop"
    );
}
