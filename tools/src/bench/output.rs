//! What the terminal sees: redis-benchmark's text, `-q` lines, CSV, progress.
//!
//! The default block and the `-q` and `--csv` lines keep redis-benchmark's
//! shape so scripts that read it keep working; additions only append (the
//! summary gains p99.9 and p99.99 columns, the CSV gains trailing columns).
//! The progress bar goes to stderr and only when stderr is a terminal and
//! neither -q nor --csv was given.

use crate::bench::hist::{Hist, Summary};
use crate::bench::report::RunRecord;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How to print.
#[derive(Clone, Debug)]
pub struct Style {
    /// -q
    pub quiet: bool,
    /// --csv
    pub csv: bool,
    /// Decimals of latencies.
    pub precision: usize,
    /// Print the target name with each test.
    pub show_target: bool,
    /// Print the offered rate column/line (open loop).
    pub show_rate: bool,
}

/// The test name as printed, with its target and rate when useful.
pub fn label(style: &Style, r: &RunRecord) -> String {
    let mut s = r.test.clone();
    if style.show_target {
        let _ = write!(s, " [{}]", r.target);
    }
    if let Some(rate) = r.offered_rps.filter(|_| style.show_rate) {
        let _ = write!(s, " @ {rate:.0} rps");
    }
    s
}

/// The CSV header line.
pub fn csv_header(style: &Style) -> String {
    let mut h = String::from("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\",\"p99_9_latency_ms\",\"p99_99_latency_ms\",\"errors\"");
    if style.show_target {
        h.push_str(",\"target\"");
    }
    if style.show_rate {
        h.push_str(",\"offered_rps\"");
    }
    h
}

fn csv_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One CSV line.
pub fn csv_line(style: &Style, r: &RunRecord) -> String {
    let p = style.precision;
    let l = &r.latency;
    let mut s = format!(
        "{},\"{:.2}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{:.p$}\",\"{}\"",
        csv_quote(&r.test),
        r.rps,
        l.avg_ms,
        l.min_ms,
        l.p50_ms,
        l.p95_ms,
        l.p99_ms,
        l.max_ms,
        l.p99_9_ms,
        l.p99_99_ms,
        r.errors
    );
    if style.show_target {
        let _ = write!(s, ",{}", csv_quote(&r.target));
    }
    if style.show_rate {
        let _ = write!(
            s,
            ",\"{}\"",
            r.offered_rps.map_or(String::new(), |x| format!("{x:.0}"))
        );
    }
    s
}

/// The `-q` line.
pub fn quiet_line(style: &Style, r: &RunRecord) -> String {
    let p = style.precision;
    let mut s = format!(
        "{}: {:.2} requests per second, p50={:.p$} msec",
        label(style, r),
        r.rps,
        r.latency.p50_ms
    );
    if r.offered_rps.is_some() {
        let _ = write!(s, ", p99.9={:.p$} msec", r.latency.p99_9_ms);
    }
    s
}

/// Server facts printed in the block header.
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// `CONFIG GET save`
    pub save: Option<String>,
    /// `CONFIG GET appendonly`
    pub appendonly: Option<String>,
}

/// The full redis-benchmark-style block.
pub fn block(
    style: &Style,
    r: &RunRecord,
    h: &Hist,
    hdr: &Header,
    datasize: usize,
    keepalive: bool,
    threads: usize,
) -> String {
    let p = style.precision;
    let mut o = String::new();
    let _ = writeln!(o, "====== {} ======", label(style, r));
    let _ = writeln!(
        o,
        "  {} requests completed in {:.2} seconds",
        r.requests, r.duration_s
    );
    let _ = writeln!(o, "  {} parallel clients", r.clients);
    let _ = writeln!(o, "  {datasize} bytes payload");
    let _ = writeln!(o, "  keep alive: {}", u8::from(keepalive));
    if let Some(s) = &hdr.save {
        let _ = writeln!(o, "  host configuration \"save\": {s}");
    }
    if let Some(a) = &hdr.appendonly {
        let _ = writeln!(o, "  host configuration \"appendonly\": {a}");
    }
    if threads > 1 {
        let _ = writeln!(o, "  multi-thread: yes\n  threads: {threads}");
    } else {
        let _ = writeln!(o, "  multi-thread: no");
    }
    if let Some(rate) = r.offered_rps {
        let _ = writeln!(
            o,
            "  open loop: {rate:.0} requests per second offered, latency from the intended send time{}",
            if r.saturated { " (SATURATED: the server did not keep up)" } else { "" }
        );
        if let Some(lag) = &r.send_lag {
            let _ = writeln!(
                o,
                "  send lag behind schedule: p99 {:.p$} ms, max {:.p$} ms",
                lag.p99_ms, lag.max_ms
            );
        }
    }
    if r.errors > 0 {
        let _ = writeln!(o, "  errors: {} ({})", r.errors, r.error_samples.join("; "));
    }
    if let Some(d) = &r.delivery {
        let _ = writeln!(o, "  subscribers: {}", d.describe());
    }
    o.push('\n');
    if !h.is_empty() {
        let _ = writeln!(o, "Latency by percentile distribution:");
        let mut cum = 0u64;
        let total = h.len();
        for it in h.iter_quantiles(1) {
            cum += it.count_since_last_iteration();
            let _ = writeln!(
                o,
                "{:.3}% <= {:.p$} milliseconds (cumulative count {cum})",
                it.quantile_iterated_to() * 100.0,
                it.value_iterated_to() as f64 / 1000.0
            );
            if cum >= total {
                break;
            }
        }
        let _ = writeln!(
            o,
            "100.000% <= {:.p$} milliseconds (cumulative count {total})",
            h.max() as f64 / 1000.0
        );
        let _ = writeln!(o, "\nCumulative distribution of latencies:");
        let mut last = u64::MAX;
        let mut edge = 100u64;
        loop {
            let c = h.count_between(0, edge);
            if c != last {
                let _ = writeln!(
                    o,
                    "{:.3}% <= {:.p$} milliseconds (cumulative count {c})",
                    c as f64 * 100.0 / total as f64,
                    edge as f64 / 1000.0
                );
                last = c;
            }
            if c >= total {
                break;
            }
            edge += if edge < 2000 {
                100
            } else if edge < 100_000 {
                1000
            } else {
                100_000
            };
        }
        o.push('\n');
    }
    let s: &Summary = &r.latency;
    let _ = writeln!(o, "Summary:");
    let _ = writeln!(o, "  throughput summary: {:.2} requests per second", r.rps);
    let _ = writeln!(o, "  latency summary (msec):");
    let _ = writeln!(
        o,
        "  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "avg", "min", "p50", "p95", "p99", "p99.9", "p99.99", "max"
    );
    let _ = writeln!(
        o,
        "  {:>9.p$} {:>9.p$} {:>9.p$} {:>9.p$} {:>9.p$} {:>9.p$} {:>9.p$} {:>9.p$}",
        s.avg_ms, s.min_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.p99_9_ms, s.p99_99_ms, s.max_ms
    );
    o
}

