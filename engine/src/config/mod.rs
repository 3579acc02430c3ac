//! Server configuration: redis.conf syntax, command-line `--directive value`
//! overrides, CONFIG GET/SET/REWRITE.
//!
//! | module | owns |
//! |---|---|
//! | [`directives`] | the table of accepted directives, their kinds, defaults and value checks |
//! | this file | [`Config`]: canonical values + typed fields the engine reads; file/argv loading with file:line errors; rewrite |
//!
//! A `Config` is immutable once built. CONFIG SET builds a new one and the
//! server installs it on every shard (each shard keeps an `Arc<Config>`),
//! so the hot path reads plain fields with no locking.

pub mod directives;

use crate::keyspace::{Limits, ListLimits, PackLimits, SetLimits};
use directives::{Directive, Support, DIRECTIVES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Who may run DEBUG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugAccess {
    /// Nobody.
    No,
    /// Everyone.
    Yes,
    /// Loopback connections only.
    Local,
}

/// A configuration error, located where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `path:line`, or `command line`.
    pub location: String,
    /// The offending line as written.
    pub line: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\n*** FATAL CONFIG FILE ERROR (Shoal {}) ***\nReading the configuration file, at {}\n>>> '{}'\n{}",
            env!("CARGO_PKG_VERSION"),
            self.location,
            self.line,
            self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// Directives set explicitly (file, argv or CONFIG SET), for REWRITE.
    explicit: BTreeMap<&'static str, ()>,
    /// The config file, if the server was started with one.
    pub file: Option<PathBuf>,
    /// Bumped by every CONFIG SET; shards install only newer configurations.
    pub generation: u64,
    pub port: u16,
    pub bind: Vec<String>,
    pub protected_mode: bool,
    pub requirepass: Option<Vec<u8>>,
    pub maxclients: usize,
    pub timeout_secs: u64,
    pub tcp_keepalive: u64,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub databases: usize,
    pub threads: usize,
    pub loglevel: log::LevelFilter,
    pub logfile: String,
    pub dir: String,
    pub pidfile: String,
    pub hz: u32,
    pub enable_debug: DebugAccess,
    pub latency_tracking: bool,
    pub latency_percentiles: Vec<f64>,
    /// Compact-encoding thresholds (`*-max-listpack-*`, `set-max-intset-entries`).
    pub limits: Limits,
    /// `notify-keyspace-events` as class bits ([`crate::keyspace::events`]).
    pub notify_flags: u32,
    /// `slowlog-log-slower-than` (µs; negative: off).
    pub slowlog_slower_than: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: usize,
    /// `latency-monitor-threshold` (ms; 0: off).
    pub latency_threshold_ms: i64,
    /// `busy-reply-threshold` (alias `lua-time-limit`, ms; 0: never busy).
    pub busy_reply_threshold: u64,
}

impl Default for Config {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for d in DIRECTIVES {
            values.insert(d.name, d.default.to_string());
        }
        let mut c = Config {
            values,
            explicit: BTreeMap::new(),
            file: None,
            generation: 0,
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            protected_mode: true,
            requirepass: None,
            maxclients: 10000,
            timeout_secs: 0,
            tcp_keepalive: 300,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1 << 30,
            databases: 16,
            threads: 0,
            loglevel: log::LevelFilter::Info,
            logfile: String::new(),
            dir: String::new(),
            pidfile: String::new(),
            hz: 10,
            enable_debug: DebugAccess::No,
            latency_tracking: true,
            latency_percentiles: vec![50.0, 99.0, 99.9],
            limits: Limits::default(),
            notify_flags: 0,
            slowlog_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_threshold_ms: 0,
            busy_reply_threshold: 5000,
        };
        c.refresh();
        c
    }
}

impl Config {
    /// Load defaults, then the config file (if any), then `--name value` pairs.
    pub fn load(file: Option<&Path>, argv: &[String]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = file {
            c.file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
            c.apply_file(path, 0)?;
        }
        c.apply_argv(argv)?;
        Ok(c)
    }

