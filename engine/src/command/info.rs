//! INFO and LATENCY HISTOGRAM.
//!
//! INFO gathers a snapshot from every shard (counters, per-database key
//! counts, clients, histograms), merges them, and prints Redis's sections
//! with Redis's field names — Sentinel, redis_exporter and client libraries
//! parse them. A Shoal-specific `# Shards` section (in `all`, `everything`
//! or by name) adds per-shard series:
//! `shard0:keys=..,expires=..,commands=..,hops_in=..,hops_out=..,used_memory=..,connected_clients=..`.

use super::ctx::{encode, Ctx};
use super::errors::CmdResult;
use super::spec::{flags::*, CommandSpec};
use super::table::table;
use crate::server::{Shared, REDIS_VERSION, SHOAL_VERSION};
use crate::shard::stats::StatsSnapshot;
use resp::Request;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What one shard reports.
struct ShardInfo {
    stats: StatsSnapshot,
    /// (keys, expires, avg_ttl) per database.
    dbs: Vec<(usize, usize, i64)>,
    clients: usize,
    blocked: usize,
    memory: i64,
    /// Table and per-key bookkeeping bytes over all databases.
    keyspace_overhead: u64,
    /// Bytes held in client input buffers.
    client_buffers: u64,
    /// Lua: (eval state bytes, function state bytes, cached scripts,
    /// script body bytes, functions, libraries).
    lua: (u64, u64, u64, u64, u64, u64),
}

fn gather(s: &crate::shard::Shard) -> ShardInfo {
    let st = s.state.borrow();
    let mut stats = st.stats.snapshot();
    let (expired, hits, misses) = st.keyspace_counters();
    stats.expired_keys = expired;
    stats.hits = hits;
    stats.misses = misses;
    ShardInfo {
        stats,
        dbs: st
            .dbs
            .iter()
            .map(|d| (d.len(), d.volatile_count(), d.avg_ttl()))
            .collect(),
        clients: st.clients.len(),
        blocked: st.blocking.blocked_clients(),
        memory: crate::alloc::thread_allocated(),
        keyspace_overhead: st.dbs.iter().map(|d| d.overhead_bytes() as u64).sum(),
        client_buffers: st
            .clients
            .iter()
            .map(|c| (c.qbuf.get() + c.qbuf_free.get() + c.obuf.get()) as u64)
            .sum(),
        lua: {
            let (eval, funcs) = s.scripting.memory();
            let (libs, fns) = s.scripting.functions.borrow().counts();
            (
                eval as u64,
                funcs as u64,
                s.scripting.count() as u64,
                s.scripting.bodies() as u64,
                fns as u64,
                libs as u64,
            )
        },
    }
}

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats", "shards"];

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b < 1024.0_f64.powi(4) {
        format!("{:.2}G", b / 1024.0_f64.powi(3))
    } else {
        format!("{:.2}T", b / 1024.0_f64.powi(4))
    }
}

fn rusage() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct we own; its fields are NUL-terminated.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let s = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
}

/// Percentile label as Redis prints it: `%f` with trailing zeros trimmed.
fn pct_label(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

struct Gathered<'a> {
    shared: &'a Shared,
    shards: Vec<ShardInfo>,
    total: StatsSnapshot,
    percentiles: Vec<f64>,
}

