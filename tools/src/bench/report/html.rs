//! report.html: one self-contained page (inline CSS and SVG, no script, no
//! network) that a person would rather look at than read.
//!
//! Per test: a summary table, the percentile spectrum of every run on the
//! `1/(1-p)` axis, latency against offered load when the test was swept, and
//! throughput over time. Colours follow the target, so a target keeps its
//! colour on every chart.

use super::markdown::{baseline, by_test, utc};
use super::svg::{self, esc, Chart, Scale, Series};
use super::{fmt_ms, Report, RunRecord};
use std::fmt::Write as _;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}\
h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}\
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}\
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}.meta td{text-align:left}\
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;max-width:100%;height:auto}\
code{background:#f5f5f5;padding:1px 4px;border-radius:3px}.note{color:#666;font-size:13px}.sat{color:#b00}";

fn target_color(report: &Report, name: &str) -> usize {
    report
        .targets
        .iter()
        .position(|t| t.name == name)
        .or_else(|| {
            let mut names: Vec<&str> = Vec::new();
            for r in &report.runs {
                if !names.contains(&r.target.as_str()) {
                    names.push(&r.target);
                }
            }
            names.iter().position(|n| *n == name)
        })
        .unwrap_or(0)
}

fn run_label(r: &RunRecord, many_per_target: bool) -> String {
    let mut l = r.target.clone();
    if let Some(rate) = r.offered_rps {
        if many_per_target {
            let _ = write!(l, " @ {rate:.0}/s");
        }
    }
    if r.round > 0 {
        let _ = write!(l, " #{}", r.round);
    }
    l
}

fn charts_for(report: &Report, test: &str, runs: &[&RunRecord]) -> Vec<String> {
    let mut out = Vec::new();
    let many = runs.len() > report.targets.len().max(1);
    // Percentile spectrum: at most 12 lines, skipping saturated sweep points first.
    let mut shown: Vec<&&RunRecord> = runs.iter().filter(|r| !r.saturated).collect();
    if shown.is_empty() {
        shown = runs.iter().collect();
    }
    let spectrum = Chart {
        title: format!("{test}: latency by percentile"),
        x_label: "percentile".into(),
        y_label: "latency (ms)".into(),
        x_scale: Scale::Nines,
        y_scale: Scale::Log10,
        series: shown
            .iter()
            .take(12)
            .enumerate()
            .map(|(i, r)| Series {
                name: run_label(r, many),
                points: r.spectrum.iter().map(|p| (p[0], p[1].max(0.001))).collect(),
                color: if many {
                    i
                } else {
                    target_color(report, &r.target)
                },
                dashed: r.mode == "open" && !many,
            })
            .collect(),
    };
    out.push(svg::render(&spectrum));
    // Latency vs offered load, when there are several rates.
    let mut rates: Vec<f64> = runs.iter().filter_map(|r| r.offered_rps).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    if rates.len() >= 2 {
        let mut series = Vec::new();
        let mut targets: Vec<&str> = Vec::new();
        for r in runs {
            if !targets.contains(&r.target.as_str()) {
                targets.push(&r.target);
            }
        }
        for t in targets {
            let color = target_color(report, t);
            let pts = |f: fn(&RunRecord) -> f64| -> Vec<(f64, f64)> {
                runs.iter()
                    .filter(|r| r.target == t)
                    .filter_map(|r| Some((r.offered_rps?, f(r).max(0.001))))
                    .collect()
            };
            series.push(Series {
                name: format!("{t} p50"),
                points: pts(|r| r.latency.p50_ms),
                color,
                dashed: true,
            });
            series.push(Series {
                name: format!("{t} p99.9"),
                points: pts(|r| r.latency.p99_9_ms),
                color,
                dashed: false,
            });
        }
        out.push(svg::render(&Chart {
            title: format!("{test}: latency vs offered load"),
            x_label: "offered load (requests/s)".into(),
            y_label: "latency (ms)".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log10,
            series,
        }));
    }
    // Throughput over time.
    let tp = Chart {
        title: format!("{test}: throughput over time"),
        x_label: "time (s)".into(),
        y_label: "requests/s".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series: runs
            .iter()
            .take(12)
            .enumerate()
            .map(|(i, r)| Series {
                name: run_label(r, many),
                points: r.throughput.points(r.duration_s),
                color: if many {
                    i
                } else {
                    target_color(report, &r.target)
                },
                dashed: false,
            })
            .collect(),
    };
    out.push(svg::render(&tp));
    out
}

/// Render report.html.
pub fn render(report: &Report) -> String {
    let mut o = String::new();
    let s = &report.settings;
    let m = &report.machine;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>shoal-benchmark report</title><style>{STYLE}</style></head><body>\n<h1>shoal-benchmark report</h1><p class=\"note\">{} · {} {} · <code>{}</code></p>\n",
        esc(&utc(report.started_unix_s)),
        esc(&report.tool),
        esc(&report.version),
        esc(&report.command_line.join(" "))
    );
    let _ = writeln!(
        o,
        "<table class=\"meta\"><tr><th>load</th><td>{} loop, {} clients, pipeline {}, {} threads, value {} bytes, keyspace {}, keys {}{}{}</td></tr>\
<tr><th>machine</th><td>{} · {} cores · generator on CPUs {} · Linux {} · load average {}</td></tr></table>",
        esc(&s.mode),
        s.clients,
        s.pipeline,
        s.threads,
        s.datasize,
        s.keyspace.map_or("none (one key)".to_string(), |k| k.to_string()),
        esc(&s.key_dist),
        if s.cluster { ", cluster routing" } else { "" },
        if s.rates.is_empty() {
            String::new()
        } else {
            format!(", offered {} requests/s", s.rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "))
        },
        esc(&m.cpu_model),
        m.cores,
        esc(&m.allowed_cpus),
        esc(&m.kernel),
        esc(&m.loadavg)
    );
    if !report.targets.is_empty() {
        o.push_str("<h2>Targets</h2><table><tr><th>name</th><th>address</th><th>version</th><th>os</th><th>save</th><th>appendonly</th></tr>");
        for t in &report.targets {
            let version = t
                .info
                .get("redis_version")
                .or_else(|| t.info.get("shoal_version"))
                .cloned()
                .unwrap_or_default();
            let _ = write!(
                o,
                "<tr><td><span style=\"color:{}\">■</span> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                svg::PALETTE.get(target_color(report, &t.name) % svg::PALETTE.len()).copied().unwrap_or("#000"),
                esc(&t.name),
                esc(&t.address),
                esc(&version),
                esc(t.info.get("os").map_or("", String::as_str)),
                esc(t.save.as_deref().unwrap_or("?")),
                esc(t.appendonly.as_deref().unwrap_or("?"))
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<p class=\"note\">Latencies in milliseconds. Open-loop runs measure from the intended send time, so a server stall shows up in every request it delayed (coordinated omission corrected).</p>\n");
    for (test, runs) in by_test(report) {
        let _ = write!(o, "<section class=\"test\"><h2>{}</h2>", esc(&test));
        o.push_str("<table><tr><th>target</th><th>mode</th><th>offered rps</th><th>rps</th><th>vs first</th><th>avg</th><th>p50</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>requests</th><th>errors</th></tr>");
        for r in &runs {
            let l = &r.latency;
            let ratio = baseline(report, &runs, r)
                .filter(|b| b.rps > 0.0)
                .map_or(String::new(), |b| format!("{:.2}×", r.rps / b.rps));
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&run_label(r, false)),
                esc(&r.mode),
                r.offered_rps.map_or("—".into(), |x| {
                    if r.saturated { format!("{x:.0} <span class=\"sat\">saturated</span>") } else { format!("{x:.0}") }
                }),
                r.rps,
                ratio,
                fmt_ms(l.avg_ms),
                fmt_ms(l.p50_ms),
                fmt_ms(l.p99_ms),
                fmt_ms(l.p99_9_ms),
                fmt_ms(l.p99_99_ms),
                fmt_ms(l.max_ms),
                r.requests,
                r.errors
            );
        }
        o.push_str("</table>");
        let mixed: Vec<&&RunRecord> = runs.iter().filter(|r| r.per_op.len() > 1).collect();
        if !mixed.is_empty() {
            o.push_str("<ul class=\"note\">");
            for r in mixed {
                for op in &r.per_op {
                    let _ = write!(
                        o,
                        "<li>{} {}: {} requests, p50 {} ms, p99 {} ms, p99.9 {} ms</li>",
                        esc(&run_label(r, false)),
                        esc(&op.label),
                        op.latency.count,
                        fmt_ms(op.latency.p50_ms),
                        fmt_ms(op.latency.p99_ms),
                        fmt_ms(op.latency.p99_9_ms)
                    );
                }
            }
            o.push_str("</ul>");
        }
        for w in runs.iter().filter_map(|r| super::lag_warning(r)) {
            let _ = write!(o, "<p class=\"sat\">Warning: {}</p>", esc(&w));
        }
        o.push_str("<div class=\"charts\">");
        for c in charts_for(report, &test, &runs) {
            o.push_str(&c);
        }
        o.push_str("</div></section>\n");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn page_is_self_contained_with_charts() {
        let html = render(&sample::report());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "no script");
        // The only URLs are the SVG namespace names, which nothing fetches.
        assert_eq!(
            html.matches("http").count(),
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(!html.contains("src="), "no external assets");
        // SET: spectrum + throughput; GET (swept): spectrum + load curve + throughput.
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(html.contains("latency vs offered load"));
        assert!(html.contains("redis&lt;&amp;&gt;"), "names are escaped");
        assert!(!html.contains("redis<&>"));
        assert!(html.matches("class=\"series\"").count() >= 2 + 2 + 6 + 4 + 6);
    }
}
