//! INFO, CONFIG GET and CLUSTER INFO → redis_exporter's metric families.
//!
//! The tables [`GAUGES`] and [`COUNTERS`] map plain numeric INFO fields to
//! metric names exactly as redis_exporter does (names checked against
//! Debian's prometheus-redis-exporter 1.45 by `tests/parity.rs`). Fields that
//! need labels or arithmetic (keyspace, replicas, commandstats, errorstats,
//! instance info, start time) have their own functions below.

use super::{pairs, text, Replies};
use crate::info::{kv_get, kv_list, parse_number, Info};
use crate::model::{labels, MetricSet};

/// `(INFO field, metric name without namespace)` exposed as gauges.
pub const GAUGES: &[(&str, &str)] = &[
    // Server
    ("uptime_in_seconds", "uptime_in_seconds"),
    ("process_id", "process_id"),
    ("io_threads_active", "io_threads_active"),
    // Clients
    ("connected_clients", "connected_clients"),
    ("blocked_clients", "blocked_clients"),
    ("tracking_clients", "tracking_clients"),
    ("clients_in_timeout_table", "clients_in_timeout_table"),
    ("cluster_connections", "cluster_connections"),
    ("maxclients", "max_clients"),
    (
        "client_recent_max_output_buffer",
        "client_recent_max_output_buffer_bytes",
    ),
    (
        "client_recent_max_input_buffer",
        "client_recent_max_input_buffer_bytes",
    ),
    // Memory
    ("allocator_active", "allocator_active_bytes"),
    ("allocator_allocated", "allocator_allocated_bytes"),
    ("allocator_resident", "allocator_resident_bytes"),
    ("allocator_frag_ratio", "allocator_frag_ratio"),
    ("allocator_frag_bytes", "allocator_frag_bytes"),
    ("allocator_rss_ratio", "allocator_rss_ratio"),
    ("allocator_rss_bytes", "allocator_rss_bytes"),
    ("used_memory", "memory_used_bytes"),
    ("used_memory_rss", "memory_used_rss_bytes"),
    ("used_memory_peak", "memory_used_peak_bytes"),
    ("used_memory_lua", "memory_used_lua_bytes"),
    ("used_memory_overhead", "memory_used_overhead_bytes"),
    ("used_memory_startup", "memory_used_startup_bytes"),
    ("used_memory_dataset", "memory_used_dataset_bytes"),
    ("used_memory_scripts", "memory_used_scripts_bytes"),
    ("maxmemory", "memory_max_bytes"),
    ("total_system_memory", "total_system_memory_bytes"),
    ("mem_fragmentation_ratio", "mem_fragmentation_ratio"),
    ("mem_fragmentation_bytes", "mem_fragmentation_bytes"),
    ("mem_clients_slaves", "mem_clients_slaves"),
    ("mem_clients_normal", "mem_clients_normal"),
    (
        "mem_not_counted_for_evict",
        "mem_not_counted_for_eviction_bytes",
    ),
    ("lazyfree_pending_objects", "lazyfree_pending_objects"),
    ("active_defrag_running", "active_defrag_running"),
    ("number_of_cached_scripts", "number_of_cached_scripts"),
    // Persistence
    ("loading", "loading_dump_file"),
    ("rdb_changes_since_last_save", "rdb_changes_since_last_save"),
    ("rdb_bgsave_in_progress", "rdb_bgsave_in_progress"),
    ("rdb_last_save_time", "rdb_last_save_timestamp_seconds"),
    ("rdb_last_bgsave_status", "rdb_last_bgsave_status"),
    ("rdb_last_bgsave_time_sec", "rdb_last_bgsave_duration_sec"),
    (
        "rdb_current_bgsave_time_sec",
        "rdb_current_bgsave_duration_sec",
    ),
    ("rdb_last_cow_size", "rdb_last_cow_size_bytes"),
    ("aof_enabled", "aof_enabled"),
    ("aof_rewrite_in_progress", "aof_rewrite_in_progress"),
    ("aof_rewrite_scheduled", "aof_rewrite_scheduled"),
    ("aof_last_rewrite_time_sec", "aof_last_rewrite_duration_sec"),
    (
        "aof_current_rewrite_time_sec",
        "aof_current_rewrite_duration_sec",
    ),
    ("aof_last_cow_size", "aof_last_cow_size_bytes"),
    ("aof_current_size", "aof_current_size_bytes"),
    ("aof_base_size", "aof_base_size_bytes"),
    ("aof_pending_rewrite", "aof_pending_rewrite"),
    ("aof_buffer_length", "aof_buffer_length"),
    ("aof_rewrite_buffer_length", "aof_rewrite_buffer_length"),
    ("aof_pending_bio_fsync", "aof_pending_bio_fsync"),
    ("aof_delayed_fsync", "aof_delayed_fsync"),
    ("aof_last_bgrewrite_status", "aof_last_bgrewrite_status"),
    ("aof_last_write_status", "aof_last_write_status"),
    ("module_fork_in_progress", "module_fork_in_progress"),
    ("module_fork_last_cow_size", "module_fork_last_cow_size"),
    // Stats
    ("pubsub_channels", "pubsub_channels"),
    ("pubsub_patterns", "pubsub_patterns"),
    ("expired_stale_perc", "expired_stale_percentage"),
    (
        "expired_time_cap_reached_count",
        "expired_time_cap_reached_total",
    ),
    ("migrate_cached_sockets", "migrate_cached_sockets_total"),
    ("active_defrag_hits", "defrag_hits"),
    ("active_defrag_misses", "defrag_misses"),
    ("active_defrag_key_hits", "defrag_key_hits"),
    ("active_defrag_key_misses", "defrag_key_misses"),
    ("tracking_total_keys", "tracking_total_keys"),
    ("tracking_total_items", "tracking_total_items"),
    ("tracking_total_prefixes", "tracking_total_prefixes"),
    ("slave_expires_tracked_keys", "slave_expires_tracked_keys"),
    // Replication
    ("connected_slaves", "connected_slaves"),
    ("repl_backlog_size", "replication_backlog_bytes"),
    ("repl_backlog_active", "repl_backlog_is_active"),
    (
        "repl_backlog_first_byte_offset",
        "repl_backlog_first_byte_offset",
    ),
    ("repl_backlog_histlen", "repl_backlog_history_bytes"),
    ("master_repl_offset", "master_repl_offset"),
    ("second_repl_offset", "second_repl_offset"),
    ("slave_priority", "slave_priority"),
    ("sync_full", "replica_resyncs_full"),
    ("sync_partial_ok", "replica_partial_resync_accepted"),
    ("sync_partial_err", "replica_partial_resync_denied"),
    // Cluster
    ("cluster_enabled", "cluster_enabled"),
];