fn section(out: &mut String, name: &str, g: &Gathered<'_>) {
    let cfg = g.shared.config();
    let mut s = String::new();
    match name {
        "server" => {
            let up = g.shared.uptime().as_secs();
            s.push_str("# Server\r\n");
            let _ = write!(
                s,
                "redis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0000000000000000\r\n\
                 redis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:io_uring\r\n\
                 atomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\n\
                 executable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nshoal_version:{SHOAL_VERSION}\r\nshoal_shards:{}\r\n",
                uname(),
                std::process::id(),
                g.shared.run_id,
                g.shared.port,
                crate::clock::now_us(),
                up,
                up / 86400,
                cfg.hz,
                cfg.hz,
                (crate::clock::now_ms() / 1000) & 0x00ff_ffff,
                g.shared.executable,
                cfg.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                g.shared.shards,
            );
        }
        "clients" => {
            let clients: usize = g.shards.iter().map(|s| s.clients).sum();
            let blocked: usize = g.shards.iter().map(|s| s.blocked).sum();
            let _ = write!(
                s,
                "# Clients\r\nconnected_clients:{clients}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\n\
                 client_recent_max_output_buffer:0\r\nblocked_clients:{blocked}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                cfg.maxclients
            );
        }
        "memory" => {
            let used = crate::alloc::used_memory();
            let rss = crate::alloc::rss_bytes();
            let peak = crate::alloc::peak_memory().max(used);
            let total = crate::alloc::total_system_memory();
            let maxmem: u64 = cfg
                .get("maxmemory")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let frag = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            let startup = crate::alloc::startup_memory().min(used);
            let clients_mem: u64 = g.shards.iter().map(|s| s.client_buffers).sum();
            let keyspace: u64 = g.shards.iter().map(|s| s.keyspace_overhead).sum();
            let overhead = (startup + clients_mem + keyspace).min(used);
            let dataset = used - overhead;
            let dataset_perc = if used > startup {
                dataset as f64 * 100.0 / (used - startup) as f64
            } else {
                0.0
            };
            // The allocator's view: committed pages against live bytes, and
            // the process RSS against those pages.
            let active = crate::alloc::committed_bytes().max(used);
            // Every shard holds the same scripts and libraries: counts come
            // from one, the states' memory from all.
            let vm_eval: u64 = g.shards.iter().map(|s| s.lua.0).sum();
            let vm_funcs: u64 = g.shards.iter().map(|s| s.lua.1).sum();
            let (scripts, bodies, fns, libs) = g
                .shards
                .iter()
                .map(|s| (s.lua.2, s.lua.3, s.lua.4, s.lua.5))
                .max()
                .unwrap_or_default();
            let vm_total = vm_eval + vm_funcs;
            let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            let _ = write!(
                s,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
                 used_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
                 used_memory_overhead:{overhead}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{dataset}\r\n\
                 used_memory_dataset_perc:{dataset_perc:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{active}\r\n\
                 allocator_resident:{rss}\r\n\
                 total_system_memory:{total}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{vm_eval}\r\nused_memory_vm_eval:{vm_eval}\r\n\
                 used_memory_lua_human:{}\r\nused_memory_scripts_eval:{bodies}\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{fns}\r\n\
                 number_of_libraries:{libs}\r\nused_memory_vm_functions:{vm_funcs}\r\nused_memory_vm_total:{vm_total}\r\nused_memory_vm_total_human:{}\r\n\
                 used_memory_functions:0\r\nused_memory_scripts:{bodies}\r\nused_memory_scripts_human:{}\r\n\
                 maxmemory:{maxmem}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
                 allocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\n\
                 rss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\n\
                 mem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n\
                 mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{clients_mem}\r\n\
                 mem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:mimalloc\r\nactive_defrag_running:0\r\n\
                 lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                human(used),
                human(rss),
                human(peak),
                if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                human(total),
                human(vm_eval),
                human(vm_total),
                human(bodies),
                human(maxmem),
                cfg.get("maxmemory-policy").unwrap_or("noeviction"),
                ratio(active, used),
                active - used,
                ratio(rss, active),
                rss as i64 - active as i64,
                rss as i64 - used as i64,
            );
        }
        "persistence" => {
            let p = &g.shared.persistence;
            let bg = p.bg_running.load(Ordering::SeqCst);
            let _ = write!(
                s,
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
                 current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n\
                 current_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
                 rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\n\
                 rdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\n\
                 rdb_last_load_keys_loaded:{}\r\n",
                crate::server::snapshot::write_calls(&g.total.cmds)
                    .saturating_sub(p.writes_at_save.load(Ordering::Relaxed)),
                u8::from(bg),
                p.last_save.load(Ordering::Relaxed),
                if p.last_failed.load(Ordering::Relaxed) {
                    "err"
                } else {
                    "ok"
                },
                p.last_bg_secs.load(Ordering::Relaxed),
                if bg {
                    (crate::clock::now_ms() - p.bg_started_ms.load(Ordering::Relaxed)) / 1000
                } else {
                    -1
                },
                p.saves.load(Ordering::Relaxed),
                p.last_cow.load(Ordering::Relaxed),
                p.loaded_expired.load(Ordering::Relaxed),
                p.loaded_keys.load(Ordering::Relaxed),
            );
            aof_fields(&mut s, &g.shared.aof);
        }
        "stats" => {
            let t = &g.total;
            let (ops, kin, kout) = t.instantaneous;
            let _ = write!(
                s,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\n\
                 total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\n\
                 total_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{kin:.2}\r\ninstantaneous_output_kbps:{kout:.2}\r\n\
                 instantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\n\
                 sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\n\
                 expired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\n\
                 total_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\
                 pubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\n\
                 migrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n\
                 active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n\
                 current_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\n\
                 unexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\n\
                 total_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\n\
                 io_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n\
                 shoal_cross_shard_messages:{}\r\n",
                t.connections,
                t.commands,
                ops.round() as u64,
                t.net_in,
                t.net_out,
                t.rejected_connections,
                t.expired_keys,
                t.hits,
                t.misses,
                t.error_replies,
                t.reads,
                t.writes,
                t.hops_out,
            );
        }
        "replication" => {
            let _ = write!(
                s,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
                 master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\
                 second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:0\r\n\
                 repl_backlog_histlen:0\r\n",
                g.shared.run_id,
                cfg.get("repl-backlog-size").unwrap_or("1048576"),
            );
        }
        "cpu" => {
            let (sys, user) = rusage();
            let _ = write!(
                s,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\n\
                 used_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
            );
        }
        "modules" => s.push_str("# Modules\r\n"),
        "errorstats" => {
            s.push_str("# Errorstats\r\n");
            let mut errs: Vec<_> = g.total.errors.iter().collect();
            errs.sort();
            for (code, n) in errs {
                let _ = write!(s, "errorstat_{code}:count={n}\r\n");
            }
        }
        "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            s.push_str("# Keyspace\r\n");
            let ndb = g.shards.first().map(|x| x.dbs.len()).unwrap_or(0);
            for db in 0..ndb {
                let (mut keys, mut expires, mut ttl_sum, mut ttl_n) =
                    (0usize, 0usize, 0i128, 0i128);
                for sh in &g.shards {
                    if let Some(&(k, e, ttl)) = sh.dbs.get(db) {
                        keys += k;
                        expires += e;
                        if ttl > 0 {
                            ttl_sum += i128::from(ttl) * e as i128;
                            ttl_n += e as i128;
                        }
                    }
                }
                if keys > 0 {
                    let avg = if ttl_n > 0 { ttl_sum / ttl_n } else { 0 };
                    let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl={avg}\r\n");
                }
            }
        }
        "commandstats" => {
            s.push_str("# Commandstats\r\n");
            for (id, e) in table().all() {
                if let Some(c) = g.total.cmds.get(usize::from(id)) {
                    if c.calls == 0 && c.failed == 0 && c.rejected == 0 {
                        continue;
                    }
                    let per = if c.calls > 0 {
                        c.usec as f64 / c.calls as f64
                    } else {
                        0.0
                    };
                    let _ = write!(
                        s,
                        "cmdstat_{}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                        e.fullname, c.calls, c.usec, c.rejected, c.failed
                    );
                }
            }
        }
        "latencystats" => {
            s.push_str("# Latencystats\r\n");
            for (id, e) in table().all() {
                let Some(h) = g
                    .total
                    .cmds
                    .get(usize::from(id))
                    .and_then(|c| c.hist.as_ref())
                else {
                    continue;
                };
                if h.is_empty() {
                    continue;
                }
                let _ = write!(s, "latency_percentiles_usec_{}:", e.fullname);
                for (i, p) in g.percentiles.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let v = h.value_at_quantile(p / 100.0) as f64 / 1000.0;
                    let _ = write!(s, "p{}={v:.3}", pct_label(*p));
                }
                s.push_str("\r\n");
            }
        }
        "shards" => {
            let _ = write!(s, "# Shards\r\nshards:{}\r\n", g.shards.len());
            for (i, sh) in g.shards.iter().enumerate() {
                let keys: usize = sh.dbs.iter().map(|d| d.0).sum();
                let expires: usize = sh.dbs.iter().map(|d| d.1).sum();
                let _ = write!(
                    s,
                    "shard{i}:keys={keys},expires={expires},commands={},hops_in={},hops_out={},used_memory={},connected_clients={}\r\n",
                    sh.stats.commands,
                    sh.stats.hops_in,
                    sh.stats.hops_out,
                    sh.memory.max(0),
                    sh.clients
                );
            }
        }
        _ => return,
    }
    if !out.is_empty() {
        out.push_str("\r\n");
    }
    out.push_str(&s);
}

