//! The run: prepare targets, run every test × load × target, print, report.
//!
//! Order matters for fair comparisons: for each test and each offered load,
//! every target runs once before the next test starts, and the order of the
//! targets rotates from test to test, so background noise and warm-up hit all
//! targets alike. A sweep stops raising the load on a target once it
//! saturates (completed less than 90 % of the offered rate).

use crate::bench::cli::{Config, Pacing, TestChoice};
use crate::bench::cluster::SlotMap;
use crate::bench::conn::{text, Blocking, Endpoint};
use crate::bench::driver::{self, Mode, Plan, Progress};
use crate::bench::hist::{self, Hist, Summary};
use crate::bench::machine::{self, Machine};
use crate::bench::output::{self, Header, ProgressBar, Style};
use crate::bench::report::{
    self, HistRecord, IntervalRecord, OpRecord, Report, RunRecord, Settings, TargetRecord,
    Throughput,
};
use crate::bench::schedule::Schedule;
use crate::bench::subscribers::Subscribers;
use crate::bench::workload::{self, Keys, SessionOptions, TestOptions, Workload};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A prepared target.
struct Prepared {
    name: String,
    endpoint: Endpoint,
    slots: Option<SlotMap>,
    header: Header,
    record: TargetRecord,
}

/// Below this fraction of the offered rate, an open-loop run is saturated.
pub const SATURATION: f64 = 0.9;

fn prepare(cfg: &Config, t: &crate::bench::cli::Target, warn: bool) -> Result<Prepared, String> {
    let mut c = Blocking::connect(&t.endpoint, &cfg.handshake)?;
    let info = machine::info_server(&mut c)?;
    let save = machine::config_get(&mut c, "save")?;
    let appendonly = machine::config_get(&mut c, "appendonly")?;
    if warn && (save.is_none() || appendonly.is_none()) {
        eprintln!("WARNING: Could not fetch server CONFIG from {}", t.endpoint);
    }
    let slots = if cfg.cluster {
        let reply = c.call(&["CLUSTER", "SLOTS"])?;
        if reply.is_error() {
            return Err(format!(
                "--cluster: CLUSTER SLOTS failed on {}: {}",
                t.endpoint,
                text(&reply)
            ));
        }
        let map = SlotMap::from_cluster_slots(&reply, t.endpoint.host())?;
        if map.unowned() > 0 && warn {
            eprintln!(
                "WARNING: {} slots of the cluster at {} have no owner",
                map.unowned(),
                t.endpoint
            );
        }
        Some(map)
    } else {
        None
    };
    Ok(Prepared {
        name: t.name.clone(),
        endpoint: t.endpoint.clone(),
        header: Header {
            save: save.clone(),
            appendonly: appendonly.clone(),
        },
        record: TargetRecord {
            name: t.name.clone(),
            address: t.endpoint.to_string(),
            cluster_nodes: slots.as_ref().map(|m| m.nodes.clone()).unwrap_or_default(),
            info,
            save,
            appendonly,
        },
        slots,
    })
}