    fn apply_file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            location: path.display().to_string(),
            line: String::new(),
            reason: format!(
                "Fatal error, can't open config file '{}': {e}",
                path.display()
            ),
        })?;
        for (i, raw) in text.lines().enumerate() {
            let location = format!("{}:{}", path.display(), i + 1);
            let err = |reason: String| ConfigError {
                location: location.clone(),
                line: raw.trim().to_string(),
                reason,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = resp::request::split_args(line.as_bytes())
                .ok_or_else(|| err("Unbalanced quotes in configuration line".into()))?;
            let words: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if name == "include" {
                let [inc] = args else {
                    return Err(err("Bad directive or wrong number of arguments".into()));
                };
                if depth > 8 {
                    return Err(err("Too many nested includes".into()));
                }
                self.apply_file(Path::new(inc), depth + 1)?;
                continue;
            }
            self.set_from_source(&name, args).map_err(err)?;
        }
        Ok(())
    }

    fn apply_argv(&mut self, argv: &[String]) -> Result<(), ConfigError> {
        // `--name v1 v2 --other v` : each --name takes the words up to the next --name.
        let mut i = 0;
        while i < argv.len() {
            let Some(arg) = argv.get(i) else { break };
            let Some(name) = arg.strip_prefix("--") else {
                return Err(ConfigError {
                    location: "command line".into(),
                    line: arg.clone(),
                    reason: "Bad directive or wrong number of arguments".into(),
                });
            };
            let mut j = i + 1;
            let mut args = Vec::new();
            while let Some(a) = argv.get(j) {
                if is_directive_flag(a) {
                    break;
                }
                args.push(a.clone());
                j += 1;
            }
            let name = name.to_ascii_lowercase();
            let line = format!("{} {}", name, args.join(" "));
            self.set_from_source(&name, &args)
                .map_err(|reason| ConfigError {
                    location: "command line".into(),
                    line: line.trim().to_string(),
                    reason,
                })?;
            i = j;
        }
        Ok(())
    }

    fn set_from_source(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let dir = directives::find(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        if !matches!(dir.kind, directives::Kind::Words) && args.len() != 1 {
            return Err("Bad directive or wrong number of arguments".into());
        }
        let v = directives::normalize(dir, args)?;
        self.store(dir, v)?;
        self.note_raw(dir, args);
        Ok(())
    }

    /// Facts read from a value as given rather than as stored: Redis 7.0
    /// spells `notify-keyspace-events` without `n` next to `A` (`AKEn`
    /// reads back as `AKE`) yet keeps the class, so the flags come from
    /// the value as set.
    fn note_raw(&mut self, dir: &Directive, args: &[String]) {
        if dir.name == "notify-keyspace-events" {
            self.notify_flags = args
                .first()
                .and_then(|v| crate::keyspace::events::parse(v))
                .unwrap_or(0);
        }
    }

    /// CONFIG SET of several directives at once: all or nothing. Errors use
    /// Redis's full text.
    pub fn with_set(&self, pairs: &[(String, String)]) -> Result<Config, String> {
        let mut next = self.clone();
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in pairs {
            let lname = name.to_ascii_lowercase();
            let Some(dir) = directives::find(&lname) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let fail = |why: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            if seen.contains(&dir.name) {
                return Err(fail("duplicate parameter"));
            }
            seen.push(dir.name);
            if !dir.mutable {
                return Err(fail("can't set immutable config"));
            }
            let v =
                directives::normalize(dir, std::slice::from_ref(value)).map_err(|e| fail(&e))?;
            next.store(dir, v).map_err(|e| fail(&e))?;
            next.note_raw(dir, std::slice::from_ref(value));
        }
        Ok(next)
    }

    fn store(&mut self, dir: &'static Directive, v: String) -> Result<(), String> {
        if dir.name == "daemonize" && v == "yes" {
            return Err("daemonize yes is not supported: run shoal-server under a supervisor (systemd, docker)".into());
        }
        if dir.name == "dir" && !v.is_empty() && !Path::new(&v).is_dir() {
            return Err(format!("No such file or directory: {v}"));
        }
        if dir.name == "dbfilename" && v.contains('/') {
            return Err("dbfilename can't be a path, just a filename".into());
        }
        self.values.insert(dir.name, v);
        self.explicit.insert(dir.name, ());
        self.refresh();
        Ok(())
    }

    /// The canonical value of a directive (by exact name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All directives and values (CONFIG GET *), in table order.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        DIRECTIVES.iter().map(|d| {
            (
                d.name,
                self.values.get(d.name).map(String::as_str).unwrap_or(""),
            )
        })
    }

    /// Aliases and their canonical names, for CONFIG GET pattern matching.
    pub fn aliases() -> impl Iterator<Item = (&'static str, &'static str)> {
        DIRECTIVES
            .iter()
            .filter_map(|d| d.alias.map(|a| (a, d.name)))
    }

    /// Directives set to a non-default value that Shoal does not act on yet.
    pub fn stored_only_overrides(&self) -> Vec<(&'static str, String)> {
        DIRECTIVES
            .iter()
            .filter(|d| d.support == Support::Stored)
            .filter_map(|d| {
                let v = self.values.get(d.name)?;
                (v != d.default).then(|| (d.name, v.clone()))
            })
            .collect()
    }

    fn num(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// Recompute typed fields from the canonical values.
    fn refresh(&mut self) {
        self.port = u16::try_from(self.num("port")).unwrap_or(6379);
        self.bind = self
            .get("bind")
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
        self.protected_mode = self.flag("protected-mode");
        self.requirepass = self
            .get("requirepass")
            .filter(|p| !p.is_empty())
            .map(|p| p.as_bytes().to_vec());
        self.maxclients = usize::try_from(self.num("maxclients")).unwrap_or(10000);
        self.timeout_secs = u64::try_from(self.num("timeout")).unwrap_or(0);
        self.tcp_keepalive = u64::try_from(self.num("tcp-keepalive")).unwrap_or(0);
        self.proto_max_bulk_len = self.num("proto-max-bulk-len");
        self.client_query_buffer_limit =
            usize::try_from(self.num("client-query-buffer-limit")).unwrap_or(usize::MAX);
        self.databases = usize::try_from(self.num("databases")).unwrap_or(16).max(1);
        self.threads = usize::try_from(self.num("threads")).unwrap_or(0);
        self.loglevel = crate::log::level_from_name(self.get("loglevel").unwrap_or("notice"))
            .unwrap_or(log::LevelFilter::Info);
        self.logfile = self.get("logfile").unwrap_or("").to_string();
        self.dir = self.get("dir").unwrap_or("").to_string();
        self.pidfile = self.get("pidfile").unwrap_or("").to_string();
        self.hz = u32::try_from(self.num("hz")).unwrap_or(10).clamp(1, 500);
        self.enable_debug = match self.get("enable-debug-command") {
            Some("yes") => DebugAccess::Yes,
            Some("local") => DebugAccess::Local,
            _ => DebugAccess::No,
        };
        self.latency_tracking = self.flag("latency-tracking");
        self.latency_percentiles = self
            .get("latency-tracking-info-percentiles")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        self.slowlog_slower_than = self.num("slowlog-log-slower-than");
        self.slowlog_max_len = usize::try_from(self.num("slowlog-max-len")).unwrap_or(0);
        self.busy_reply_threshold = u64::try_from(self.num("busy-reply-threshold")).unwrap_or(0);
        self.latency_threshold_ms = self.num("latency-monitor-threshold");
        let size = |name: &str| usize::try_from(self.num(name)).unwrap_or(usize::MAX);
        self.limits = Limits {
            hash: PackLimits {
                entries: size("hash-max-listpack-entries"),
                value: size("hash-max-listpack-value"),
            },
            set: SetLimits {
                intset: size("set-max-intset-entries"),
                entries: size("set-max-listpack-entries"),
                value: size("set-max-listpack-value"),
            },
            list: ListLimits {
                fill: self.num("list-max-listpack-size"),
            },
            zset: PackLimits {
                entries: size("zset-max-listpack-entries"),
                value: size("zset-max-listpack-value"),
            },
        };
    }

    /// The text CONFIG REWRITE writes: the original file with every known
    /// directive's line replaced by its current value (duplicates dropped),
    /// then explicitly set directives missing from the file.
    pub fn rewrite_text(&self, original: &str) -> String {
        let mut out = Vec::new();
        let mut done: Vec<&'static str> = Vec::new();
        for raw in original.lines() {
            let line = raw.trim();
            if raw
                .trim_start()
                .starts_with("# Generated by CONFIG REWRITE")
            {
                continue;
            }
            let name = line
                .split_whitespace()
                .next()
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            match (line.starts_with('#'), directives::find(&name)) {
                (false, Some(d)) => {
                    if !done.contains(&d.name) {
                        done.push(d.name);
                        out.push(self.directive_line(d));
                    }
                }
                _ => out.push(raw.to_string()),
            }
        }
        let mut appended = false;
        for d in DIRECTIVES {
            if done.contains(&d.name) || !self.explicit.contains_key(d.name) {
                continue;
            }
            if !appended {
                out.push("# Generated by CONFIG REWRITE".into());
                appended = true;
            }
            out.push(self.directive_line(d));
        }
        let mut text = out.join("\n");
        text.push('\n');
        text
    }

    fn directive_line(&self, d: &Directive) -> String {
        let v = self.values.get(d.name).map(String::as_str).unwrap_or("");
        match d.kind {
            directives::Kind::Words => {
                if v.is_empty() {
                    format!("{} \"\"", d.name)
                } else {
                    format!("{} {}", d.name, v)
                }
            }
            _ => format!("{} {}", d.name, quote(v)),
        }
    }
}

