//! shoal-server's per-shard series, from its INFO `# Shards` section.
//!
//! The contract (engine side, issue 2): `shards:<N>` and one line per shard,
//! `shard<i>:keys=..,expires=..,commands=..,hops_in=..,hops_out=..,used_memory=..,connected_clients=..`.
//! Every series is labelled `shard="<i>"`:
//!
//! | field | metric | type |
//! |---|---|---|
//! | `shards` | `redis_shards` | gauge |
//! | `keys` | `redis_shard_keys` | gauge |
//! | `expires` | `redis_shard_keys_expiring` | gauge |
//! | `commands` | `redis_shard_commands_total` | counter |
//! | `hops_in` | `redis_shard_hops_in_total` | counter (commands that arrived from another shard) |
//! | `hops_out` | `redis_shard_hops_out_total` | counter (commands sent to another shard) |
//! | `used_memory` | `redis_shard_memory_used_bytes` | gauge |
//! | `connected_clients` | `redis_shard_connected_clients` | gauge |
//! | any other numeric `k` | `redis_shard_<k>` | gauge |
//!
//! redis-server has no such section, so this emits nothing for it.

use crate::info::{kv_list, parse_number, Info};
use crate::model::{labels, MetricSet};

/// Per-shard series.
pub fn collect(m: &mut MetricSet, info: &Info) {
    let Some(s) = info.section("Shards") else {
        return;
    };
    for (k, v) in &s.fields {
        if k == "shards" {
            if let Some(n) = parse_number(v) {
                m.gauge(
                    "shards",
                    "Number of shards (threads) of shoal-server",
                    vec![],
                    n,
                );
            }
            continue;
        }
        let Some(idx) = k
            .strip_prefix("shard")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let l = labels(&[("shard", idx)]);
        for (field, val) in kv_list(v) {
            let Some(x) = parse_number(val) else { continue };
            match field {
                "keys" => m.gauge("shard_keys", "Keys owned by the shard", l.clone(), x),
                "expires" => m.gauge(
                    "shard_keys_expiring",
                    "Keys with a TTL owned by the shard",
                    l.clone(),
                    x,
                ),
                "commands" => m.counter(
                    "shard_commands_total",
                    "Commands executed by the shard",
                    l.clone(),
                    x,
                ),
                "hops_in" => m.counter(
                    "shard_hops_in_total",
                    "Commands the shard ran for connections homed on another shard",
                    l.clone(),
                    x,
                ),
                "hops_out" => m.counter(
                    "shard_hops_out_total",
                    "Commands the shard's connections sent to another shard",
                    l.clone(),
                    x,
                ),
                "used_memory" => m.gauge(
                    "shard_memory_used_bytes",
                    "Memory used by the shard's keyspace",
                    l.clone(),
                    x,
                ),
                "connected_clients" => m.gauge(
                    "shard_connected_clients",
                    "Client connections homed on the shard",
                    l.clone(),
                    x,
                ),
                other
                    if other
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        && !other.is_empty() =>
                {
                    m.gauge(
                        &format!("shard_{other}"),
                        &format!("INFO Shards field {other}"),
                        l.clone(),
                        x,
                    )
                }
                _ => {}
            }
        }
    }
}