fn info(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut wanted: Vec<String> = Vec::new();
    let args: Vec<String> = req
        .iter()
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if args.is_empty() {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
    }
    for a in &args {
        match a.as_str() {
            "default" => wanted.extend(DEFAULT.iter().map(|s| s.to_string())),
            "all" | "everything" => {
                wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
                wanted.extend(ALL_EXTRA.iter().map(|s| s.to_string()));
            }
            other => wanted.push(other.to_string()),
        }
    }
    let mut order: Vec<&str> = DEFAULT.iter().chain(ALL_EXTRA).copied().collect();
    order.retain(|s| wanted.iter().any(|w| w == s));
    let order: Vec<String> = order.into_iter().map(String::from).collect();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let shards = home.broadcast(|s| gather(s)).await;
        let mut total = StatsSnapshot::default();
        for s in &shards {
            total.merge(&s.stats);
        }
        let shared: Arc<Shared> = home.shared.clone();
        let percentiles = shared.config().latency_percentiles.clone();
        let g = Gathered {
            shared: &shared,
            shards,
            total,
            percentiles,
        };
        let mut out = String::new();
        for name in &order {
            section(&mut out, name, &g);
        }
        encode(proto, |w| w.verbatim(b"txt", out.as_bytes()))
    });
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: per-command cumulative counts in
/// power-of-two microsecond buckets (Redis 7's reply shape).
pub(crate) fn latency_histogram(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let names: Vec<String> = req
        .iter()
        .skip(2)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let shards = home.broadcast(|s| s.state.borrow().stats.snapshot()).await;
        let mut total = StatsSnapshot::default();
        for s in &shards {
            total.merge(s);
        }
        let mut rows = Vec::new();
        for (id, e) in table().all() {
            if !names.is_empty() && !names.contains(&e.fullname) {
                continue;
            }
            let Some(h) = total
                .cmds
                .get(usize::from(id))
                .and_then(|c| c.hist.as_ref())
            else {
                continue;
            };
            if h.is_empty() {
                continue;
            }
            let mut buckets = Vec::new();
            let mut prev = 0u64;
            let mut level: u64 = 1024;
            while level <= 1_000_000_000u64 << 1 {
                let top = h.highest_equivalent(level);
                let cum = h.count_between(0, top);
                if cum > prev {
                    buckets.push((top / 1000, cum));
                }
                prev = cum;
                if cum >= h.len() {
                    break;
                }
                level *= 2;
            }
            rows.push((e.fullname.clone(), h.len(), buckets));
        }
        encode(proto, |w| {
            w.map(rows.len());
            for (name, calls, buckets) in &rows {
                w.bulk(name.as_bytes());
                w.map(2);
                w.bulk(b"calls");
                w.int(i64::try_from(*calls).unwrap_or(i64::MAX));
                w.bulk(b"histogram_usec");
                w.map(buckets.len());
                for (us, cum) in buckets {
                    w.int(i64::try_from(*us).unwrap_or(i64::MAX));
                    w.int(i64::try_from(*cum).unwrap_or(i64::MAX));
                }
            }
        })
    });
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new("info", -1, info)
    .flags(LOADING | STALE | SENTINEL)
    .acl(super::spec::acl::DANGEROUS)
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ])
    .doc(
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
    )];

/// The `aof_*` lines of INFO persistence, as Redis prints them.
fn aof_fields(s: &mut String, a: &crate::aof::Global) {
    let on = a.manifest.lock().map(|m| m.is_some()).unwrap_or(false);
    let rewriting = a.rewriting.load(Ordering::SeqCst);
    let current = if rewriting {
        (crate::clock::now_ms() - a.rewrite_started.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let status = |failed: bool| if failed { "err" } else { "ok" };
    let _ = write!(
        s,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\n\
         aof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{current}\r\n\
         aof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\n\
         aof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n\
         module_fork_last_cow_size:0\r\n",
        u8::from(on),
        u8::from(rewriting),
        u8::from(a.scheduled.load(Ordering::SeqCst)),
        a.last_rewrite_secs.load(Ordering::Relaxed),
        status(a.last_rewrite_failed.load(Ordering::Relaxed)),
        a.rewrites.load(Ordering::Relaxed),
        a.consecutive_failures.load(Ordering::Relaxed),
        status(a.failing.load(Ordering::Relaxed) > 0),
    );
    if on {
        let _ = write!(
            s,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\n\
             aof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            a.current_size(),
            a.base_size.load(Ordering::Relaxed),
        );
    }
}