/// `(INFO field, metric name)` exposed as counters.
pub const COUNTERS: &[(&str, &str)] = &[
    ("total_connections_received", "connections_received_total"),
    ("total_commands_processed", "commands_processed_total"),
    ("rejected_connections", "rejected_connections_total"),
    ("total_net_input_bytes", "net_input_bytes_total"),
    ("total_net_output_bytes", "net_output_bytes_total"),
    ("total_net_repl_input_bytes", "net_repl_input_bytes_total"),
    ("total_net_repl_output_bytes", "net_repl_output_bytes_total"),
    ("expired_keys", "expired_keys_total"),
    ("evicted_keys", "evicted_keys_total"),
    ("evicted_clients", "evicted_clients_total"),
    ("keyspace_hits", "keyspace_hits_total"),
    ("keyspace_misses", "keyspace_misses_total"),
    ("used_cpu_sys", "cpu_sys_seconds_total"),
    ("used_cpu_user", "cpu_user_seconds_total"),
    ("used_cpu_sys_children", "cpu_sys_children_seconds_total"),
    ("used_cpu_user_children", "cpu_user_children_seconds_total"),
    (
        "used_cpu_sys_main_thread",
        "cpu_sys_main_thread_seconds_total",
    ),
    (
        "used_cpu_user_main_thread",
        "cpu_user_main_thread_seconds_total",
    ),
    ("dump_payload_sanitizations", "dump_payload_sanitizations"),
    ("io_threaded_reads_processed", "io_threaded_reads_processed"),
    (
        "io_threaded_writes_processed",
        "io_threaded_writes_processed",
    ),
    ("total_error_replies", "total_error_replies"),
    ("unexpected_error_replies", "unexpected_error_replies"),
    ("total_reads_processed", "total_reads_processed"),
    ("total_writes_processed", "total_writes_processed"),
];

