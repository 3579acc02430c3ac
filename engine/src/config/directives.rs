//! The directive table: every configuration name Shoal accepts, its kind,
//! default, whether CONFIG SET may change it, and whether Shoal acts on it
//! yet. A directive marked `Stored` is accepted (so existing redis.conf
//! files load and tools that read it, such as redis-benchmark's
//! `CONFIG GET save`, work) and reported back, but has no effect until the
//! issue named in `docs/compatibility.md` lands; the server logs a notice
//! when such a directive is set to a non-default value.

/// How a directive's value is checked and normalized.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer in an inclusive range.
    Int(i64, i64),
    /// A memory amount (`1gb`, `512mb`, `100`) in an inclusive range of bytes.
    Memory(i64, i64),
    /// One of a fixed list of lowercase words.
    Enum(&'static [&'static str]),
    /// Any string (one argument).
    Str,
    /// Any number of words, kept space-joined (`bind`, `save`, ...).
    Words,
}

/// Whether Shoal acts on a directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Implemented.
    Yes,
    /// Accepted and reported, not acted on yet.
    Stored,
}

/// One configuration directive.
#[derive(Clone, Copy, Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub mutable: bool,
    pub support: Support,
}

/// `network-backend` values (see `server::net`).
pub const NET_BACKENDS: &[&str] = &["auto", "uring", "glommio"];

const fn d(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable,
        support: Support::Yes,
    }
}

const fn stored(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        support: Support::Stored,
    }
}

const fn aliased(mut dir: Directive, alias: &'static str) -> Directive {
    dir.alias = Some(alias);
    dir
}

const I32: i64 = i32::MAX as i64;
const U32: i64 = u32::MAX as i64;
const LL: i64 = i64::MAX;

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const DEBUG_MODES: &[&str] = &["no", "yes", "local"];

