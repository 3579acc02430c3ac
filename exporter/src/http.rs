//! The HTTP side: routes, content negotiation and the exporter's own counters.
//!
//! | route | answer |
//! |---|---|
//! | `/metrics` (`--web.telemetry-path`) | every configured target, scraped in parallel, plus exporter metrics |
//! | `/scrape?target=host:port` | that one target (Prometheus multi-target pattern), plus exporter metrics |
//! | `/health` | `ok` |
//! | `/` | a short index |
//!
//! A target that is down never fails the request: it is `redis_up 0` with
//! the error in `redis_exporter_last_scrape_error{err}`, and
//! `redis_exporter_scrape_errors_total{target}` counts it. Only a malformed
//! `/scrape` request is an HTTP error (400), counted by
//! `redis_target_scrape_request_errors_total` as redis_exporter does.
//! With more than one target on `/metrics`, each target's series carry a
//! `target` label so they stay distinct.

use crate::collect::{scrape, ScrapeOptions, ScrapeResult};
use crate::config::{Settings, Target};
use crate::expo::{encode, negotiate};
use crate::model::{labels, Kind, MetricSet, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests served at once; more get 503 (scrapes are bounded, so this only bites under abuse).
const MAX_IN_FLIGHT: usize = 64;

/// Shared exporter state.
#[derive(Debug)]
pub struct Exporter {
    settings: Settings,
    scrapes_total: AtomicU64,
    request_errors: AtomicU64,
    durations: Mutex<(f64, u64)>,
    target_errors: Mutex<HashMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Exporter {
    /// New state for these settings.
    pub fn new(settings: Settings) -> Exporter {
        Exporter {
            settings,
            scrapes_total: AtomicU64::new(0),
            request_errors: AtomicU64::new(0),
            durations: Mutex::new((0.0, 0)),
            target_errors: Mutex::new(HashMap::new()),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn options(&self) -> ScrapeOptions {
        ScrapeOptions {
            namespace: self.settings.namespace.clone(),
            timeout: self.settings.timeout,
            set_client_name: self.settings.set_client_name,
        }
    }

    fn record(&self, target: &Target, r: &ScrapeResult) {
        self.scrapes_total.fetch_add(1, Ordering::Relaxed);
        let mut d = lock(&self.durations);
        d.0 += r.duration.as_secs_f64();
        d.1 += 1;
        let mut errs = lock(&self.target_errors);
        let e = errs.entry(target.addr.clone()).or_insert(0);
        if r.error.is_some() {
            *e += 1;
        }
    }

    fn exporter_metrics(&self, m: &mut MetricSet, targets: &[&Target]) {
        m.counter(
            "exporter_scrapes_total",
            "Current total redis scrapes.",
            vec![],
            self.scrapes_total.load(Ordering::Relaxed) as f64,
        );
        let (sum, count) = *lock(&self.durations);
        m.push(
            "exporter_scrape_duration_seconds",
            "Durations of scrapes by the exporter",
            Kind::Summary,
            vec![],
            Value::Summary {
                quantiles: vec![],
                sum,
                count,
            },
        );
        m.counter(
            "target_scrape_request_errors_total",
            "Errors in requests to the exporter",
            vec![],
            self.request_errors.load(Ordering::Relaxed) as f64,
        );
        let errs = lock(&self.target_errors);
        for t in targets {
            m.counter(
                "exporter_scrape_errors_total",
                "Failed scrapes of the target (connect, AUTH, INFO or timeout) since the exporter started",
                labels(&[("target", &t.addr)]),
                errs.get(&t.addr).copied().unwrap_or(0) as f64,
            );
        }
        m.gauge(
            "exporter_build_info",
            "shoal-exporter build information",
            labels(&[
                ("version", crate::VERSION),
                ("implementation", "shoal-exporter"),
            ]),
            1.0,
        );
    }

    /// Scrape these targets (in parallel) into one set; with several targets each
    /// target's series get a `target` label.
    pub fn collect(&self, targets: &[&Target]) -> MetricSet {
        let opts = self.options();
        let results: Vec<ScrapeResult> = std::thread::scope(|s| {
            let handles: Vec<_> = targets
                .iter()
                .map(|t| s.spawn(|| scrape(t, &opts)))
                .collect();
            handles
                .into_iter()
                .zip(targets)
                .map(|(h, t)| {
                    h.join().unwrap_or_else(|_| {
                        // A panic in a collector is a bug; report the target down rather than abort.
                        let mut m = MetricSet::new(&opts.namespace);
                        m.gauge("up", "", vec![], 0.0);
                        ScrapeResult {
                            metrics: m,
                            error: Some(format!("{}: internal error", t.addr)),
                            duration: Duration::ZERO,
                        }
                    })
                })
                .collect()
        });
        let mut all = MetricSet::new(&self.settings.namespace);
        for (t, mut r) in targets.iter().zip(results) {
            if let Some(e) = &r.error {
                eprintln!("shoal-exporter: scrape of {} failed: {e}", t.addr);
            }
            self.record(t, &r);
            if targets.len() > 1 {
                r.metrics
                    .add_labels(&[("target".to_string(), t.addr.clone())]);
            }
            all.extend(r.metrics);
        }
        self.exporter_metrics(&mut all, targets);
        all
    }

    /// The configured targets (`/metrics`, OTLP).
    pub fn collect_configured(&self) -> MetricSet {
        let targets: Vec<&Target> = self.settings.targets.iter().collect();
        self.collect(&targets)
    }
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'%') => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(x) = hex {
                    out.push(x);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            Some(b'+') => out.push(b' '),
            Some(&c) => out.push(c),
            None => {}
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Resp = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn respond(status: u16, content_type: &str, body: String) -> Resp {
    let mut r = tiny_http::Response::from_string(body).with_status_code(status);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        r.add_header(h);
    }
    r
}

/// Answer one request (routing and negotiation; no I/O on the request itself).
pub fn handle(
    ex: &Exporter,
    method: &str,
    url: &str,
    accept: Option<&str>,
) -> (u16, String, String) {
    let path = url.split('?').next().unwrap_or("");
    let fmt = negotiate(accept);
    if method != "GET" && method != "HEAD" {
        return (405, "text/plain".into(), "only GET\n".into());
    }
    if path == ex.settings.telemetry_path {
        let m = ex.collect_configured();
        return (200, fmt.content_type().into(), encode(&m, fmt));
    }
    match path {
        "/scrape" => {
            let target = match query_param(url, "target").filter(|t| !t.is_empty()) {
                Some(t) => t,
                None => {
                    ex.request_errors.fetch_add(1, Ordering::Relaxed);
                    return (400, "text/plain".into(), "'target' parameter must be specified\n".into());
                }
            };
            match ex.settings.scrape_target(&target) {
                Ok(t) => {
                    let m = ex.collect(&[&t]);
                    (200, fmt.content_type().into(), encode(&m, fmt))
                }
                Err(e) => {
                    ex.request_errors.fetch_add(1, Ordering::Relaxed);
                    (400, "text/plain".into(), format!("invalid target: {e}\n"))
                }
            }
        }
        "/health" => (200, "text/plain".into(), "ok\n".into()),
        "/" => (
            200,
            "text/html".into(),
            format!(
                "<html><head><title>shoal-exporter</title></head><body><h1>shoal-exporter {}</h1>\
                 <p><a href=\"{}\">Metrics</a> · /scrape?target=host:port · <a href=\"/health\">Health</a></p></body></html>\n",
                crate::VERSION,
                ex.settings.telemetry_path
            ),
        ),
        _ => (404, "text/plain".into(), "not found\n".into()),
    }
}

/// Serve HTTP until the process ends. Errors only when the address cannot be bound.
pub fn serve(ex: Arc<Exporter>) -> Result<(), String> {
    let addr = ex.settings.listen_address.clone();
    let server =
        tiny_http::Server::http(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!("shoal-exporter {} listening on {addr}", crate::VERSION);
    let in_flight = Arc::new(AtomicUsize::new(0));
    for req in server.incoming_requests() {
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = req.respond(respond(503, "text/plain", "busy\n".into()));
            continue;
        }
        let ex = Arc::clone(&ex);
        let flight = Arc::clone(&in_flight);
        std::thread::spawn(move || {
            let accept = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_string());
            let (status, ct, body) =
                handle(&ex, req.method().as_str(), req.url(), accept.as_deref());
            let _ = req.respond(respond(status, &ct, body));
            flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(
            query_param("/scrape?target=redis%3A%2F%2Fh%3A1&x=2", "target"),
            Some("redis://h:1".into())
        );
        assert_eq!(query_param("/scrape?x=1", "target"), None);
        assert_eq!(query_param("/scrape", "target"), None);
        assert_eq!(percent_decode("a%zzb%4"), "a%zzb%4");
    }
}
