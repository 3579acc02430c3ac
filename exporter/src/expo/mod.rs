//! Exposition formats for a [`MetricSet`](crate::model::MetricSet).
//!
//! - [`text`]: Prometheus text format 0.0.4, written here (the exposition
//!   crate we use only speaks OpenMetrics). Names and sample names are exactly
//!   redis_exporter's.
//! - [`openmetrics`]: OpenMetrics 1.0 text through `prometheus-client`'s
//!   collector encoder. OpenMetrics reserves `_total` for counters: a counter
//!   whose name does not end in `_total` (redis_exporter has a few, e.g.
//!   `redis_total_error_replies`) is exposed as `unknown` so that its sample
//!   name, which dashboards query, stays the same in both formats.
//!
//! [`negotiate`] picks the format from the request's `Accept` header the way
//! Prometheus asks for it.

pub mod openmetrics;
pub mod text;

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}

impl Format {
    /// The Content-Type header value.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// OpenMetrics when the client lists it in `Accept` before (or without) plain
/// text, else the Prometheus text format.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::PrometheusText;
    };
    let om = accept.find("application/openmetrics-text");
    let txt = accept.find("text/plain");
    match (om, txt) {
        (Some(o), Some(t)) if o < t => Format::OpenMetrics,
        (Some(_), None) => Format::OpenMetrics,
        _ => Format::PrometheusText,
    }
}

/// Encode a metric set in the given format.
pub fn encode(set: &crate::model::MetricSet, format: Format) -> String {
    match format {
        Format::PrometheusText => text::encode(set),
        Format::OpenMetrics => openmetrics::encode(set),
    }
}

/// The metric set both encoders' tests encode: one family of each kind,
/// label values that need escaping, a counter without `_total`.
#[cfg(test)]
pub(crate) fn sample_set() -> crate::model::MetricSet {
    use crate::model::{labels, Kind, MetricSet, Value};
    let mut m = MetricSet::new("redis");
    m.gauge(
        "instance_info",
        "Info",
        labels(&[("os", "Linux \"x\"\\\n")]),
        1.0,
    );
    m.counter("commands_total", "Calls", labels(&[("cmd", "get")]), 5.0);
    m.counter("total_error_replies", "Errors", vec![], 2.0);
    let summary = Value::Summary {
        quantiles: vec![("50".into(), 0.5), ("99.9".into(), 2.0)],
        sum: 7.0,
        count: 3,
    };
    m.push(
        "latency_percentiles_usec",
        "Latency",
        Kind::Summary,
        labels(&[("cmd", "get")]),
        summary,
    );
    let hist = Value::Histogram {
        buckets: vec![(1.0, 2), (2.0, 3)],
        sum: 4.0,
        count: 4,
    };
    m.push(
        "commands_latencies_usec",
        "Hist",
        Kind::Histogram,
        labels(&[("cmd", "get")]),
        hist,
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        assert_eq!(negotiate(None), Format::PrometheusText);
        assert_eq!(negotiate(Some("*/*")), Format::PrometheusText);
        // What Prometheus 2.42 sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            negotiate(Some("text/plain;version=0.0.4")),
            Format::PrometheusText
        );
    }
}
