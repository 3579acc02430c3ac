//! shoal-exporter against a live shoal-server (2 shards, as testkit starts it):
//! Redis-named series, the `# Shards` per-shard series and LATENCY HISTOGRAM.
//! Needs `target/<profile>/shoal-server` built (scripts/test.sh builds the
//! workspace first) or `SHOAL_SERVER_BIN`. A standalone shoal-server is also
//! compared with redis_exporter (`parity::…_on_standalone_shoal_server`) and
//! run behind a real Prometheus (`prometheus::shoal_standalone_…`);
//! `parity::…_on_shoal_server` and `prometheus::shoal_stack_…` stay ignored
//! until the engine supports replication (they start a replica and a sentinel).

mod common;

use common::{find, Exporter, Sample};
use testkit::ServerBuilder;

fn sum(s: &[Sample], name: &str) -> f64 {
    s.iter().filter(|x| x.name == name).map(|x| x.value).sum()
}

#[test]
fn shoal_server_redis_names_shard_series_and_histograms() {
    let srv = ServerBuilder::shoal().start();
    let mut c = srv.client();
    // Keys spread over both shards, some commands crossing shards.
    let cmds: Vec<Vec<String>> = (0..400)
        .map(|i| vec!["SET".into(), format!("key:{i}"), "v".into()])
        .collect();
    c.pipeline(cmds).expect("load");
    c.call(["MGET", "key:1", "key:2", "key:3", "key:4"])
        .expect("mget");
    let ex = Exporter::start(&["--redis.addr", &srv.addr()]);
    let s = ex.samples("/metrics");
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(1.0));
    assert!(find(&s, "redis_instance_info", &[("role", "master")]).is_some());
    assert_eq!(
        find(&s, "redis_db_keys", &[("db", "db0")]).map(|x| x.value),
        Some(400.0)
    );
    // The # Shards section: 2 shards whose keys add up to the keyspace.
    assert_eq!(find(&s, "redis_shards", &[]).map(|x| x.value), Some(2.0));
    for shard in ["0", "1"] {
        for name in [
            "redis_shard_keys",
            "redis_shard_commands_total",
            "redis_shard_hops_in_total",
            "redis_shard_hops_out_total",
            "redis_shard_memory_used_bytes",
        ] {
            assert!(
                find(&s, name, &[("shard", shard)]).is_some(),
                "{name}{{shard={shard}}} missing"
            );
        }
    }
    assert_eq!(sum(&s, "redis_shard_keys"), 400.0);
    assert!(sum(&s, "redis_shard_commands_total") >= 400.0);
    assert!(
        sum(&s, "redis_shard_hops_out_total") > 0.0,
        "MGET over both shards should hop"
    );
    // LATENCY HISTOGRAM in Redis 7's format.
    let count = find(&s, "redis_commands_latencies_usec_count", &[("cmd", "set")]).map(|x| x.value);
    assert!(count.unwrap_or(0.0) >= 400.0, "{count:?}");
    let inf = find(
        &s,
        "redis_commands_latencies_usec_bucket",
        &[("cmd", "set"), ("le", "+Inf")],
    )
    .map(|x| x.value);
    assert_eq!(inf, count);
    // INFO latencystats and commandstats as redis_exporter reads them.
    assert!(find(
        &s,
        "redis_latency_percentiles_usec",
        &[("cmd", "set"), ("quantile", "99")]
    )
    .is_some());
    assert!(find(&s, "redis_commands_total", &[("cmd", "set")]).is_some_and(|x| x.value >= 400.0));
}
