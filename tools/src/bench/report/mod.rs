//! Reports: the data model of a run, and the writers of `--report DIR`.
//!
//! | file | module | what |
//! |---|---|---|
//! | report.json | here (serde) | everything: flags, machine, targets' INFO, every run with its whole histogram |
//! | report.md | [`markdown`] | tables to paste into docs |
//! | report.html | [`html`] with [`svg`] | one self-contained page: percentile spectra, latency vs offered load, throughput over time |
//!
//! The writers read only [`Report`], never live histograms, so a report can be
//! rebuilt from its JSON. `tools/schema/report.schema.json` describes the JSON;
//! the integration tests validate against it.

pub mod html;
pub mod markdown;
pub mod svg;

use crate::bench::hist::{self, Hist, Summary};
use crate::bench::machine::Machine;
use crate::bench::subscribers::Delivery;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The schema identifier written into report.json.
pub const SCHEMA: &str = "shoal-benchmark/report/v1";

/// The JSON schema of report.json.
pub const JSON_SCHEMA: &str = include_str!("../../../schema/report.schema.json");

/// A whole run of shoal-benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA`]
    pub schema: String,
    /// `shoal-benchmark`
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// Start time, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// argv, for reproduction.
    pub command_line: Vec<String>,
    /// The settings in force.
    pub settings: Settings,
    /// The generator's machine.
    pub machine: Machine,
    /// The servers.
    pub targets: Vec<TargetRecord>,
    /// Every measured run, in the order they ran.
    pub runs: Vec<RunRecord>,
}

/// Settings that shape every run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// `closed`, `open` or `sweep`
    pub mode: String,
    /// Offered rates (open loop and sweeps).
    pub rates: Vec<f64>,
    /// -c
    pub clients: usize,
    /// -n
    pub requests: u64,
    /// --duration
    pub duration_s: Option<f64>,
    /// -d
    pub datasize: usize,
    /// -P
    pub pipeline: u32,
    /// --threads
    pub threads: usize,
    /// -r (or the preset's keyspace)
    pub keyspace: Option<u64>,
    /// --key-dist
    pub key_dist: String,
    /// --cluster
    pub cluster: bool,
    /// -k
    pub keepalive: bool,
    /// --seed
    pub seed: u64,
    /// --interval-ms
    pub interval_ms: u64,
}

/// A server of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Name given with --target (or the address).
    pub name: String,
    /// Where it listens.
    pub address: String,
    /// Cluster masters, when --cluster.
    pub cluster_nodes: Vec<String>,
    /// `INFO server` fields.
    pub info: BTreeMap<String, String>,
    /// `CONFIG GET save`
    pub save: Option<String>,
    /// `CONFIG GET appendonly`
    pub appendonly: Option<String>,
}

/// One histogram, whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistRecord {
    /// Always `us`.
    pub unit: String,
    /// Lowest discernible value.
    pub lowest: u64,
    /// Highest trackable value.
    pub highest: u64,
    /// Significant digits.
    pub significant_digits: u8,
    /// HdrHistogram V2 compressed, base64 (as in interval logs).
    pub hdr_base64: String,
    /// `[value_us, count]` for every recorded bucket.
    pub buckets: Vec<[u64; 2]>,
}

impl HistRecord {
    /// Record a histogram.
    pub fn of(h: &Hist) -> Result<HistRecord, String> {
        Ok(HistRecord {
            unit: "us".into(),
            lowest: hist::LOWEST_US,
            highest: hist::HIGHEST_US,
            significant_digits: hist::SIGFIG,
            hdr_base64: hist::encode(h)?,
            buckets: hist::buckets(h).into_iter().map(|(v, c)| [v, c]).collect(),
        })
    }
}

/// One operation kind of a mixed workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpRecord {
    /// `read`, `write`, `hit`, `op`
    pub label: String,
    /// Latency of this kind alone.
    pub latency: Summary,
}

