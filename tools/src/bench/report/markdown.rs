//! report.md: the run as Markdown tables, ready to paste into docs.

use super::{fmt_ms, Report, RunRecord};
use std::fmt::Write as _;

/// Runs grouped by test, in first-run order.
pub fn by_test(report: &Report) -> Vec<(String, Vec<&RunRecord>)> {
    let mut groups: Vec<(String, Vec<&RunRecord>)> = Vec::new();
    for r in &report.runs {
        match groups.iter_mut().find(|(t, _)| *t == r.test) {
            Some((_, v)) => v.push(r),
            None => groups.push((r.test.clone(), vec![r])),
        }
    }
    groups
}

/// `2026-01-02 03:04:05 UTC` from Unix seconds.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The run of the first target (the first `--target`) at the same load and
/// round as `r`: the baseline of the "vs first" ratio.
pub fn baseline<'a>(
    report: &Report,
    runs: &[&'a RunRecord],
    r: &RunRecord,
) -> Option<&'a RunRecord> {
    let first = report
        .targets
        .first()
        .map(|t| t.name.as_str())
        .or_else(|| runs.first().map(|b| b.target.as_str()))?;
    runs.iter()
        .find(|b| {
            b.target == first
                && b.mode == r.mode
                && b.offered_rps == r.offered_rps
                && b.round == r.round
        })
        .copied()
}

/// Render report.md.
pub fn render(report: &Report) -> String {
    let mut o = String::new();
    let s = &report.settings;
    let _ = writeln!(o, "# shoal-benchmark report\n");
    let _ = writeln!(
        o,
        "- Run: {} with {} {}",
        utc(report.started_unix_s),
        report.tool,
        report.version
    );
    let _ = writeln!(o, "- Command: `{}`", report.command_line.join(" "));
    let _ = writeln!(
        o,
        "- Load: {} loop, {} clients, pipeline {}, {} threads, value {} bytes, keyspace {}, keys {}{}",
        s.mode,
        s.clients,
        s.pipeline,
        s.threads,
        s.datasize,
        s.keyspace.map_or("none (one key)".to_string(), |k| k.to_string()),
        s.key_dist,
        if s.cluster { ", cluster routing" } else { "" }
    );
    let m = &report.machine;
    let _ = writeln!(
        o,
        "- Machine: {} ({} cores, generator allowed on CPUs {}), Linux {}, load average at start {}\n",
        m.cpu_model, m.cores, m.allowed_cpus, m.kernel, m.loadavg
    );
    if !report.targets.is_empty() {
        let _ = writeln!(o, "## Targets\n\n| name | address | server | version | os | save | appendonly |\n|---|---|---|---|---|---|---|");
        for t in &report.targets {
            let version = t
                .info
                .get("redis_version")
                .or_else(|| t.info.get("shoal_version"))
                .cloned()
                .unwrap_or_default();
            let server = t
                .info
                .get("server_name")
                .cloned()
                .unwrap_or_else(|| "redis".into());
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_cell(&t.name),
                md_cell(&t.address),
                md_cell(&server),
                md_cell(&version),
                md_cell(t.info.get("os").map_or("", String::as_str)),
                md_cell(t.save.as_deref().unwrap_or("?")),
                md_cell(t.appendonly.as_deref().unwrap_or("?"))
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## Results\n\nLatencies in milliseconds. Open-loop latencies run from the intended send time (corrected for coordinated omission).\n");
    for (test, runs) in by_test(report) {
        let _ = writeln!(o, "### {}\n", md_cell(&test));
        let _ = writeln!(
            o,
            "| target | mode | offered rps | rps | vs first | avg | p50 | p95 | p99 | p99.9 | p99.99 | max | requests | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &runs {
            let l = &r.latency;
            let ratio = baseline(report, &runs, r)
                .filter(|b| b.rps > 0.0)
                .map_or("".into(), |b| format!("{:.2}×", r.rps / b.rps));
            let _ = writeln!(
                o,
                "| {}{} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                md_cell(&r.target),
                if r.round > 0 {
                    format!(" #{}", r.round)
                } else {
                    String::new()
                },
                r.mode,
                r.offered_rps.map_or("—".into(), |x| format!(
                    "{x:.0}{}",
                    if r.saturated { " (saturated)" } else { "" }
                )),
                r.rps,
                ratio,
                fmt_ms(l.avg_ms),
                fmt_ms(l.p50_ms),
                fmt_ms(l.p95_ms),
                fmt_ms(l.p99_ms),
                fmt_ms(l.p99_9_ms),
                fmt_ms(l.p99_99_ms),
                fmt_ms(l.max_ms),
                r.requests,
                r.errors
            );
        }
        let mixed: Vec<&&RunRecord> = runs.iter().filter(|r| r.per_op.len() > 1).collect();
        if !mixed.is_empty() {
            o.push('\n');
        }
        for r in mixed {
            for op in &r.per_op {
                let _ = writeln!(
                    o,
                    "- {} {}: {} requests, p50 {} ms, p99 {} ms, p99.9 {} ms",
                    md_cell(&r.target),
                    op.label,
                    op.latency.count,
                    fmt_ms(op.latency.p50_ms),
                    fmt_ms(op.latency.p99_ms),
                    fmt_ms(op.latency.p99_9_ms)
                );
            }
        }
        for w in runs.iter().filter_map(|r| super::lag_warning(r)) {
            let _ = writeln!(o, "\n- **Warning**: {}", md_cell(&w));
        }
        for r in runs.iter() {
            if let Some(d) = &r.delivery {
                let _ = writeln!(
                    o,
                    "\n- {} subscribers: {}",
                    md_cell(&r.target),
                    md_cell(&d.describe())
                );
            }
        }
        for r in runs.iter().filter(|r| !r.error_samples.is_empty()) {
            let _ = writeln!(
                o,
                "\n- {} errors, e.g. `{}`",
                md_cell(&r.target),
                md_cell(&r.error_samples.join("`, `"))
            );
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn tables_have_every_run_and_ratio() {
        let md = render(&sample::report());
        assert!(md.starts_with("# shoal-benchmark report"));
        assert!(md.contains("### SET") && md.contains("### GET"));
        let rows = md
            .lines()
            .filter(|l| l.starts_with("| shoal") || l.starts_with("| redis"))
            .count();
        assert_eq!(rows, 8);
        assert!(md.contains("| 1.00× |"), "first target is its own baseline");
        assert!(md.contains("| 1000 |"), "offered rate");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