/// `--name` (a directive) as opposed to a value such as `-2` or `--`.
fn is_directive_flag(a: &str) -> bool {
    a.strip_prefix("--")
        .is_some_and(|n| n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\')
    {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile_path::Dir, PathBuf) {
        let d = tempfile_path::Dir::new();
        let p = d.0.join("test.conf");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    mod tempfile_path {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "shoal-cfg-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn file_then_argv() {
        let (_d, p) = write("# comment\nport 7000\nbind 127.0.0.1 ::1\nsave 900 1\nsave 300 10\nrequirepass \"a b\"\n");
        let c = Config::load(
            Some(&p),
            &[
                "--port".into(),
                "7001".into(),
                "--maxclients".into(),
                "50".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.get("save"), Some("300 10"));
        assert_eq!(c.requirepass.as_deref(), Some(&b"a b"[..]));
        assert_eq!(c.maxclients, 50);
    }

    #[test]
    fn errors_name_file_line_and_directive() {
        let (_d, p) = write("port 7000\n\nfoo bar\n");
        let e = Config::load(Some(&p), &[]).unwrap_err();
        assert!(e.location.ends_with("test.conf:3"), "{}", e.location);
        assert_eq!(e.line, "foo bar");
        assert_eq!(e.reason, "Bad directive or wrong number of arguments");
        let (_d, p) = write("port abc\n");
        let e = Config::load(Some(&p), &[]).unwrap_err();
        assert_eq!(e.reason, "argument couldn't be parsed into an integer");
        let e = Config::load(None, &["--maxclients".into(), "0".into()]).unwrap_err();
        assert_eq!(e.location, "command line");
        assert!(e.to_string().contains("maxclients 0"));
    }

    #[test]
    fn config_set_rules() {
        let c = Config::default();
        assert_eq!(
            c.with_set(&[("databases".into(), "3".into())]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(
            c.with_set(&[("foo".into(), "3".into())]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        let n = c
            .with_set(&[
                ("maxclients".into(), "10".into()),
                ("timeout".into(), "5".into()),
            ])
            .unwrap();
        assert_eq!((n.maxclients, n.timeout_secs), (10, 5));
        assert!(c
            .with_set(&[
                ("maxclients".into(), "10".into()),
                ("maxclients".into(), "2".into())
            ])
            .is_err());
    }

    #[test]
    fn keyspace_events_keep_classes_their_spelling_hides() {
        use crate::keyspace::events::{KEYEVENT, NEW};
        let c = Config::default()
            .with_set(&[("notify-keyspace-events".into(), "AKEn".into())])
            .unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("AKE"));
        assert_ne!(c.notify_flags & NEW, 0);
        let c = c
            .with_set(&[("notify-keyspace-events".into(), "Eg".into())])
            .unwrap();
        assert_eq!(c.notify_flags & NEW, 0);
        assert_ne!(c.notify_flags & KEYEVENT, 0);
    }

    #[test]
    fn rewrite_keeps_comments_and_updates() {
        let (_d, p) = write("# keep me\nport 7000\nmaxclients 5\nmaxclients 6\n");
        let c = Config::load(Some(&p), &[]).unwrap();
        let c = c
            .with_set(&[
                ("maxclients".into(), "9".into()),
                ("timeout".into(), "3".into()),
            ])
            .unwrap();
        let text = c.rewrite_text(&std::fs::read_to_string(&p).unwrap());
        assert_eq!(
            text,
            "# keep me\nport 7000\nmaxclients 9\n# Generated by CONFIG REWRITE\ntimeout 3\n"
        );
    }
}
