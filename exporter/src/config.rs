//! Settings: command-line flags, environment variables and a TOML config file.
//!
//! Flags keep redis_exporter's names (`--redis.addr`, `--redis.password`,
//! `--web.listen-address`, `--namespace`, ...) and its environment variables
//! (`REDIS_ADDR`, `REDIS_PASSWORD`, `REDIS_EXPORTER_WEB_LISTEN_ADDRESS`, ...);
//! Go-style single-dash spellings (`-redis.addr`) are accepted too, so an
//! existing unit file keeps working. Precedence: flag or environment, then the
//! config file (`--config`), then defaults. Every error names its source: the
//! flag, or the file with line, column and key (the TOML parser reports them).

use crate::conn::parse_address;
use crate::model::Labels;
use clap::Parser;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Command-line flags (each may also come from its environment variable).
#[derive(Parser, Debug, Default)]
#[command(
    name = "shoal-exporter",
    version,
    about = "Prometheus exporter for shoal-server, redis-server and sentinels (redis_exporter-compatible metric names)"
)]
pub struct Flags {
    /// Target address(es): host:port or redis://[user:pass@]host:port; comma-separated or repeated.
    /// An empty value means no fixed target (multi-target mode: /scrape?target= only).
    #[arg(long = "redis.addr", env = "REDIS_ADDR", value_delimiter = ',')]
    pub redis_addr: Vec<String>,
    /// User name for AUTH (ACL).
    #[arg(long = "redis.user", env = "REDIS_USER")]
    pub redis_user: Option<String>,
    /// Password for AUTH.
    #[arg(
        long = "redis.password",
        env = "REDIS_PASSWORD",
        hide_env_values = true
    )]
    pub redis_password: Option<String>,
    /// JSON file mapping target addresses to passwords (for /scrape?target=).
    #[arg(long = "redis.password-file", env = "REDIS_PASSWORD_FILE")]
    pub redis_password_file: Option<PathBuf>,
    /// Labels added to every series of the flag targets: name=value,name=value.
    #[arg(long = "redis.labels", env = "REDIS_EXPORTER_LABELS")]
    pub redis_labels: Option<String>,
    /// Metric name prefix.
    #[arg(long = "namespace", env = "REDIS_EXPORTER_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address to serve HTTP on.
    #[arg(long = "web.listen-address", env = "REDIS_EXPORTER_WEB_LISTEN_ADDRESS")]
    pub listen_address: Option<String>,
    /// Path of the metrics endpoint.
    #[arg(long = "web.telemetry-path", env = "REDIS_EXPORTER_WEB_TELEMETRY_PATH")]
    pub telemetry_path: Option<String>,
    /// Deadline for one scrape of one target (connect + all commands), e.g. 5s, 500ms.
    #[arg(long = "connection-timeout", env = "REDIS_EXPORTER_CONNECTION_TIMEOUT")]
    pub connection_timeout: Option<String>,
    /// Do not send CLIENT SETNAME before scraping.
    #[arg(long = "no-set-client-name", env = "REDIS_EXPORTER_NO_SET_CLIENT_NAME")]
    pub no_set_client_name: bool,
    /// TOML config file (targets with labels and credentials, and any setting above).
    #[arg(long = "config", env = "SHOAL_EXPORTER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Push the same metrics over OTLP/HTTP to this endpoint (e.g. http://127.0.0.1:4318).
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Interval between OTLP pushes.
    #[arg(long = "otlp-interval", env = "SHOAL_EXPORTER_OTLP_INTERVAL")]
    pub otlp_interval: Option<String>,
}

/// The config file, as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    namespace: Option<String>,
    listen_address: Option<String>,
    telemetry_path: Option<String>,
    #[serde(default, deserialize_with = "de_duration")]
    connection_timeout: Option<Duration>,
    set_client_name: Option<bool>,
    otlp_endpoint: Option<String>,
    #[serde(default, deserialize_with = "de_duration")]
    otlp_interval: Option<Duration>,
    password_file: Option<PathBuf>,
    #[serde(default)]
    targets: Vec<FileTarget>,
}

/// One `[[targets]]` entry.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    #[serde(deserialize_with = "de_addr")]
    addr: String,
    user: Option<String>,
    password: Option<String>,
    #[serde(default, deserialize_with = "de_labels")]
    labels: BTreeMap<String, String>,
}

/// One target to scrape, with its credentials and constant labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The address as configured (`redis://host:port` or `host:port`).
    pub addr: String,
    /// `host:port` to connect to.
    pub hostport: String,
    /// AUTH user.
    pub user: Option<String>,
    /// AUTH password.
    pub password: Option<String>,
    /// Labels added to every series of this target.
    pub labels: Labels,
}