/// One time-series point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntervalRecord {
    /// End of the interval, seconds from the start.
    pub t_s: f64,
    /// Requests completed in it.
    pub requests: u64,
    /// Their rate.
    pub rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// Completions counted in fixed bins.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// Bin width.
    pub bin_ms: u64,
    /// Requests completed in each bin, from the start.
    pub counts: Vec<u64>,
}

impl Throughput {
    /// `(end of bin in s, requests/s)` points; the last bin is cut at `duration_s`.
    /// A last bin shorter than half a bin is left out: a few replies over a
    /// sliver of time would draw a spike or a cliff that never happened.
    pub fn points(&self, duration_s: f64) -> Vec<(f64, f64)> {
        let w = self.bin_ms as f64 / 1000.0;
        self.counts
            .iter()
            .enumerate()
            .filter_map(|(i, &c)| {
                let start = i as f64 * w;
                let end = (start + w).min(duration_s);
                (end - start >= w / 2.0).then(|| (end, c as f64 / (end - start)))
            })
            .collect()
    }
}

/// One test against one target at one load.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Title (`SET`, `LRANGE_100 (first 100 elements)`).
    pub test: String,
    /// -t name.
    pub test_id: String,
    /// Target name.
    pub target: String,
    /// `closed` or `open`.
    pub mode: String,
    /// Open loop: offered rate.
    pub offered_rps: Option<f64>,
    /// Connections.
    pub clients: usize,
    /// -P (closed loop).
    pub pipeline: u32,
    /// Completed requests (operations).
    pub requests: u64,
    /// Requests with an error reply.
    pub errors: u64,
    /// A few distinct error texts.
    pub error_samples: Vec<String>,
    /// Start to last reply.
    pub duration_s: f64,
    /// requests / duration.
    pub rps: f64,
    /// Latency summary.
    pub latency: Summary,
    /// Per operation kind (presets).
    pub per_op: Vec<OpRecord>,
    /// `[percentile, ms]` points of the percentile spectrum.
    pub spectrum: Vec<[f64; 2]>,
    /// The whole histogram.
    pub histogram: HistRecord,
    /// Latency and throughput per `--interval-ms`.
    pub intervals: Vec<IntervalRecord>,
    /// Completions per 100 ms since the start (finer throughput over time).
    pub throughput: Throughput,
    /// Cluster redirects followed.
    pub redirects: u64,
    /// Open loop: how late requests left after their due time. A large p99
    /// means the generator fell behind (CPU starved, or the in-flight cap),
    /// and the latencies include that delay.
    pub send_lag: Option<Summary>,
    /// Open loop: the server could not keep up with the offered rate.
    pub saturated: bool,
    /// -l round (0 without -l).
    pub round: u32,
    /// `--preset publish`: what the subscribers received (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// Write report.json, report.md and report.html into `dir`.
pub fn write_all(dir: &Path, report: &Report) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    // Compact: pretty-printing puts every histogram bucket on its own line (5x larger).
    let json = serde_json::to_string(report).map_err(|e| format!("report.json: {e}"))?;
    write("report.json", &json)?;
    write("report.md", &markdown::render(report))?;
    write("report.html", &html::render(report))?;
    Ok(())
}

/// Send lag p99 above which a run is flagged: the generator, not the server,
/// may be what the latencies show.
pub const LAG_WARN_MS: f64 = 1.0;

/// The warning for a run whose requests left late, if any.
pub fn lag_warning(r: &RunRecord) -> Option<String> {
    let lag = r.send_lag.as_ref().filter(|l| l.p99_ms > LAG_WARN_MS)?;
    Some(format!(
        "{} on {}: requests left up to {} ms after their due time (p99 {} ms): the generator fell behind (CPU, or --max-inflight), and the latencies include that delay",
        r.test,
        r.target,
        fmt_ms(lag.max_ms),
        fmt_ms(lag.p99_ms)
    ))
}

