//! OTLP/HTTP push of the same metric families (`--otlp-endpoint`).
//!
//! Every `--otlp-interval` the configured targets are scraped exactly as for
//! `/metrics`, and the resulting [`MetricSet`] is converted to an OTLP
//! `ExportMetricsServiceRequest` (protobuf types from the `opentelemetry-proto`
//! crate) and POSTed to `<endpoint>/v1/metrics` as `application/x-protobuf`.
//!
//! Why not the opentelemetry SDK's instruments: its observable instruments
//! cannot report a pre-bucketed histogram (our latency histograms come from
//! the server, not from observations), and its data types cannot be built by
//! hand. The proto messages express all four kinds faithfully:
//!
//! | model kind | OTLP data |
//! |---|---|
//! | counter | `Sum`, cumulative, monotonic |
//! | gauge | `Gauge` |
//! | histogram | `Histogram`, cumulative, explicit bounds, per-bucket counts, +Inf overflow bucket |
//! | summary | `Summary` (quantile `99.9` → 0.999) |
//!
//! Names stay the Prometheus names (`redis_commands_total`), labels become
//! string attributes, and the resource carries `service.name=shoal-exporter`.
//! A failed push is logged and retried at the next interval; it never stops
//! the HTTP side.

use crate::http::Exporter;
use crate::model::{Kind, MetricSet, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
    }
}

fn attrs(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| kv(k, v)).collect()
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Convert a metric set to an OTLP export request.
pub fn to_request(
    set: &MetricSet,
    start: SystemTime,
    now: SystemTime,
) -> ExportMetricsServiceRequest {
    let (start, now) = (nanos(start), nanos(now));
    let cumulative = AggregationTemporality::Cumulative as i32;
    let mut metrics = Vec::new();
    for f in set.families() {
        let data = match f.kind {
            Kind::Counter | Kind::Gauge => {
                let points: Vec<NumberDataPoint> = f
                    .samples
                    .iter()
                    .filter_map(|s| match s.value {
                        Value::Single(v) => Some(NumberDataPoint {
                            attributes: attrs(&s.labels),
                            start_time_unix_nano: if f.kind == Kind::Counter { start } else { 0 },
                            time_unix_nano: now,
                            value: Some(number_data_point::Value::AsDouble(v)),
                            ..Default::default()
                        }),
                        _ => None,
                    })
                    .collect();
                if f.kind == Kind::Counter {
                    metric::Data::Sum(Sum {
                        data_points: points,
                        aggregation_temporality: cumulative,
                        is_monotonic: true,
                    })
                } else {
                    metric::Data::Gauge(Gauge {
                        data_points: points,
                    })
                }
            }
            Kind::Histogram => metric::Data::Histogram(Histogram {
                aggregation_temporality: cumulative,
                data_points: f
                    .samples
                    .iter()
                    .filter_map(|s| match &s.value {
                        Value::Histogram {
                            buckets,
                            sum,
                            count,
                        } => {
                            let mut prev = 0u64;
                            let mut counts: Vec<u64> = buckets
                                .iter()
                                .map(|(_, c)| {
                                    let d = c.saturating_sub(prev);
                                    prev = prev.max(*c);
                                    d
                                })
                                .collect();
                            counts.push(count.saturating_sub(prev));
                            Some(HistogramDataPoint {
                                attributes: attrs(&s.labels),
                                start_time_unix_nano: start,
                                time_unix_nano: now,
                                count: *count,
                                sum: Some(*sum),
                                bucket_counts: counts,
                                explicit_bounds: buckets.iter().map(|(le, _)| *le).collect(),
                                ..Default::default()
                            })
                        }
                        _ => None,
                    })
                    .collect(),
            }),
            Kind::Summary => metric::Data::Summary(Summary {
                data_points: f
                    .samples
                    .iter()
                    .filter_map(|s| match &s.value {
                        Value::Summary {
                            quantiles,
                            sum,
                            count,
                        } => Some(SummaryDataPoint {
                            attributes: attrs(&s.labels),
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count: *count,
                            sum: *sum,
                            quantile_values: quantiles
                                .iter()
                                .filter_map(|(q, v)| {
                                    Some(ValueAtQuantile {
                                        quantile: percent_to_fraction(q)?,
                                        value: *v,
                                    })
                                })
                                .collect(),
                            ..Default::default()
                        }),
                        _ => None,
                    })
                    .collect(),
            }),
        };
        metrics.push(Metric {
            name: f.name.clone(),
            description: f.help.clone(),
            data: Some(data),
            ..Default::default()
        });
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "shoal-exporter")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shoal-exporter".into(),
                    version: crate::VERSION.into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `"99.9"` (redis_exporter's quantile label) → 0.999, without float noise.
fn percent_to_fraction(q: &str) -> Option<f64> {
    let x = q.parse::<f64>().ok()? / 100.0;
    Some((x * 1e9).round() / 1e9)
}

/// The full URL for metrics under an OTLP/HTTP endpoint.
pub fn metrics_url(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    if e.ends_with("/v1/metrics") {
        e.to_string()
    } else {
        format!("{e}/v1/metrics")
    }
}

/// POST one request; errors are returned as text.
pub fn push(
    agent: &ureq::Agent,
    url: &str,
    req: &ExportMetricsServiceRequest,
) -> Result<(), String> {
    let body = req.encode_to_vec();
    agent
        .post(url)
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .map(|_| ())
        .map_err(|e| format!("OTLP push to {url} failed: {e}"))
}

/// Start the push loop on its own thread.
pub fn spawn(ex: Arc<Exporter>, endpoint: String, interval: Duration) {
    let url = metrics_url(&endpoint);
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(interval.max(Duration::from_secs(1))))
        .build();
    let agent: ureq::Agent = config.into();
    let start = SystemTime::now();
    std::thread::spawn(move || loop {
        let set = ex.collect_configured();
        let req = to_request(&set, start, SystemTime::now());
        if let Err(e) = push(&agent, &url, &req) {
            eprintln!("shoal-exporter: {e}");
        }
        std::thread::sleep(interval);
    });
    eprintln!(
        "shoal-exporter: pushing OTLP metrics to {} every {:?}",
        metrics_url(&endpoint),
        interval
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::labels;

    #[test]
    fn kinds_map_to_otlp_data() {
        let mut m = MetricSet::new("redis");
        m.counter("commands_total", "c", labels(&[("cmd", "get")]), 5.0);
        m.push(
            "commands_latencies_usec",
            "h",
            Kind::Histogram,
            labels(&[("cmd", "get")]),
            Value::Histogram {
                buckets: vec![(1.0, 2), (2.0, 3)],
                sum: 4.0,
                count: 5,
            },
        );
        let r = to_request(&m, UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(1));
        let ms = &r.resource_metrics[0].scope_metrics[0].metrics;
        match &ms[0].data {
            Some(metric::Data::Sum(s)) => {
                assert!(s.is_monotonic);
                assert_eq!(
                    s.data_points[0].value,
                    Some(number_data_point::Value::AsDouble(5.0))
                );
            }
            other => panic!("{other:?}"),
        }
        match &ms[1].data {
            Some(metric::Data::Histogram(h)) => {
                assert_eq!(h.data_points[0].bucket_counts, vec![2, 1, 2]);
                assert_eq!(h.data_points[0].explicit_bounds, vec![1.0, 2.0]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(metrics_url("http://h:4318/"), "http://h:4318/v1/metrics");
    }
}
