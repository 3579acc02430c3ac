//! Sentinel targets: INFO `# Sentinel` and the SENTINEL queries.
//!
//! Names and labels are redis_exporter's: `redis_sentinel_masters`,
//! `_tilt`, `_running_scripts`, `_scripts_queue_length`,
//! `_simulate_failure_flags`; per master from the `masterN:` INFO lines
//! `redis_sentinel_master_status{master_name,master_address,master_status}`,
//! `_master_slaves`, `_master_sentinels`; from `SENTINEL MASTERS` and friends
//! `_master_ckquorum_status{master_name,message}`, `_master_setting_*`,
//! `_master_config_epoch` (it grows by one per failover: `changes()` over its
//! per-master max counts failovers; the series itself moves with `master_address`), `_master_last_ok_ping_reply_seconds`, `_master_ok_slaves`,
//! `_master_ok_sentinels`. Added here: `redis_sentinel_master_failover_in_progress`
//! (1 while the master's flags contain `failover_in_progress`).

use super::{pairs, text, Replies};
use crate::info::{kv_get, kv_list, parse_number, Info};
use crate::model::{labels, MetricSet};
use resp::Frame;

fn is_down(flags: &str) -> bool {
    flags
        .split(',')
        .any(|f| f == "s_down" || f == "o_down" || f == "disconnected")
}

/// Sentinel metrics (nothing when the target is not a sentinel).
pub fn collect(m: &mut MetricSet, info: &Info, r: &Replies) {
    let Some(s) = info.section("Sentinel") else {
        return;
    };
    for (k, v) in &s.fields {
        match k.as_str() {
            "sentinel_masters"
            | "sentinel_tilt"
            | "sentinel_running_scripts"
            | "sentinel_scripts_queue_length"
            | "sentinel_simulate_failure_flags" => {
                if let Some(x) = parse_number(v) {
                    m.gauge(k, &format!("INFO field {k}"), vec![], x);
                }
            }
            _ if k.starts_with("master")
                && k.get(6..)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
            {
                let kv = kv_list(v);
                let name = kv_get(&kv, "name").unwrap_or("");
                let status = kv_get(&kv, "status").unwrap_or("");
                let addr = kv_get(&kv, "address").unwrap_or("");
                let (Some(slaves), Some(sentinels)) = (
                    kv_get(&kv, "slaves").and_then(parse_number),
                    kv_get(&kv, "sentinels").and_then(parse_number),
                ) else {
                    continue;
                };
                let ok = if status == "ok" { 1.0 } else { 0.0 };
                m.gauge(
                    "sentinel_master_status",
                    "Master status on Sentinel (1 = ok)",
                    labels(&[
                        ("master_name", name),
                        ("master_address", addr),
                        ("master_status", status),
                    ]),
                    ok,
                );
                let l = labels(&[("master_name", name), ("master_address", addr)]);
                m.gauge(
                    "sentinel_master_slaves",
                    "The number of slaves of the master",
                    l.clone(),
                    slaves,
                );
                m.gauge(
                    "sentinel_master_sentinels",
                    "The number of sentinels monitoring this master",
                    l,
                    sentinels,
                );
            }
            _ => {}
        }
    }
    let Some(masters) = &r.sentinel_masters else {
        return;
    };
    for master in masters.as_array().unwrap_or(&[]) {
        let d: Vec<(String, String)> = pairs(master)
            .into_iter()
            .filter_map(|(k, v)| Some((k, text(v)?)))
            .collect();
        let get = |k: &str| d.iter().find(|(dk, _)| dk == k).map(|(_, v)| v.as_str());
        let (Some(name), Some(ip), Some(port)) = (get("name"), get("ip"), get("port")) else {
            continue;
        };
        let addr = format!("{ip}:{port}");
        let l = labels(&[("master_name", name), ("master_address", &addr)]);
        let num = |k: &str| get(k).and_then(parse_number).unwrap_or(0.0);
        for (field, metric, h) in [
            (
                "quorum",
                "sentinel_master_setting_ckquorum",
                "Configured quorum",
            ),
            (
                "failover-timeout",
                "sentinel_master_setting_failover_timeout",
                "Configured failover timeout (ms)",
            ),
            (
                "parallel-syncs",
                "sentinel_master_setting_parallel_syncs",
                "Configured parallel syncs",
            ),
            (
                "down-after-milliseconds",
                "sentinel_master_setting_down_after_milliseconds",
                "Configured down-after-milliseconds",
            ),
            (
                "config-epoch",
                "sentinel_master_config_epoch",
                "Config epoch of the master (grows by one per failover)",
            ),
        ] {
            m.gauge(metric, h, l.clone(), num(field));
        }
        m.gauge(
            "sentinel_master_last_ok_ping_reply_seconds",
            "Seconds since the master last answered a PING correctly",
            l.clone(),
            num("last-ok-ping-reply") / 1000.0,
        );
        let failing =
            get("flags").is_some_and(|f| f.split(',').any(|x| x == "failover_in_progress"));
        m.gauge(
            "sentinel_master_failover_in_progress",
            "1 while a failover of this master is in progress",
            l.clone(),
            if failing { 1.0 } else { 0.0 },
        );
        let Some((_, ck, sentinels, slaves)) = r.sentinel_details.iter().find(|(n, ..)| n == name)
        else {
            continue;
        };
        let (status, message) = match ck {
            Frame::Error(e) => (0.0, String::from_utf8_lossy(e).into_owned()),
            other => (1.0, text(other).unwrap_or_default()),
        };
        m.gauge(
            "sentinel_master_ckquorum_status",
            "1 when SENTINEL CKQUORUM succeeds, with its message",
            labels(&[("master_name", name), ("message", &message)]),
            status,
        );
        let ok = |f: &Frame| {
            f.as_array()
                .unwrap_or(&[])
                .iter()
                .filter(|e| {
                    pairs(e)
                        .iter()
                        .any(|(k, v)| k == "flags" && text(v).is_some_and(|fl| !is_down(&fl)))
                })
                .count() as f64
        };
        // This sentinel counts itself: SENTINEL SENTINELS lists only the others.
        m.gauge(
            "sentinel_master_ok_sentinels",
            "The number of okay sentinels monitoring this master",
            l.clone(),
            ok(sentinels) + 1.0,
        );
        m.gauge(
            "sentinel_master_ok_slaves",
            "The number of okay slaves of the master",
            l,
            ok(slaves),
        );
    }
}