fn help(field: &str) -> String {
    format!("INFO field {field}")
}

/// All server metrics from INFO, CONFIG GET and CLUSTER INFO.
pub fn collect(m: &mut MetricSet, info: &Info, r: &Replies) {
    for (field, name) in GAUGES {
        if let Some(v) = info.number(field) {
            m.gauge(name, &help(field), vec![], v);
        }
    }
    for (field, name) in COUNTERS {
        if let Some(v) = info.number(field) {
            m.counter(name, &help(field), vec![], v);
        }
    }
    if let Some(v) = info.number("latest_fork_usec") {
        m.gauge(
            "latest_fork_seconds",
            "Duration of the latest fork (INFO latest_fork_usec / 1e6)",
            vec![],
            v / 1e6,
        );
    }
    instance(m, info);
    let databases = config(m, r);
    let databases = if info.get("cluster_enabled") == Some("1") {
        1
    } else {
        databases
    };
    keyspace(m, info, databases);
    replication(m, info);
    commandstats(m, info);
    errorstats(m, info);
    if let Some(ci) = &r.cluster_info {
        cluster(m, ci);
    }
}

fn instance(m: &mut MetricSet, info: &Info) {
    let Some(server) = info.section("Server") else {
        return;
    };
    let get = |k: &str| {
        server
            .get(k)
            .or_else(|| info.get(k))
            .unwrap_or("")
            .to_string()
    };
    let l = vec![
        ("maxmemory_policy".to_string(), get("maxmemory_policy")),
        ("os".to_string(), get("os")),
        ("process_id".to_string(), get("process_id")),
        ("redis_build_id".to_string(), get("redis_build_id")),
        ("redis_mode".to_string(), get("redis_mode")),
        ("redis_version".to_string(), get("redis_version")),
        ("role".to_string(), get("role")),
        ("run_id".to_string(), get("run_id")),
        ("tcp_port".to_string(), get("tcp_port")),
    ];
    m.gauge(
        "instance_info",
        "Information about the instance (value 1, facts in labels)",
        l,
        1.0,
    );
    if let Some(up) = info.number("uptime_in_seconds") {
        let now = info
            .number("server_time_usec")
            .map(|us| (us / 1e6).floor())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as f64)
                    .unwrap_or(0.0)
            });
        m.gauge(
            "start_time_seconds",
            "Start time of the instance since unix epoch in seconds",
            vec![],
            now - up,
        );
    }
}

/// `redis_config_*` gauges; returns the number of databases (16 when unknown).
fn config(m: &mut MetricSet, r: &Replies) -> usize {
    let mut databases = 16;
    let Some(cfg) = &r.config else {
        return databases;
    };
    for (k, v) in pairs(cfg) {
        let Some(val) = text(v) else { continue };
        match k.as_str() {
            "databases" => databases = val.parse().unwrap_or(16).clamp(1, 4096),
            "maxmemory" | "maxclients" | "io-threads" => {
                if let Ok(x) = val.parse::<f64>() {
                    let name = format!("config_{}", k.replace('-', "_"));
                    m.gauge(&name, &format!("CONFIG {k}"), vec![], x);
                }
            }
            _ => {}
        }
    }
    databases
}