/// Run the workload's setup commands (SCRIPT LOAD) on every node of a target.
fn setup(cfg: &Config, p: &Prepared, w: &Workload) -> Result<(), String> {
    if w.setup.is_empty() {
        return Ok(());
    }
    let nodes: Vec<Endpoint> = match &p.slots {
        Some(m) => m
            .nodes
            .iter()
            .map(|n| Endpoint::parse(n))
            .collect::<Result<_, _>>()?,
        None => vec![p.endpoint.clone()],
    };
    for ep in nodes {
        let mut c = Blocking::connect(&ep, &cfg.handshake)?;
        for cmd in &w.setup {
            let reply = c.call(cmd)?;
            if reply.is_error() {
                let name = cmd
                    .iter()
                    .take(2)
                    .map(|a| String::from_utf8_lossy(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(format!("{name} failed on {ep}: {}", text(&reply)));
            }
        }
    }
    Ok(())
}

fn workloads(cfg: &Config) -> Vec<Workload> {
    match &cfg.tests {
        TestChoice::Standard(list) => workload::standard(
            list,
            &TestOptions {
                datasize: cfg.datasize,
                random: cfg.keyspace.is_some(),
                cluster: cfg.cluster,
            },
        ),
        TestChoice::Custom(argv) => vec![workload::custom(argv, cfg.keyspace.is_some())],
        TestChoice::Session => vec![workload::session(&SessionOptions {
            read_ratio: cfg.read_ratio,
            ttl_ms: cfg.ttl_ms,
            datasize: cfg.datasize,
        })],
        TestChoice::RateLimit(mode) => vec![workload::ratelimit(*mode, cfg.window_ms)],
        TestChoice::Tx(keys) => vec![workload::tx(*keys, cfg.datasize)],
        TestChoice::Publish { subscribers } => {
            vec![workload::publish(*subscribers, cfg.datasize)]
        }
    }
}

fn settings(cfg: &Config) -> Settings {
    let (mode, rates) = match &cfg.pacing {
        Pacing::Closed => ("closed", Vec::new()),
        Pacing::Open(r) => ("open", vec![*r]),
        Pacing::Sweep(v) => ("sweep", v.clone()),
    };
    Settings {
        mode: mode.into(),
        rates,
        clients: cfg.clients,
        requests: cfg.requests,
        duration_s: cfg.duration.map(|d| d.as_secs_f64()),
        datasize: cfg.datasize,
        pipeline: cfg.pipeline,
        threads: cfg.threads,
        keyspace: cfg.keyspace,
        key_dist: match cfg.key_dist {
            workload::KeyDist::Uniform => "uniform".into(),
            workload::KeyDist::Zipf(s) => format!("zipf:{s}"),
        },
        cluster: cfg.cluster,
        keepalive: cfg.keepalive,
        seed: cfg.seed,
        interval_ms: u64::try_from(cfg.interval.as_millis()).unwrap_or(u64::MAX),
    }
}

/// One interval-log entry: where the run started and its interval histograms.
struct LogEntry {
    tag: String,
    start: Duration,
    intervals: Vec<Hist>,
}

/// Run everything `cfg` asks for. `argv` is recorded in the report.
pub fn run(cfg: &Config, argv: &[String]) -> Result<(), String> {
    let started = SystemTime::now();
    let run_start = Instant::now();
    let machine = Machine::probe();
    let warn = !cfg.quiet && !cfg.csv;
    let mut targets = Vec::new();
    for t in &cfg.targets {
        targets.push(prepare(cfg, t, warn)?);
    }
    let tests = workloads(cfg);
    for w in &tests {
        for p in &targets {
            setup(cfg, p, w)?;
        }
    }
    let style = Style {
        quiet: cfg.quiet,
        csv: cfg.csv,
        precision: cfg.precision,
        show_target: cfg.named_targets || targets.len() > 1,
        show_rate: matches!(cfg.pacing, Pacing::Sweep(_)),
    };
    let rates: Vec<Option<f64>> = match &cfg.pacing {
        Pacing::Closed => vec![None],
        Pacing::Open(r) => vec![Some(*r)],
        Pacing::Sweep(v) => v.iter().map(|r| Some(*r)).collect(),
    };
    let keys = Keys::new(cfg.keyspace.unwrap_or(1), cfg.key_dist)?;
    let mut stdout = std::io::stdout().lock();
    if cfg.csv {
        let _ = writeln!(stdout, "{}", output::csv_header(&style));
    }
    let mut runs: Vec<RunRecord> = Vec::new();
    let mut log: Vec<LogEntry> = Vec::new();
    let mut bar = ProgressBar::new(&style);
    let mut round = 0u32;
    loop {
        for (ti, w) in tests.iter().enumerate() {
            let mut saturated = vec![false; targets.len()];
            for rate in &rates {
                for k in 0..targets.len() {
                    let i = (k + ti + round as usize) % targets.len();
                    let (Some(p), Some(false)) = (targets.get(i), saturated.get(i).copied()) else {
                        continue;
                    };
                    let start = run_start.elapsed();
                    let (record, h, intervals) =
                        run_one(cfg, p, w, *rate, &keys, &style, &mut bar, round)?;
                    if record.saturated {
                        if let Some(s) = saturated.get_mut(i) {
                            *s = matches!(cfg.pacing, Pacing::Sweep(_));
                        }
                    }
                    if cfg.csv {
                        let _ = writeln!(stdout, "{}", output::csv_line(&style, &record));
                    } else if cfg.quiet {
                        let _ = writeln!(stdout, "{}", output::quiet_line(&style, &record));
                    } else {
                        let _ = writeln!(
                            stdout,
                            "{}",
                            output::block(
                                &style,
                                &record,
                                &h,
                                &p.header,
                                cfg.datasize,
                                cfg.keepalive,
                                cfg.threads
                            )
                        );
                    }
                    if record.errors > 0 && !cfg.csv {
                        eprintln!(
                            "WARNING: {} of {} requests of {} on {} got an error reply, e.g. {}",
                            record.errors,
                            record.requests,
                            record.test,
                            record.target,
                            record.error_samples.first().map_or("?", String::as_str)
                        );
                    }
                    if let Some(d) = record
                        .delivery
                        .as_ref()
                        .filter(|d| !cfg.csv && (d.shortfall() > 0 || d.failure.is_some()))
                    {
                        eprintln!(
                            "WARNING: {} on {}: {}",
                            record.test,
                            record.target,
                            d.describe()
                        );
                    }
                    if let Some(w) = report::lag_warning(&record).filter(|_| !cfg.csv) {
                        eprintln!("WARNING: {w}");
                    }
                    let _ = stdout.flush();
                    let tag = format!(
                        "{}/{}{}",
                        record.target,
                        record.test_id,
                        record
                            .offered_rps
                            .map_or(String::new(), |r| format!("@{r:.0}"))
                    )
                    .replace([' ', ',', '\r', '\n'], "_");
                    log.push(LogEntry {
                        tag,
                        start,
                        intervals,
                    });
                    runs.push(record);
                }
            }
        }
        round += 1;
        if !cfg.forever {
            break;
        }
    }
    if let Some(path) = &cfg.hdr_log {
        write_interval_log(path, started, cfg.interval, &log)?;
    }
    if let Some(dir) = &cfg.report {
        let report = Report {
            schema: report::SCHEMA.into(),
            tool: "shoal-benchmark".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_unix_s: started
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            command_line: argv.to_vec(),
            settings: settings(cfg),
            machine,
            targets: targets.into_iter().map(|p| p.record).collect(),
            runs,
        };
        report::write_all(dir, &report)?;
        if warn {
            eprintln!("report written to {}", dir.display());
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    cfg: &Config,
    p: &Prepared,
    w: &Workload,
    rate: Option<f64>,
    keys: &Keys,
    style: &Style,
    bar: &mut ProgressBar,
    round: u32,
) -> Result<(RunRecord, Hist, Vec<Hist>), String> {
    let mode = match rate {
        None => Mode::Closed {
            pipeline: cfg.pipeline,
        },
        Some(r) => {
            let total = cfg
                .duration
                .map_or(cfg.requests, |d| Schedule::ops_for(r, d.as_secs_f64()));
            Mode::Open {
                schedule: Schedule::new(r, cfg.clients, total)?,
                max_inflight: cfg.max_inflight,
            }
        }
    };
    let requests = match (mode, cfg.duration) {
        (Mode::Closed { .. }, Some(_)) => u64::MAX,
        (Mode::Open { schedule, .. }, _) => schedule.total(),
        _ => cfg.requests,
    };
    let plan = Plan {
        workload: w,
        keys: keys.clone(),
        mode,
        requests,
        duration: if rate.is_none() { cfg.duration } else { None },
        clients: cfg.clients,
        threads: cfg.threads,
        keepalive: cfg.keepalive,
        interval: cfg.interval,
        seed: cfg.seed.wrapping_add(u64::from(round)),
        endpoint: p.endpoint.clone(),
        slots: p.slots.clone(),
        handshake: cfg.handshake.clone(),
        stall_timeout: cfg.stall_timeout,
    };
    let progress = Progress::default();
    let mut record = RunRecord {
        test: w.title.clone(),
        test_id: w.id.clone(),
        target: p.name.clone(),
        mode: if rate.is_some() {
            "open".into()
        } else {
            "closed".into()
        },
        offered_rps: rate,
        clients: cfg.clients,
        pipeline: if rate.is_some() { 1 } else { cfg.pipeline },
        requests: 0,
        errors: 0,
        error_samples: Vec::new(),
        duration_s: 0.0,
        rps: 0.0,
        latency: Summary::default(),
        per_op: Vec::new(),
        spectrum: Vec::new(),
        histogram: HistRecord::of(&hist::new())?,
        intervals: Vec::new(),
        throughput: Throughput::default(),
        redirects: 0,
        send_lag: None,
        saturated: false,
        round,
        delivery: None,
    };
    let title = output::label(style, &record);
    // Subscribed before the first PUBLISH, so each should see every message.
    let subscribers = match &w.subscribers {
        Some(s) => Some(
            Subscribers::start(&p.endpoint, &cfg.handshake, &s.channel, s.count)
                .map_err(|e| format!("{title} on {}: {e}", p.endpoint))?,
        ),
        None => None,
    };
    let outcome = driver::run(&plan, &progress, |elapsed| {
        let done = progress.done.load(Ordering::Relaxed);
        let fraction = match (cfg.duration, rate) {
            (Some(d), None) => elapsed.as_secs_f64() / d.as_secs_f64(),
            _ => done as f64 / requests.max(1) as f64,
        };
        bar.draw(&title, fraction, done, elapsed);
    });
    bar.clear();
    let outcome = outcome.map_err(|e| format!("{title} on {}: {e}", p.endpoint))?;
    let h = outcome.hist;
    let secs = outcome.elapsed.as_secs_f64();
    let rps = if secs > 0.0 {
        h.len() as f64 / secs
    } else {
        0.0
    };
    let width = cfg.interval.as_secs_f64();
    let intervals: Vec<IntervalRecord> = outcome
        .intervals
        .iter()
        .enumerate()
        .map(|(i, ih)| {
            let end = ((i + 1) as f64 * width).min(secs.max(i as f64 * width + 1e-3));
            let span = (end - i as f64 * width).max(1e-3);
            IntervalRecord {
                t_s: end,
                requests: ih.len(),
                rps: ih.len() as f64 / span,
                p50_ms: hist::percentile_ms(ih, 50.0),
                p99_ms: hist::percentile_ms(ih, 99.0),
                max_ms: if ih.is_empty() {
                    0.0
                } else {
                    ih.max() as f64 / 1000.0
                },
            }
        })
        .collect();
    record.requests = h.len();
    record.errors = outcome.errors;
    record.error_samples = outcome.error_samples;
    record.duration_s = secs;
    record.rps = rps;
    record.latency = Summary::of(&h);
    record.per_op = w
        .ops
        .iter()
        .zip(&outcome.per_op)
        .map(|(op, oh)| OpRecord {
            label: op.label.into(),
            latency: Summary::of(oh),
        })
        .collect();
    record.spectrum = hist::spectrum(&h)
        .into_iter()
        .map(|(p, v)| [p, v])
        .collect();
    record.histogram = HistRecord::of(&h)?;
    record.intervals = intervals;
    record.throughput = Throughput {
        bin_ms: u64::try_from(driver::BIN.as_millis()).unwrap_or(100),
        counts: outcome.bins,
    };
    record.redirects = outcome.redirects;
    record.send_lag = rate.map(|_| Summary::of(&outcome.send_lag));
    record.saturated = rate.is_some_and(|r| rps < SATURATION * r);
    record.delivery = subscribers.map(|s| s.finish(h.len().saturating_sub(outcome.errors)));
    Ok((record, h, outcome.intervals))
}

fn write_interval_log(
    path: &std::path::Path,
    started: SystemTime,
    interval: Duration,
    log: &[LogEntry],
) -> Result<(), String> {
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use hdrhistogram::serialization::V2DeflateSerializer;
    let mut buf: Vec<u8> = Vec::new();
    let mut ser = V2DeflateSerializer::new();
    {
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment("shoal-benchmark interval log: latency in microseconds, one tagged histogram per target/test interval")
            .with_start_time(started)
            .with_base_time(started)
            .begin_log_with(&mut buf, &mut ser)
            .map_err(|e| format!("interval log: {e}"))?;
        for e in log {
            for (i, h) in e.intervals.iter().enumerate() {
                let start = e.start + interval * u32::try_from(i).unwrap_or(u32::MAX);
                w.write_histogram(h, start, interval, Tag::new(&e.tag))
                    .map_err(|err| format!("interval log: {err}"))?;
            }
        }
    }
    std::fs::write(path, buf).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
