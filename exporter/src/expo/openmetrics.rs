//! OpenMetrics 1.0 text, encoded by `prometheus-client`.
//!
//! The set is handed to the crate as a [`Collector`] for one encoding pass.
//! Kind mapping: counters named `*_total` → OpenMetrics counters (the crate
//! writes the `_total` suffix back); other counters → `unknown` (see
//! [`crate::expo`]); gauges → gauges; histograms → histograms; a summary →
//! an `unknown` family for its quantile series plus `unknown` `_sum` and
//! `_count` families (the crate has no summary encoder), which yields exactly
//! the sample names of the text format.

use crate::model::{Family, Kind, MetricSet, Value};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt::Error;

type LabelVec = Vec<(String, String)>;

/// prometheus-client 0.24 writes label values as given: escape `\`, `"` and
/// newlines here (OpenMetrics ABNF), or a value such as an error message
/// could break the exposition.
fn escaped(labels: &[(String, String)]) -> LabelVec {
    labels
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n"),
            )
        })
        .collect()
}

#[derive(Debug)]
struct SetCollector(Vec<Family>);

/// A gauge-like value encoded under whatever type its descriptor says.
#[derive(Debug)]
struct Single {
    value: f64,
    kind: MetricType,
}

impl EncodeMetric for Single {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), Error> {
        match self.kind {
            MetricType::Counter => {
                encoder.encode_counter(&self.value, None::<&Exemplar<LabelVec, f64>>)
            }
            _ => encoder.encode_gauge(&self.value),
        }
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

fn encode_singles(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: &[(LabelVec, f64)],
) -> Result<(), Error> {
    let mut fam = enc.encode_descriptor(name, help, None, kind)?;
    if let [(labels, v)] = samples {
        if labels.is_empty() {
            // Without labels: `name 1`, not `name{} 1`.
            return Single { value: *v, kind }.encode(fam);
        }
    }
    for (labels, v) in samples {
        let m = fam.encode_family(labels)?;
        Single { value: *v, kind }.encode(m)?;
    }
    Ok(())
}

fn encode_family(enc: &mut DescriptorEncoder<'_>, f: &Family) -> Result<(), Error> {
    if f.samples.is_empty() {
        return Ok(());
    }
    match f.kind {
        Kind::Counter | Kind::Gauge => {
            let samples: Vec<(LabelVec, f64)> = f
                .samples
                .iter()
                .filter_map(|s| match s.value {
                    Value::Single(v) => Some((escaped(&s.labels), v)),
                    _ => None,
                })
                .collect();
            let (name, kind) = match (f.kind, f.name.strip_suffix("_total")) {
                (Kind::Counter, Some(base)) => (base, MetricType::Counter),
                (Kind::Counter, None) => (f.name.as_str(), MetricType::Unknown),
                _ => (f.name.as_str(), MetricType::Gauge),
            };
            encode_singles(enc, name, &f.help, kind, &samples)
        }
        Kind::Summary => {
            let (mut q, mut sums, mut counts) = (Vec::new(), Vec::new(), Vec::new());
            for s in &f.samples {
                if let Value::Summary {
                    quantiles,
                    sum,
                    count,
                } = &s.value
                {
                    for (ql, v) in quantiles {
                        let mut l = escaped(&s.labels);
                        l.push(("quantile".into(), ql.clone()));
                        q.push((l, *v));
                    }
                    sums.push((escaped(&s.labels), *sum));
                    counts.push((escaped(&s.labels), *count as f64));
                }
            }
            encode_singles(enc, &f.name, &f.help, MetricType::Unknown, &q)?;
            encode_singles(
                enc,
                &format!("{}_sum", f.name),
                &f.help,
                MetricType::Unknown,
                &sums,
            )?;
            encode_singles(
                enc,
                &format!("{}_count", f.name),
                &f.help,
                MetricType::Unknown,
                &counts,
            )
        }
        Kind::Histogram => {
            let mut fam = enc.encode_descriptor(&f.name, &f.help, None, MetricType::Histogram)?;
            for s in &f.samples {
                if let Value::Histogram {
                    buckets,
                    sum,
                    count,
                } = &s.value
                {
                    // The crate wants per-bucket (not cumulative) counts, +Inf as f64::MAX.
                    let mut prev = 0u64;
                    let mut per: Vec<(f64, u64)> = buckets
                        .iter()
                        .map(|(le, c)| {
                            let d = c.saturating_sub(prev);
                            prev = prev.max(*c);
                            (*le, d)
                        })
                        .collect();
                    per.push((f64::MAX, count.saturating_sub(prev)));
                    let labels = escaped(&s.labels);
                    let mut m = fam.encode_family(&labels)?;
                    m.encode_histogram(
                        *sum,
                        *count,
                        &per,
                        None::<&std::collections::HashMap<usize, Exemplar<LabelVec, f64>>>,
                    )?;
                }
            }
            Ok(())
        }
    }
}

impl Collector for SetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        for f in &self.0 {
            encode_family(&mut encoder, f)?;
        }
        Ok(())
    }
}

/// Encode a metric set as OpenMetrics text (ending with `# EOF`).
pub fn encode(set: &MetricSet) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SetCollector(set.families().to_vec())));
    let mut out = String::with_capacity(64 * 1024);
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        // Only a formatter error can land here; report it in-band rather than panic.
        out.clear();
        out.push_str("# openmetrics encoding failed\n# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_match_the_text_format() {
        let t = encode(&crate::expo::sample_set());
        for line in [
            "# TYPE redis_commands counter",
            "redis_commands_total{cmd=\"get\"} 5.0",
            "# TYPE redis_total_error_replies unknown",
            "redis_total_error_replies 2.0",
            "redis_latency_percentiles_usec{cmd=\"get\",quantile=\"99.9\"} 2.0",
            "redis_latency_percentiles_usec_sum{cmd=\"get\"} 7.0",
            "redis_latency_percentiles_usec_count{cmd=\"get\"} 3.0",
            "redis_instance_info{os=\"Linux \\\"x\\\"\\\\\\n\"} 1.0",
            "redis_commands_latencies_usec_bucket{le=\"1.0\",cmd=\"get\"} 2",
            "redis_commands_latencies_usec_bucket{le=\"2.0\",cmd=\"get\"} 3",
            "redis_commands_latencies_usec_bucket{le=\"+Inf\",cmd=\"get\"} 4",
            "# EOF",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
    }
}