/// Everything the exporter needs, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Metric name prefix (`redis`).
    pub namespace: String,
    /// HTTP listen address.
    pub listen_address: String,
    /// Metrics path (`/metrics`).
    pub telemetry_path: String,
    /// Deadline per target scrape.
    pub timeout: Duration,
    /// Send `CLIENT SETNAME shoal_exporter`.
    pub set_client_name: bool,
    /// Targets of `/metrics` (and of OTLP pushes).
    pub targets: Vec<Target>,
    /// Credentials for `/scrape?target=` by address.
    pub passwords: HashMap<String, String>,
    /// Default AUTH user/password for `/scrape?target=` targets not otherwise known.
    pub default_user: Option<String>,
    /// See `default_user`.
    pub default_password: Option<String>,
    /// OTLP/HTTP endpoint.
    pub otlp_endpoint: Option<String>,
    /// OTLP push interval.
    pub otlp_interval: Duration,
}

/// Parse `5s`, `500ms`, `1m`, `2.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * mult <= 86_400.0 => {
            Ok(Duration::from_secs_f64(v * mult))
        }
        _ => Err(format!(
            "invalid duration {s:?} (expected e.g. 5s, 500ms, 1m)"
        )),
    }
}

/// Parse `name=value,name=value` labels, checking names are valid Prometheus label names.
pub fn parse_labels(s: &str) -> Result<Labels, String> {
    let mut out = Labels::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("label {part:?} is not name=value"))?;
        check_label_name(k.trim())?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

fn check_label_name(k: &str) -> Result<(), String> {
    let mut chars = k.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with("__");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid label name {k:?} (letters, digits and _, not starting with a digit or __)"
        ))
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn de_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    parse_address(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn de_labels<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m = BTreeMap::<String, String>::deserialize(d)?;
    for k in m.keys() {
        check_label_name(k).map_err(serde::de::Error::custom)?;
    }
    Ok(m)
}

/// Read and parse the config file; errors name the file (and line/key, from the parser).
pub fn load_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

fn load_password_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("password file {}: {e}", path.display()))?;
    let map: HashMap<String, String> =
        json_password_map(&text).map_err(|e| format!("password file {}: {e}", path.display()))?;
    Ok(map)
}

/// redis_exporter's password file: a flat JSON object `{"redis://h:p": "pw"}`.
fn json_password_map(text: &str) -> Result<HashMap<String, String>, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("expected a JSON object {{\"address\": \"password\"}}: {e}"))
}

fn target_from(
    addr: &str,
    user: Option<String>,
    password: Option<String>,
    labels: Labels,
) -> Result<Target, String> {
    let (hostport, url_user, url_pass) = parse_address(addr).map_err(|e| e.to_string())?;
    Ok(Target {
        addr: addr.to_string(),
        hostport,
        user: url_user.or(user),
        password: url_pass.or(password),
        labels,
    })
}

