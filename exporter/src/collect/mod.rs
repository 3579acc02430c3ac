//! One scrape of one target.
//!
//! [`scrape`] opens a connection bounded by the scrape deadline and sends, in
//! a single pipelined round trip, what redis_exporter sends one by one:
//! `[AUTH]`, `[CLIENT SETNAME]`, `CONFIG GET *`, `INFO ALL`, `LATENCY LATEST`,
//! `LATENCY HISTOGRAM`, `SLOWLOG LEN`, `SLOWLOG GET 1`; then `CLUSTER INFO`
//! when INFO says `cluster_enabled:1`, and the `SENTINEL` queries when INFO
//! has a `# Sentinel` section. Only a failed connection, AUTH or INFO makes
//! the target down (`redis_up 0`); any other command may fail (a sentinel
//! refuses CONFIG, old servers lack LATENCY HISTOGRAM) and just yields fewer
//! series.
//!
//! The replies are collected into [`Replies`] and turned into metrics by the
//! pure function [`metrics_from`], which the golden tests feed directly.
//!
//! | submodule | replies it maps |
//! |---|---|
//! | [`server`] | INFO (every section redis_exporter reads), CONFIG GET, CLUSTER INFO |
//! | [`latency`] | LATENCY LATEST, LATENCY HISTOGRAM, SLOWLOG, INFO latencystats |
//! | [`sentinel`] | INFO `# Sentinel`, SENTINEL MASTERS/CKQUORUM/SENTINELS/SLAVES |
//! | [`shards`] | shoal-server's INFO `# Shards` section |

pub mod latency;
pub mod sentinel;
pub mod server;
pub mod shards;

use crate::config::Target;
use crate::conn::{cmd, Conn, ConnError};
use crate::info::Info;
use crate::model::{labels, MetricSet};
use resp::Frame;
use std::time::{Duration, Instant};

/// How to scrape.
#[derive(Clone, Debug)]
pub struct ScrapeOptions {
    /// Metric name prefix.
    pub namespace: String,
    /// Deadline for the whole scrape of one target.
    pub timeout: Duration,
    /// Send `CLIENT SETNAME shoal_exporter`.
    pub set_client_name: bool,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions {
            namespace: "redis".into(),
            timeout: Duration::from_secs(15),
            set_client_name: true,
        }
    }
}

/// Everything a target answered, as raw replies (absent = not asked or failed).
#[derive(Clone, Debug, Default)]
pub struct Replies {
    /// `INFO ALL` text.
    pub info: String,
    /// `CONFIG GET *`.
    pub config: Option<Frame>,
    /// `LATENCY LATEST`.
    pub latency_latest: Option<Frame>,
    /// `LATENCY HISTOGRAM`.
    pub latency_histogram: Option<Frame>,
    /// `SLOWLOG LEN`.
    pub slowlog_len: Option<Frame>,
    /// `SLOWLOG GET 1`.
    pub slowlog_get: Option<Frame>,
    /// `CLUSTER INFO` text.
    pub cluster_info: Option<String>,
    /// `SENTINEL MASTERS`.
    pub sentinel_masters: Option<Frame>,
    /// Per master name: `SENTINEL CKQUORUM`, `SENTINEL SENTINELS`, `SENTINEL SLAVES` replies.
    pub sentinel_details: Vec<(String, Frame, Frame, Frame)>,
}

/// The outcome of one scrape.
#[derive(Debug)]
pub struct ScrapeResult {
    /// Metrics, including `redis_up` and the per-scrape exporter gauges.
    pub metrics: MetricSet,
    /// Why the target is down, if it is.
    pub error: Option<String>,
    /// Wall time of the scrape.
    pub duration: Duration,
}

/// A frame's text (simple, bulk, verbatim), integers printed.
pub(crate) fn text(f: &Frame) -> Option<String> {
    match f {
        Frame::Integer(i) => Some(i.to_string()),
        Frame::Double(d) => Some(d.to_string()),
        Frame::Error(_) => None,
        other => other.as_text(),
    }
}

/// A frame as a number (integer, double, or numeric text).
pub(crate) fn number(f: &Frame) -> Option<f64> {
    match f {
        Frame::Integer(i) => Some(*i as f64),
        Frame::Double(d) => Some(*d),
        other => text(other).and_then(|t| t.trim().parse().ok()),
    }
}