/// Format milliseconds for tables: 3 decimals below 10 ms, fewer above.
pub fn fmt_ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.3}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_points_skip_a_sliver_at_the_end() {
        let t = Throughput {
            bin_ms: 100,
            counts: vec![10, 20, 1],
        };
        assert_eq!(t.points(0.201), vec![(0.1, 100.0), (0.2, 200.0)]);
        let p = t.points(0.26);
        assert_eq!(p.len(), 3);
        assert!((p[2].1 - 1.0 / 0.06).abs() < 1e-6);
    }

    #[test]
    fn late_sends_are_flagged() {
        let mut r = sample::run("GET", "redis", "open", Some(1000.0), 1);
        assert_eq!(lag_warning(&r), None);
        r.send_lag = Some(Summary {
            p99_ms: 12.0,
            max_ms: 40.0,
            ..Summary::default()
        });
        let w = lag_warning(&r).unwrap();
        assert!(
            w.contains("GET on redis") && w.contains("40.0 ms") && w.contains("p99 12.0 ms"),
            "{w}"
        );
        let closed = sample::run("GET", "redis", "closed", None, 1);
        assert_eq!(closed.send_lag, None);
    }

    #[test]
    fn every_writer_runs_and_json_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &sample::report()).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
                .unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["runs"].as_array().unwrap().len(), 8);
        let back: RunRecord = serde_json::from_value(v["runs"][0].clone()).unwrap();
        assert_eq!(back.requests, 2000);
        let h = hist::decode(&back.histogram.hdr_base64).unwrap();
        assert_eq!(h.len(), 2000);
        assert!(dir.path().join("report.md").exists() && dir.path().join("report.html").exists());
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A small report for the writers' unit tests.
    use super::*;

    pub fn run(test: &str, target: &str, mode: &str, rate: Option<f64>, scale: u64) -> RunRecord {
        let mut h = hist::new();
        for v in 1..=2000u64 {
            h.record(v * scale).unwrap();
        }
        RunRecord {
            test: test.into(),
            test_id: test.to_ascii_lowercase(),
            target: target.into(),
            mode: mode.into(),
            offered_rps: rate,
            clients: 50,
            pipeline: 1,
            requests: h.len(),
            errors: 0,
            error_samples: vec![],
            duration_s: 1.0,
            rps: rate.unwrap_or(2000.0) * 0.99,
            latency: Summary::of(&h),
            per_op: vec![],
            spectrum: hist::spectrum(&h)
                .into_iter()
                .map(|(p, v)| [p, v])
                .collect(),
            histogram: HistRecord::of(&h).unwrap(),
            intervals: (1..=3u32)
                .map(|i| IntervalRecord {
                    t_s: f64::from(i),
                    requests: 600 + u64::from(i),
                    rps: 600.0 + f64::from(i),
                    p50_ms: 1.0,
                    p99_ms: 2.0,
                    max_ms: 3.0,
                })
                .collect(),
            throughput: Throughput {
                bin_ms: 100,
                counts: vec![190, 200, 210, 200, 200, 200, 200, 200, 200, 200],
            },
            redirects: 0,
            send_lag: rate.map(|_| Summary::default()),
            saturated: false,
            round: 0,
            delivery: None,
        }
    }

    pub fn report() -> Report {
        let mut runs = vec![
            run("SET", "shoal", "closed", None, 1),
            run("SET", "redis<&>", "closed", None, 2),
        ];
        for (i, r) in [1000.0, 2000.0, 4000.0].into_iter().enumerate() {
            runs.push(run("GET", "shoal", "open", Some(r), 1 + i as u64));
            runs.push(run("GET", "redis<&>", "open", Some(r), 2 + i as u64));
        }
        Report {
            schema: SCHEMA.into(),
            tool: "shoal-benchmark".into(),
            version: "0.1.0".into(),
            started_unix_s: 1_700_000_000,
            command_line: vec!["shoal-benchmark".into(), "-t".into(), "set".into()],
            settings: Settings {
                mode: "sweep".into(),
                rates: vec![1000.0, 2000.0, 4000.0],
                clients: 50,
                requests: 2000,
                duration_s: None,
                datasize: 3,
                pipeline: 1,
                threads: 1,
                keyspace: None,
                key_dist: "uniform".into(),
                cluster: false,
                keepalive: true,
                seed: 1,
                interval_ms: 1000,
            },
            machine: Machine::probe(),
            targets: vec![],
            runs,
        }
    }
}