/// Resolve flags (plus the config file they name) into settings.
pub fn resolve(flags: Flags) -> Result<Settings, String> {
    let file = match &flags.config {
        Some(p) => load_file(p)?,
        None => FileConfig::default(),
    };
    let timeout = match &flags.connection_timeout {
        Some(s) => parse_duration(s).map_err(|e| format!("--connection-timeout: {e}"))?,
        None => file.connection_timeout.unwrap_or(Duration::from_secs(15)),
    };
    let otlp_interval = match &flags.otlp_interval {
        Some(s) => parse_duration(s).map_err(|e| format!("--otlp-interval: {e}"))?,
        None => file.otlp_interval.unwrap_or(Duration::from_secs(15)),
    };
    let flag_labels = match &flags.redis_labels {
        Some(s) => parse_labels(s).map_err(|e| format!("--redis.labels: {e}"))?,
        None => Labels::new(),
    };
    // `--redis.addr ""` (REDIS_ADDR="") or a config file without [[targets]] means
    // no fixed target: multi-target mode, /scrape?target= only (as redis_exporter).
    let mut targets = Vec::new();
    let addrs: Vec<&String> = flags
        .redis_addr
        .iter()
        .filter(|a| !a.trim().is_empty())
        .collect();
    if !flags.redis_addr.is_empty() {
        for a in addrs {
            targets.push(
                target_from(
                    a.trim(),
                    flags.redis_user.clone(),
                    flags.redis_password.clone(),
                    flag_labels.clone(),
                )
                .map_err(|e| format!("--redis.addr: {e}"))?,
            );
        }
    } else if flags.config.is_some() {
        for t in file.targets {
            let labels = t.labels.into_iter().collect();
            targets.push(target_from(&t.addr, t.user, t.password, labels)?);
        }
    } else {
        targets.push(target_from(
            "redis://localhost:6379",
            flags.redis_user.clone(),
            flags.redis_password.clone(),
            flag_labels,
        )?);
    }
    let mut passwords = HashMap::new();
    if let Some(p) = flags
        .redis_password_file
        .as_ref()
        .or(file.password_file.as_ref())
    {
        passwords = load_password_file(p)?;
    }
    let namespace = flags
        .namespace
        .or(file.namespace)
        .unwrap_or_else(|| "redis".into());
    if !namespace.is_empty() {
        check_label_name(&namespace).map_err(|e| format!("--namespace: {e}"))?;
    }
    let telemetry_path = flags
        .telemetry_path
        .or(file.telemetry_path)
        .unwrap_or_else(|| "/metrics".into());
    if !telemetry_path.starts_with('/') || telemetry_path == "/scrape" {
        return Err(format!(
            "--web.telemetry-path: {telemetry_path:?} must start with / and not be /scrape"
        ));
    }
    let otlp_endpoint = flags.otlp_endpoint.or(file.otlp_endpoint);
    if let Some(e) = &otlp_endpoint {
        if !e.starts_with("http://") {
            return Err(format!(
                "--otlp-endpoint: {e:?} must be an http:// URL (TLS is not supported)"
            ));
        }
    }
    Ok(Settings {
        namespace,
        listen_address: flags
            .listen_address
            .or(file.listen_address)
            .unwrap_or_else(|| "0.0.0.0:9121".into()),
        telemetry_path,
        timeout,
        set_client_name: !flags.no_set_client_name && file.set_client_name.unwrap_or(true),
        targets,
        passwords,
        default_user: flags.redis_user,
        default_password: flags.redis_password,
        otlp_endpoint,
        otlp_interval,
    })
}

/// Accept Go-style single-dash long flags (`-redis.addr x`) by rewriting them to `--redis.addr`.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let long_single = i > 0 && a.starts_with('-') && !a.starts_with("--") && a.len() > 2;
            if long_single && a.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic()) {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

impl Settings {
    /// The target for `/scrape?target=addr`: a configured target with that
    /// address, else the address with the password file's or default credentials.
    pub fn scrape_target(&self, addr: &str) -> Result<Target, String> {
        if let Some(t) = self
            .targets
            .iter()
            .find(|t| t.addr == addr || t.hostport == addr)
        {
            return Ok(t.clone());
        }
        let pw = self
            .passwords
            .get(addr)
            .cloned()
            .or_else(|| self.default_password.clone());
        target_from(addr, self.default_user.clone(), pw, Labels::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn labels_are_checked() {
        assert_eq!(
            parse_labels("env=prod, role=primary").map(|l| l.len()),
            Ok(2)
        );
        assert!(parse_labels("1x=a").is_err());
        assert!(parse_labels("novalue").is_err());
    }

    #[test]
    fn single_dash_long_flags_are_rewritten() {
        let a = normalize_args(
            ["x", "-redis.addr", "h:1", "-h", "--namespace", "-5"].map(String::from),
        );
        assert_eq!(a, ["x", "--redis.addr", "h:1", "-h", "--namespace", "-5"]);
    }

    #[test]
    fn config_file_errors_name_line_and_key() {
        let bad =
            "namespace = \"redis\"\n[[targets]]\naddr = \"redis://h:1\"\nlables = { a = \"b\" }\n";
        let e = toml::from_str::<FileConfig>(bad)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let e = e.err().unwrap_or_default();
        assert!(e.contains("line 4") && e.contains("lables"), "{e}");
        let bad = "connection_timeout = \"soon\"\n";
        let e = toml::from_str::<FileConfig>(bad)
            .map(|_| ())
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("line 1") && e.contains("invalid duration"),
            "{e}"
        );
    }

    #[test]
    fn password_file_flat_json() {
        let m = json_password_map(r#"{"redis://a:1": "p1", "b:2": "p\"2"}"#);
        assert_eq!(
            m.as_ref().map(|m| m.get("redis://a:1").cloned()),
            Ok(Some("p1".into()))
        );
        assert_eq!(
            m.as_ref().map(|m| m.get("b:2").cloned()),
            Ok(Some("p\"2".into()))
        );
        assert!(json_password_map("[1]").is_err());
    }
}