/// A RESP2 flat `[k, v, k, v]` array or a RESP3 map as key/value pairs.
pub(crate) fn pairs(f: &Frame) -> Vec<(String, &Frame)> {
    match f {
        Frame::Map(kv) => kv
            .iter()
            .filter_map(|(k, v)| text(k).map(|k| (k, v)))
            .collect(),
        other => match other.as_array() {
            Some(items) => items
                .chunks_exact(2)
                .filter_map(|c| match c {
                    [k, v] => text(k).map(|k| (k, v)),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        },
    }
}

fn not_error(f: Frame) -> Option<Frame> {
    (!f.is_error()).then_some(f)
}

fn error_text(f: &Frame) -> String {
    match f {
        Frame::Error(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("unexpected reply {other}"),
    }
}

/// Talk to the target; `Err` means it is down.
fn fetch(
    target: &Target,
    opts: &ScrapeOptions,
    deadline: Instant,
    connect_time: &mut Duration,
) -> Result<Replies, String> {
    let t0 = Instant::now();
    let conn = Conn::connect(&target.hostport, deadline);
    *connect_time = t0.elapsed();
    let mut conn = conn.map_err(|e| format!("{}: {e}", target.hostport))?;
    let mut cmds = Vec::new();
    let auth = target.password.as_ref().map(|pw| match &target.user {
        Some(u) => cmd(&["AUTH", u, pw]),
        None => cmd(&["AUTH", pw]),
    });
    if let Some(a) = auth.clone() {
        cmds.push(a);
    }
    if opts.set_client_name {
        cmds.push(cmd(&["CLIENT", "SETNAME", "shoal_exporter"]));
    }
    let first = cmds.len();
    for c in [
        &["CONFIG", "GET", "*"][..],
        &["INFO", "ALL"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTOGRAM"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "GET", "1"],
    ] {
        cmds.push(cmd(c));
    }
    let io = |e: ConnError| format!("{}: {e}", target.hostport);
    let mut replies = conn.pipeline(&cmds).map_err(io)?.into_iter();
    if auth.is_some() {
        if let Some(r) = replies.next() {
            if r.is_error() {
                return Err(format!("AUTH failed: {}", error_text(&r)));
            }
        }
    }
    let mut rest: Vec<Frame> = replies.skip(first - usize::from(auth.is_some())).collect();
    rest.resize(6, Frame::Null);
    let [config, info, latest, hist, slen, sget]: [Frame; 6] = rest
        .try_into()
        .map_err(|_| "internal: reply count".to_string())?;
    let info = match text(&info) {
        Some(t) => t,
        None => {
            // Servers that do not know INFO ALL.
            let r = conn.call(&["INFO"]).map_err(io)?;
            text(&r).ok_or_else(|| format!("INFO failed: {}", error_text(&r)))?
        }
    };
    let mut out = Replies {
        info,
        config: not_error(config),
        latency_latest: not_error(latest),
        latency_histogram: not_error(hist),
        slowlog_len: not_error(slen),
        slowlog_get: not_error(sget),
        ..Replies::default()
    };
    if out.info.contains("cluster_enabled:1") {
        out.cluster_info = conn.call(&["CLUSTER", "INFO"]).ok().and_then(|f| text(&f));
    }
    if Info::parse(&out.info).has_section("Sentinel") {
        if let Ok(masters) = conn.call(&["SENTINEL", "MASTERS"]) {
            let names: Vec<String> = masters
                .as_array()
                .unwrap_or(&[])
                .iter()
                .filter_map(|m| {
                    pairs(m)
                        .into_iter()
                        .find(|(k, _)| k == "name")
                        .and_then(|(_, v)| text(v))
                })
                .collect();
            let mut q = Vec::new();
            for n in &names {
                q.push(cmd(&["SENTINEL", "CKQUORUM", n]));
                q.push(cmd(&["SENTINEL", "SENTINELS", n]));
                q.push(cmd(&["SENTINEL", "SLAVES", n]));
            }
            let r = conn.pipeline(&q).map_err(io)?;
            for (n, c) in names.into_iter().zip(r.chunks_exact(3)) {
                if let [ck, se, sl] = c {
                    out.sentinel_details
                        .push((n, ck.clone(), se.clone(), sl.clone()));
                }
            }
            out.sentinel_masters = not_error(masters);
        }
    }
    Ok(out)
}

/// Turn a target's replies into metric families (everything but the
/// exporter's own per-scrape gauges).
pub fn metrics_from(r: &Replies, namespace: &str) -> MetricSet {
    let mut m = MetricSet::new(namespace);
    let info = Info::parse(&r.info);
    server::collect(&mut m, &info, r);
    latency::collect(&mut m, &info, r);
    sentinel::collect(&mut m, &info, r);
    shards::collect(&mut m, &info);
    m
}

/// Scrape one target. Never fails: a down target is `redis_up 0` plus the error.
pub fn scrape(target: &Target, opts: &ScrapeOptions) -> ScrapeResult {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut connect_time = Duration::ZERO;
    let fetched = fetch(target, opts, deadline, &mut connect_time);
    let (mut metrics, error) = match fetched {
        Ok(r) => (metrics_from(&r, &opts.namespace), None),
        Err(e) => (MetricSet::new(&opts.namespace), Some(e)),
    };
    let duration = start.elapsed();
    let up = if error.is_some() { 0.0 } else { 1.0 };
    metrics.gauge(
        "up",
        "1 when the last scrape of the target succeeded (connect, AUTH and INFO), else 0",
        vec![],
        up,
    );
    metrics.gauge(
        "exporter_last_scrape_error",
        "1 when the last scrape failed, with the error in the err label",
        labels(&[("err", error.as_deref().unwrap_or(""))]),
        1.0 - up,
    );
    metrics.gauge(
        "exporter_last_scrape_duration_seconds",
        "Duration of the last scrape of the target",
        vec![],
        duration.as_secs_f64(),
    );
    metrics.gauge(
        "exporter_last_scrape_connect_time_seconds",
        "Time taken by the TCP connect of the last scrape",
        vec![],
        connect_time.as_secs_f64(),
    );
    metrics.add_labels(&target.labels);
    ScrapeResult {
        metrics,
        error,
        duration,
    }
}
