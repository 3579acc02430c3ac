//! Prometheus text exposition format 0.0.4.
//!
//! `# HELP` and `# TYPE` per family, one line per sample; summaries get
//! `quantile` samples plus `_sum`/`_count`, histograms cumulative `_bucket`
//! samples with `le` (ending with `+Inf`) plus `_sum`/`_count`.

use crate::model::{Family, Kind, MetricSet, Value};
use std::fmt::Write;

/// Format a sample value as Prometheus parses it.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn write_sample(
    out: &mut String,
    name: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    v: f64,
) {
    out.push_str(name);
    let all = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra);
    let mut first = true;
    for (k, v) in all {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_label(v, out);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&number(v));
    out.push('\n');
}

fn write_family(out: &mut String, f: &Family) {
    if f.samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
    let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
    for s in &f.samples {
        match (&s.value, f.kind) {
            (Value::Single(v), Kind::Counter | Kind::Gauge) => {
                write_sample(out, &f.name, &s.labels, None, *v)
            }
            (
                Value::Summary {
                    quantiles,
                    sum,
                    count,
                },
                Kind::Summary,
            ) => {
                for (q, v) in quantiles {
                    write_sample(out, &f.name, &s.labels, Some(("quantile", q)), *v);
                }
                write_sample(out, &format!("{}_sum", f.name), &s.labels, None, *sum);
                write_sample(
                    out,
                    &format!("{}_count", f.name),
                    &s.labels,
                    None,
                    *count as f64,
                );
            }
            (
                Value::Histogram {
                    buckets,
                    sum,
                    count,
                },
                Kind::Histogram,
            ) => {
                let bucket = format!("{}_bucket", f.name);
                for (le, c) in buckets {
                    write_sample(
                        out,
                        &bucket,
                        &s.labels,
                        Some(("le", &number(*le))),
                        *c as f64,
                    );
                }
                write_sample(out, &bucket, &s.labels, Some(("le", "+Inf")), *count as f64);
                write_sample(out, &format!("{}_sum", f.name), &s.labels, None, *sum);
                write_sample(
                    out,
                    &format!("{}_count", f.name),
                    &s.labels,
                    None,
                    *count as f64,
                );
            }
            // A value that does not fit its family's kind is never built by the collectors.
            _ => {}
        }
    }
}

/// Encode every family.
pub fn encode(set: &MetricSet) -> String {
    let mut out = String::with_capacity(64 * 1024);
    for f in set.families() {
        write_family(&mut out, f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_summaries_histograms_and_escapes() {
        let t = encode(&crate::expo::sample_set());
        let want = "# HELP redis_instance_info Info\n# TYPE redis_instance_info gauge\n\
redis_instance_info{os=\"Linux \\\"x\\\"\\\\\\n\"} 1\n\
# HELP redis_commands_total Calls\n# TYPE redis_commands_total counter\nredis_commands_total{cmd=\"get\"} 5\n\
# HELP redis_total_error_replies Errors\n# TYPE redis_total_error_replies counter\nredis_total_error_replies 2\n\
# HELP redis_latency_percentiles_usec Latency\n# TYPE redis_latency_percentiles_usec summary\n\
redis_latency_percentiles_usec{cmd=\"get\",quantile=\"50\"} 0.5\n\
redis_latency_percentiles_usec{cmd=\"get\",quantile=\"99.9\"} 2\n\
redis_latency_percentiles_usec_sum{cmd=\"get\"} 7\nredis_latency_percentiles_usec_count{cmd=\"get\"} 3\n\
# HELP redis_commands_latencies_usec Hist\n# TYPE redis_commands_latencies_usec histogram\n\
redis_commands_latencies_usec_bucket{cmd=\"get\",le=\"1\"} 2\n\
redis_commands_latencies_usec_bucket{cmd=\"get\",le=\"2\"} 3\n\
redis_commands_latencies_usec_bucket{cmd=\"get\",le=\"+Inf\"} 4\n\
redis_commands_latencies_usec_sum{cmd=\"get\"} 4\nredis_commands_latencies_usec_count{cmd=\"get\"} 4\n";
        assert_eq!(t, want);
    }

    #[test]
    fn numbers() {
        assert_eq!(number(1795334538.0), "1795334538");
        assert_eq!(number(0.000672), "0.000672");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(-1.0), "-1");
    }
}