/// Every directive, in the order CONFIG REWRITE appends new ones.
pub const DIRECTIVES: &[Directive] = &[
    // Network and clients.
    d("port", Kind::Int(0, 65535), "6379", false),
    d("bind", Kind::Words, "127.0.0.1", false),
    d("protected-mode", Kind::Bool, "yes", true),
    d("requirepass", Kind::Str, "", true),
    d("maxclients", Kind::Int(1, U32), "10000", true),
    d("timeout", Kind::Int(0, I32), "0", true),
    d("tcp-keepalive", Kind::Int(0, I32), "300", true),
    d("tcp-backlog", Kind::Int(0, I32), "511", false),
    d(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, LL),
        "536870912",
        true,
    ),
    d(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024, LL),
        "1073741824",
        true,
    ),
    // Process.
    d("databases", Kind::Int(1, I32), "16", false),
    d("threads", Kind::Int(0, 1024), "0", false),
    d("network-backend", Kind::Enum(NET_BACKENDS), "auto", false),
    d("loglevel", Kind::Enum(LOGLEVELS), "notice", true),
    d("logfile", Kind::Str, "", false),
    d("dir", Kind::Str, "", true),
    d("pidfile", Kind::Str, "", false),
    d("daemonize", Kind::Bool, "no", false),
    d("hz", Kind::Int(1, 500), "10", true),
    d("enable-debug-command", Kind::Enum(DEBUG_MODES), "no", false),
    d("latency-tracking", Kind::Bool, "yes", true),
    d(
        "latency-tracking-info-percentiles",
        Kind::Words,
        "50 99 99.9",
        true,
    ),
    d("io-threads", Kind::Int(1, 128), "1", false),
    // Persistence (issue 5): save points start BGSAVEs (server/bgsave.rs),
    // the AOF directives drive engine/src/aof.
    d("save", Kind::Words, "3600 1 300 100 60 10000", true),
    d("appendonly", Kind::Bool, "no", true),
    d(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
        true,
    ),
    d("appendfilename", Kind::Str, "appendonly.aof", false),
    d("appenddirname", Kind::Str, "appendonlydir", false),
    d("dbfilename", Kind::Str, "dump.rdb", true),
    d("rdbcompression", Kind::Bool, "yes", true),
    d("rdbchecksum", Kind::Bool, "yes", true),
    d("stop-writes-on-bgsave-error", Kind::Bool, "yes", true),
    d("aof-load-truncated", Kind::Bool, "yes", true),
    d("aof-use-rdb-preamble", Kind::Bool, "yes", true),
    d(
        "auto-aof-rewrite-percentage",
        Kind::Int(0, I32),
        "100",
        true,
    ),
    d(
        "auto-aof-rewrite-min-size",
        Kind::Memory(0, LL),
        "67108864",
        true,
    ),
    // Memory (eviction: a later issue).
    stored("maxmemory", Kind::Memory(0, LL), "0"),
    stored("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    stored("maxmemory-samples", Kind::Int(1, 64), "5"),
    // Data types (issue 3).
    aliased(
        d("hash-max-listpack-entries", Kind::Int(0, LL), "512", true),
        "hash-max-ziplist-entries",
    ),
    aliased(
        d("hash-max-listpack-value", Kind::Int(0, LL), "64", true),
        "hash-max-ziplist-value",
    ),
    d("set-max-intset-entries", Kind::Int(0, LL), "512", true),
    d("set-max-listpack-entries", Kind::Int(0, LL), "128", true),
    d("set-max-listpack-value", Kind::Int(0, LL), "64", true),
    aliased(
        d("zset-max-listpack-entries", Kind::Int(0, LL), "128", true),
        "zset-max-ziplist-entries",
    ),
    aliased(
        d("zset-max-listpack-value", Kind::Int(0, LL), "64", true),
        "zset-max-ziplist-value",
    ),
    aliased(
        d("list-max-listpack-size", Kind::Int(-5, I32), "-2", true),
        "list-max-ziplist-size",
    ),
    stored("list-compress-depth", Kind::Int(0, I32), "0"),
    // Events and observability.
    d("notify-keyspace-events", Kind::Str, "", true),
    d("slowlog-log-slower-than", Kind::Int(-1, LL), "10000", true),
    d("slowlog-max-len", Kind::Int(0, LL), "128", true),
    d("latency-monitor-threshold", Kind::Int(0, LL), "0", true),
    // Scripting (issue 4).
    aliased(
        d("busy-reply-threshold", Kind::Int(0, LL), "5000", true),
        "lua-time-limit",
    ),
    // The pubsub class limits subscribers, the slave class MONITOR clients;
    // the normal class is not enforced yet.
    d(
        "client-output-buffer-limit",
        Kind::Words,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    // Replication and cluster (later issues).
    aliased(
        stored("replica-read-only", Kind::Bool, "yes"),
        "slave-read-only",
    ),
    aliased(
        stored("replica-priority", Kind::Int(0, I32), "100"),
        "slave-priority",
    ),
    aliased(
        stored("replica-serve-stale-data", Kind::Bool, "yes"),
        "slave-serve-stale-data",
    ),
    stored("repl-backlog-size", Kind::Memory(1, LL), "1048576"),
    stored("repl-diskless-sync", Kind::Bool, "yes"),
    stored("masterauth", Kind::Str, ""),
    stored("masteruser", Kind::Str, ""),
    stored("min-replicas-to-write", Kind::Int(0, I32), "0"),
    stored("min-replicas-max-lag", Kind::Int(0, I32), "10"),
    stored("cluster-enabled", Kind::Bool, "no"),
    stored("cluster-node-timeout", Kind::Int(0, LL), "15000"),
    stored("cluster-config-file", Kind::Str, "nodes.conf"),
    // Accepted for redis.conf compatibility; no meaning for Shoal.
    stored(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    stored("always-show-logo", Kind::Bool, "no"),
    stored("set-proc-title", Kind::Bool, "yes"),
    stored("lazyfree-lazy-eviction", Kind::Bool, "no"),
    stored("lazyfree-lazy-expire", Kind::Bool, "no"),
    stored("lazyfree-lazy-server-del", Kind::Bool, "no"),
    stored("lazyfree-lazy-user-del", Kind::Bool, "no"),
    stored("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    stored("activerehashing", Kind::Bool, "yes"),
    stored("dynamic-hz", Kind::Bool, "yes"),
    stored("jemalloc-bg-thread", Kind::Bool, "yes"),
    stored("activedefrag", Kind::Bool, "no"),
    stored("syslog-enabled", Kind::Bool, "no"),
    stored("crash-log-enabled", Kind::Bool, "yes"),
];

/// Find a directive by name or alias (lowercase).
pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES
        .iter()
        .find(|d| d.name == name || d.alias == Some(name))
}

/// Parse a memory amount like Redis's `memtoull`: digits with an optional
/// unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`), case-insensitive.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: i64 = num.parse().ok()?;
    n.checked_mul(mul)
}

/// Check and normalize one value for `dir`. Errors use Redis's wording
/// (the part after "... - " in CONFIG SET errors).
pub fn normalize(dir: &Directive, args: &[String]) -> Result<String, String> {
    if dir.name == "notify-keyspace-events" {
        let [v] = args else {
            return Err("wrong number of arguments".into());
        };
        let flags = crate::keyspace::events::parse(v)
            .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
        return Ok(crate::keyspace::events::format(flags));
    }
    match dir.kind {
        Kind::Words => {
            if dir.name == "save" {
                return normalize_save(args);
            }
            if dir.name == "latency-tracking-info-percentiles" {
                return normalize_percentiles(args);
            }
            if dir.name == "client-output-buffer-limit" {
                return normalize_cobl(args);
            }
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            Ok(words.join(" "))
        }
        _ => {
            let [v] = args else {
                return Err("wrong number of arguments".into());
            };
            normalize_one(dir, v)
        }
    }
}

fn normalize_one(dir: &Directive, v: &str) -> Result<String, String> {
    match dir.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n: i64 = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Memory(min, max) => {
            let n = parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Enum(options) => {
            let l = v.to_ascii_lowercase();
            if options.contains(&l.as_str()) {
                Ok(l)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    options.join(", ")
                ))
            }
        }
        Kind::Str | Kind::Words => Ok(v.to_string()),
    }
}