/// A progress bar on stderr, or nothing.
pub struct ProgressBar {
    enabled: bool,
    last_done: u64,
    last_at: Duration,
}

impl ProgressBar {
    /// Enabled only on a terminal, without -q/--csv.
    pub fn new(style: &Style) -> ProgressBar {
        ProgressBar {
            enabled: !style.quiet && !style.csv && std::io::stderr().is_terminal(),
            last_done: 0,
            last_at: Duration::ZERO,
        }
    }

    /// Redraw: `fraction` of the run done (0..=1), `done` requests after `elapsed`.
    pub fn draw(&mut self, title: &str, fraction: f64, done: u64, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        let dt = (elapsed - self.last_at.min(elapsed))
            .as_secs_f64()
            .max(1e-3);
        let rps = done.saturating_sub(self.last_done) as f64 / dt;
        let overall = done as f64 / elapsed.as_secs_f64().max(1e-3);
        self.last_done = done;
        self.last_at = elapsed;
        let width = 30usize;
        let filled = ((fraction.clamp(0.0, 1.0)) * width as f64) as usize;
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\x1b[2K\r{title} [{bar}] {:>3.0}% rps={rps:.0} (overall: {overall:.0})",
            fraction * 100.0
        );
        let _ = e.flush();
    }

    /// Erase the bar.
    pub fn clear(&mut self) {
        if self.enabled {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\x1b[2K\r");
            let _ = e.flush();
        }
        self.last_done = 0;
        self.last_at = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::sample;

    fn style() -> Style {
        Style {
            quiet: false,
            csv: false,
            precision: 3,
            show_target: false,
            show_rate: false,
        }
    }

    #[test]
    fn csv_keeps_redis_benchmark_columns_first() {
        let r = sample::run("SET", "redis", "closed", None, 1);
        let h = csv_header(&style());
        assert!(h.starts_with("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\""));
        let line = csv_line(&style(), &r);
        assert_eq!(line.split(',').count(), h.split(',').count());
        assert!(line.starts_with("\"SET\",\"1980.00\","));
    }

    #[test]
    fn quiet_and_block() {
        let r = sample::run("GET", "redis", "closed", None, 1);
        assert_eq!(
            quiet_line(&style(), &r),
            "GET: 1980.00 requests per second, p50=1.000 msec"
        );
        let mut h = crate::bench::hist::new();
        for v in 1..=2000u64 {
            h.record(v).unwrap();
        }
        let b = block(
            &style(),
            &r,
            &h,
            &Header {
                save: Some(String::new()),
                appendonly: Some("no".into()),
            },
            3,
            true,
            1,
        );
        assert!(b.starts_with("====== GET ======\n  2000 requests completed in 1.00 seconds\n  50 parallel clients\n  3 bytes payload\n  keep alive: 1\n  host configuration \"save\": \n  host configuration \"appendonly\": no\n  multi-thread: no\n"));
        assert!(b.contains("Latency by percentile distribution:\n0.000% <= 0.001 milliseconds (cumulative count 1)"));
        assert!(b.contains("100.000% <= 2.000 milliseconds (cumulative count 2000)"));
        assert!(b.contains("  throughput summary: 1980.00 requests per second"));
        assert!(b.contains("p99.9    p99.99"));
        let s = Style {
            show_target: true,
            show_rate: true,
            ..style()
        };
        let o = sample::run("GET", "shoal", "open", Some(5000.0), 1);
        assert_eq!(label(&s, &o), "GET [shoal] @ 5000 rps");
    }
}