fn keyspace(m: &mut MetricSet, info: &Info, databases: usize) {
    let mut seen: Vec<(String, f64, f64, Option<f64>)> = Vec::new();
    if let Some(ks) = info.section("Keyspace") {
        for (db, v) in &ks.fields {
            if !db.starts_with("db") || db.get(2..).is_none_or(|n| n.parse::<u32>().is_err()) {
                continue;
            }
            let kv = kv_list(v);
            let keys = kv_get(&kv, "keys").and_then(parse_number).unwrap_or(0.0);
            let expires = kv_get(&kv, "expires").and_then(parse_number).unwrap_or(0.0);
            let ttl = kv_get(&kv, "avg_ttl").and_then(parse_number);
            seen.push((db.clone(), keys, expires, ttl));
        }
    }
    let mut all: Vec<String> = (0..databases).map(|i| format!("db{i}")).collect();
    for (db, ..) in &seen {
        if !all.contains(db) {
            all.push(db.clone());
        }
    }
    for db in &all {
        let found = seen.iter().find(|(d, ..)| d == db);
        let (keys, expires) = found.map(|(_, k, e, _)| (*k, *e)).unwrap_or((0.0, 0.0));
        m.gauge(
            "db_keys",
            "Total number of keys by DB",
            labels(&[("db", db)]),
            keys,
        );
        m.gauge(
            "db_keys_expiring",
            "Total number of expiring keys by DB",
            labels(&[("db", db)]),
            expires,
        );
    }
    for (db, _, _, ttl) in &seen {
        if let Some(t) = ttl {
            m.gauge(
                "db_avg_ttl_seconds",
                "Avg TTL in seconds",
                labels(&[("db", db)]),
                t / 1000.0,
            );
        }
    }
}

fn replication(m: &mut MetricSet, info: &Info) {
    let Some(repl) = info.section("Replication") else {
        return;
    };
    for (k, v) in &repl.fields {
        let is_slave_line = k
            .strip_prefix("slave")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_slave_line {
            continue;
        }
        let kv = kv_list(v);
        let (Some(ip), Some(port)) = (kv_get(&kv, "ip"), kv_get(&kv, "port")) else {
            continue;
        };
        let state = kv_get(&kv, "state").unwrap_or("");
        let l = labels(&[
            ("slave_ip", ip),
            ("slave_port", port),
            ("slave_state", state),
        ]);
        if let Some(off) = kv_get(&kv, "offset").and_then(parse_number) {
            m.gauge(
                "connected_slave_offset_bytes",
                "Offset of connected slave",
                l.clone(),
                off,
            );
        }
        if let Some(lag) = kv_get(&kv, "lag").and_then(parse_number) {
            m.gauge(
                "connected_slave_lag_seconds",
                "Lag of connected slave (seconds since its last ACK)",
                l,
                lag,
            );
        }
    }
    let (Some(host), Some(port)) = (repl.get("master_host"), repl.get("master_port")) else {
        return;
    };
    let l = labels(&[("master_host", host), ("master_port", port)]);
    if let Some(s) = repl.get("master_link_status") {
        m.gauge(
            "master_link_up",
            "Master link status on a replica (1 = up)",
            l.clone(),
            if s == "up" { 1.0 } else { 0.0 },
        );
    }
    for (field, name, h) in [
        (
            "master_last_io_seconds_ago",
            "master_last_io_seconds_ago",
            "Seconds since the last interaction with the master",
        ),
        (
            "master_sync_in_progress",
            "master_sync_in_progress",
            "Master sync in progress",
        ),
        (
            "slave_repl_offset",
            "slave_repl_offset",
            "Slave replication offset",
        ),
        (
            "master_link_down_since_seconds",
            "master_link_down_since_seconds",
            "Seconds since the link to the master went down",
        ),
    ] {
        if let Some(v) = repl.get(field).and_then(parse_number) {
            m.gauge(name, h, l.clone(), v);
        }
    }
    let ro = repl.get("slave_read_only").unwrap_or("");
    m.gauge(
        "slave_info",
        "Information about the replica (value 1)",
        labels(&[
            ("master_host", host),
            ("master_port", port),
            ("read_only", ro),
        ]),
        1.0,
    );
}