fn normalize_save(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() {
        return Ok(String::new());
    }
    if !words.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    for w in &words {
        if w.parse::<u64>().is_err() {
            return Err("Invalid save parameters".into());
        }
    }
    Ok(words.join(" "))
}

fn normalize_percentiles(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    let mut out = Vec::new();
    for w in words {
        let p: f64 = w
            .parse()
            .map_err(|_| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&p) {
            return Err("Invalid latency-tracking-info-percentiles parameters".into());
        }
        out.push(w.to_string());
    }
    Ok(out.join(" "))
}

fn normalize_cobl(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    // Start from the current defaults and override the classes given.
    let mut classes: Vec<(String, [String; 3])> = vec![
        ("normal".into(), ["0".into(), "0".into(), "0".into()]),
        (
            "slave".into(),
            ["268435456".into(), "67108864".into(), "60".into()],
        ),
        (
            "pubsub".into(),
            ["33554432".into(), "8388608".into(), "60".into()],
        ),
    ];
    for chunk in words.chunks(4) {
        let [class, hard, soft, secs] = chunk else {
            continue;
        };
        let class = match class.to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "slave" | "replica" => "slave",
            "pubsub" => "pubsub",
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(hard)
            .ok_or("Error in hard, soft or soft_seconds setting in buffer limit configuration.")?;
        let soft = parse_memory(soft)
            .ok_or("Error in hard, soft or soft_seconds setting in buffer limit configuration.")?;
        let secs: i64 = secs.parse().map_err(|_| {
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string()
        })?;
        if hard < 0 || soft < 0 || secs < 0 {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        }
        if let Some(e) = classes.iter_mut().find(|(c, _)| c == class) {
            e.1 = [hard.to_string(), soft.to_string(), secs.to_string()];
        }
    }
    Ok(classes
        .iter()
        .map(|(c, v)| format!("{c} {} {} {}", v[0], v[1], v[2]))
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("10mb"), Some(10 * 1024 * 1024));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1zb"), None);
        assert_eq!(parse_memory("abc"), None);
    }

    #[test]
    fn normalizing() {
        let port = find("port").unwrap();
        assert_eq!(
            normalize(port, &["70000".into()]).unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        let b = find("protected-mode").unwrap();
        assert_eq!(normalize(b, &["YES".into()]).unwrap(), "yes");
        let save = find("save").unwrap();
        assert_eq!(
            normalize(save, &["900 1".into(), "300".into(), "10".into()]).unwrap(),
            "900 1 300 10"
        );
        assert!(normalize(save, &["abc".into()]).is_err());
        assert_eq!(find("slave-read-only").unwrap().name, "replica-read-only");
        let cobl = find("client-output-buffer-limit").unwrap();
        assert_eq!(
            normalize(cobl, &["pubsub 32mb 8mb 60".into()]).unwrap(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
