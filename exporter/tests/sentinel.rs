//! Sentinel targets, live: a real redis-sentinel monitoring a real
//! redis-server primary and replica. Checks the SENTINEL-derived values and
//! that a failover shows up (config epoch, new master address, status).

mod common;

use common::{find, wait_for, Exporter};
use std::time::Duration;
use testkit::ServerBuilder;

#[test]
fn sentinel_state_and_a_failover() {
    let mut primary = ServerBuilder::redis().start();
    let replica = common::replica_of(ServerBuilder::redis(), &primary);
    let sentinel = common::sentinel_for(&primary, "m1", 10000);
    let ex = Exporter::start(&[
        "--redis.addr",
        &sentinel.addr(),
        "--connection-timeout",
        "3s",
    ]);
    let paddr = primary.addr();
    let ready = wait_for(Duration::from_secs(20), || {
        let s = ex.samples("/metrics");
        (find(
            &s,
            "redis_sentinel_master_ok_slaves",
            &[("master_name", "m1")],
        )?
        .value
            == 1.0)
            .then_some(s)
    });
    let s = ready.expect("sentinel did not discover the replica");
    let m = [("master_name", "m1"), ("master_address", paddr.as_str())];
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(1.0));
    assert_eq!(
        find(&s, "redis_sentinel_masters", &[]).map(|x| x.value),
        Some(1.0)
    );
    let status = find(&s, "redis_sentinel_master_status", &m)
        .map(|x| (x.value, x.label("master_status").map(String::from)));
    assert_eq!(status, Some((1.0, Some("ok".into()))));
    assert_eq!(
        find(&s, "redis_sentinel_master_ok_sentinels", &m).map(|x| x.value),
        Some(1.0)
    );
    assert_eq!(
        find(&s, "redis_sentinel_master_setting_ckquorum", &m).map(|x| x.value),
        Some(1.0)
    );
    assert_eq!(
        find(
            &s,
            "redis_sentinel_master_setting_down_after_milliseconds",
            &m
        )
        .map(|x| x.value),
        Some(1000.0)
    );
    assert_eq!(
        find(&s, "redis_sentinel_master_config_epoch", &m).map(|x| x.value),
        Some(0.0)
    );
    let ck = find(
        &s,
        "redis_sentinel_master_ckquorum_status",
        &[("master_name", "m1")],
    );
    assert_eq!(ck.map(|x| x.value), Some(1.0));
    assert!(ck
        .and_then(|x| x.label("message"))
        .is_some_and(|msg| msg.contains("usable Sentinels")));
    let mi = find(&s, "redis_instance_info", &[("redis_mode", "sentinel")]);
    assert!(mi.is_some());

    // Kill the primary: the sentinel fails over to the replica.
    primary.kill9();
    let raddr = replica.addr();
    let after = wait_for(Duration::from_secs(30), || {
        let s = ex.samples("/metrics");
        let epoch = find(
            &s,
            "redis_sentinel_master_config_epoch",
            &[("master_name", "m1"), ("master_address", raddr.as_str())],
        )?;
        (epoch.value >= 1.0).then_some(s)
    });
    let s = after.expect("no failover to the replica seen in the metrics");
    let st = find(
        &s,
        "redis_sentinel_master_status",
        &[("master_name", "m1"), ("master_address", raddr.as_str())],
    );
    assert!(st.is_some(), "status series follows the new master address");
}