/// One `cmdstat_<cmd>` line.
#[derive(Clone, Debug, PartialEq)]
pub struct CmdStat {
    /// Command name as INFO writes it (`get`, `config|get`).
    pub cmd: String,
    /// Calls.
    pub calls: f64,
    /// Total microseconds.
    pub usec: f64,
    /// Rejected calls (Redis ≥ 6.2).
    pub rejected: Option<f64>,
    /// Failed calls (Redis ≥ 6.2).
    pub failed: Option<f64>,
}

/// The `# Commandstats` lines.
pub fn command_stats(info: &Info) -> Vec<CmdStat> {
    let Some(cs) = info.section("Commandstats") else {
        return Vec::new();
    };
    cs.fields
        .iter()
        .filter_map(|(k, v)| {
            let cmd = k.strip_prefix("cmdstat_")?;
            let kv = kv_list(v);
            let calls = kv_get(&kv, "calls").and_then(parse_number)?;
            let usec = kv_get(&kv, "usec").and_then(parse_number).unwrap_or(0.0);
            let rej = kv_get(&kv, "rejected_calls").and_then(parse_number);
            let fail = kv_get(&kv, "failed_calls").and_then(parse_number);
            Some(CmdStat {
                cmd: cmd.to_string(),
                calls,
                usec,
                rejected: rej,
                failed: fail,
            })
        })
        .collect()
}

fn commandstats(m: &mut MetricSet, info: &Info) {
    for CmdStat {
        cmd,
        calls,
        usec,
        rejected: rej,
        failed: fail,
    } in command_stats(info)
    {
        let l = labels(&[("cmd", &cmd)]);
        m.counter(
            "commands_total",
            "Total number of calls per command",
            l.clone(),
            calls,
        );
        m.counter(
            "commands_duration_seconds_total",
            "Total amount of time in seconds spent per command",
            l.clone(),
            usec / 1e6,
        );
        if let Some(r) = rej {
            m.counter(
                "commands_rejected_calls_total",
                "Total number of rejected calls per command",
                l.clone(),
                r,
            );
        }
        if let Some(f) = fail {
            m.counter(
                "commands_failed_calls_total",
                "Total number of failed calls per command",
                l,
                f,
            );
        }
    }
}

fn errorstats(m: &mut MetricSet, info: &Info) {
    let Some(es) = info.section("Errorstats") else {
        return;
    };
    for (k, v) in &es.fields {
        let Some(err) = k.strip_prefix("errorstat_") else {
            continue;
        };
        if let Some(c) = kv_get(&kv_list(v), "count").and_then(parse_number) {
            m.counter(
                "errors_total",
                "Total number of error replies by error prefix",
                labels(&[("err", err)]),
                c,
            );
        }
    }
}

fn cluster(m: &mut MetricSet, text: &str) {
    let ci = Info::parse(text);
    for (k, v) in ci.fields() {
        if !k.starts_with("cluster_") {
            continue;
        }
        let Some(x) = parse_number(v) else { continue };
        match k {
            "cluster_stats_messages_sent" => m.gauge(
                "cluster_messages_sent_total",
                "CLUSTER INFO cluster_stats_messages_sent",
                vec![],
                x,
            ),
            "cluster_stats_messages_received" => m.gauge(
                "cluster_messages_received_total",
                "CLUSTER INFO cluster_stats_messages_received",
                vec![],
                x,
            ),
            _ => m.gauge(k, &format!("CLUSTER INFO {k}"), vec![], x),
        }
    }
}
