//! Latency: LATENCY LATEST, LATENCY HISTOGRAM, SLOWLOG and INFO latencystats.
//!
//! - `redis_latency_percentiles_usec{cmd}`: summary from `# Latencystats`
//!   (`latency_percentiles_usec_get:p50=..,p99=..,p99.9=..`), quantile labels
//!   `50`, `99`, `99.9` as redis_exporter writes them; `_sum` is the command's
//!   total usec and `_count` its calls, from `# Commandstats`.
//! - `redis_commands_latencies_usec{cmd}`: a real Prometheus histogram from
//!   `LATENCY HISTOGRAM` (Redis ≥ 7; shoal-server serves the same reply from
//!   its HDR data). Each reply entry is `cmd → [calls, N, histogram_usec,
//!   [bound, cumulative count, ...]]` (RESP2 arrays or RESP3 maps); bounds are
//!   microseconds, roughly powers of two. Name and units are redis_exporter's
//!   (≥ 1.48), so dashboards built for it work; `_sum` is the exact command's
//!   usec from commandstats.
//! - `redis_latency_spike_last{event_name}` / `redis_latency_spike_duration_seconds`
//!   from LATENCY LATEST; `redis_slowlog_length`, `redis_slowlog_last_id`,
//!   `redis_last_slow_execution_duration_seconds` from SLOWLOG.

use super::server::command_stats;
use super::{number, pairs, text, Replies};
use crate::info::{kv_list, parse_number, Info};
use crate::model::{labels, Kind, MetricSet, Value};
use resp::Frame;

/// Everything latency-related.
pub fn collect(m: &mut MetricSet, info: &Info, r: &Replies) {
    let stats = command_stats(info);
    let usec_calls = |cmd: &str| {
        stats
            .iter()
            .find(|s| s.cmd == cmd)
            .map(|s| (s.usec, s.calls))
    };
    latencystats(m, info, &usec_calls);
    if let Some(h) = &r.latency_histogram {
        for CmdHistogram {
            cmd,
            calls,
            buckets,
        } in histogram(h)
        {
            let sum = usec_calls(&cmd).map(|(usec, _)| usec).unwrap_or(0.0);
            m.push(
                "commands_latencies_usec",
                "Command latency histogram in microseconds (LATENCY HISTOGRAM)",
                Kind::Histogram,
                labels(&[("cmd", &cmd)]),
                Value::Histogram {
                    buckets,
                    sum,
                    count: calls,
                },
            );
        }
    }
    if let Some(l) = &r.latency_latest {
        for e in l.as_array().unwrap_or(&[]) {
            let Some(parts) = e.as_array() else { continue };
            let (Some(name), Some(ts), Some(last_ms)) = (
                parts.first().and_then(text),
                parts.get(1).and_then(number),
                parts.get(2).and_then(number),
            ) else {
                continue;
            };
            let l = labels(&[("event_name", &name)]);
            m.gauge(
                "latency_spike_last",
                "When the latency spike last occurred (unix time)",
                l.clone(),
                ts,
            );
            m.gauge(
                "latency_spike_duration_seconds",
                "Length of the last latency spike in seconds",
                l,
                last_ms / 1e3,
            );
        }
    }
    if let Some(len) = r.slowlog_len.as_ref().and_then(number) {
        m.gauge("slowlog_length", "Total slowlog", vec![], len);
    }
    if let Some(get) = &r.slowlog_get {
        let last = get
            .as_array()
            .and_then(|a| a.first())
            .and_then(Frame::as_array);
        let id = last.and_then(|e| e.first()).and_then(number).unwrap_or(0.0);
        let dur = last.and_then(|e| e.get(2)).and_then(number).unwrap_or(0.0);
        m.gauge("slowlog_last_id", "Last id of slowlog", vec![], id);
        m.gauge(
            "last_slow_execution_duration_seconds",
            "The amount of time needed for last slow execution, in seconds",
            vec![],
            dur / 1e6,
        );
    }
}

fn latencystats(m: &mut MetricSet, info: &Info, usec_calls: &dyn Fn(&str) -> Option<(f64, f64)>) {
    let Some(ls) = info.section("Latencystats") else {
        return;
    };
    for (k, v) in &ls.fields {
        let Some(cmd) = k.strip_prefix("latency_percentiles_usec_") else {
            continue;
        };
        let quantiles: Vec<(String, f64)> = kv_list(v)
            .into_iter()
            .filter_map(|(q, x)| Some((q.strip_prefix('p')?.to_string(), parse_number(x)?)))
            .collect();
        if quantiles.is_empty() {
            continue;
        }
        let (sum, count) = usec_calls(cmd).unwrap_or((0.0, 0.0));
        m.push(
            "latency_percentiles_usec",
            "A summary of latency percentile distribution per command",
            Kind::Summary,
            labels(&[("cmd", cmd)]),
            Value::Summary {
                quantiles,
                sum,
                count: count as u64,
            },
        );
    }
}

/// One command's entry of a LATENCY HISTOGRAM reply.
#[derive(Clone, Debug, PartialEq)]
pub struct CmdHistogram {
    /// Command name.
    pub cmd: String,
    /// Total calls.
    pub calls: u64,
    /// Cumulative `(upper bound usec, count)` buckets, ascending.
    pub buckets: Vec<(f64, u64)>,
}

/// Parse a LATENCY HISTOGRAM reply.
/// Malformed entries are skipped; bucket counts are forced non-decreasing and
/// never above `calls`, so a bad reply cannot produce an invalid histogram.
pub fn histogram(f: &Frame) -> Vec<CmdHistogram> {
    let mut out = Vec::new();
    for (cmd, detail) in pairs(f) {
        let d = pairs(detail);
        let Some(calls) = d
            .iter()
            .find(|(k, _)| k == "calls")
            .and_then(|(_, v)| number(v))
        else {
            continue;
        };
        let calls = calls.max(0.0) as u64;
        let mut buckets: Vec<(f64, u64)> = Vec::new();
        if let Some((_, h)) = d.iter().find(|(k, _)| k == "histogram_usec") {
            let mut raw: Vec<(f64, u64)> = pairs(h)
                .into_iter()
                .filter_map(|(b, c)| Some((b.parse::<f64>().ok()?, number(c)?.max(0.0) as u64)))
                .filter(|(b, _)| b.is_finite())
                .collect();
            raw.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut prev = 0;
            for (b, c) in raw {
                let c = c.max(prev).min(calls);
                prev = c;
                buckets.push((b, c));
            }
        }
        out.push(CmdHistogram {
            cmd,
            calls,
            buckets,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::bulk(s)
    }

    #[test]
    fn histogram_resp2_shape_from_redis_7() {
        // As redis-server 7.0.15 answers `LATENCY HISTOGRAM set` over RESP2.
        let f = Frame::Array(vec![
            bulk("set"),
            Frame::Array(vec![
                bulk("calls"),
                Frame::Integer(20000),
                bulk("histogram_usec"),
                Frame::Array(vec![
                    Frame::Integer(1),
                    Frame::Integer(19841),
                    Frame::Integer(2),
                    Frame::Integer(19920),
                    Frame::Integer(264),
                    Frame::Integer(20000),
                ]),
            ]),
        ]);
        let h = histogram(&f);
        let buckets = vec![(1.0, 19841), (2.0, 19920), (264.0, 20000)];
        assert_eq!(
            h,
            vec![CmdHistogram {
                cmd: "set".into(),
                calls: 20000,
                buckets
            }]
        );
    }

    #[test]
    fn histogram_resp3_maps_and_garbage() {
        let f = Frame::Map(vec![(
            bulk("get"),
            Frame::Map(vec![
                (bulk("calls"), Frame::Integer(3)),
                (
                    bulk("histogram_usec"),
                    Frame::Map(vec![
                        (Frame::Integer(4), Frame::Integer(5)),
                        (Frame::Integer(2), Frame::Integer(1)),
                    ]),
                ),
            ]),
        )]);
        // Sorted, clamped to calls.
        let buckets = vec![(2.0, 1), (4.0, 3)];
        assert_eq!(
            histogram(&f),
            vec![CmdHistogram {
                cmd: "get".into(),
                calls: 3,
                buckets
            }]
        );
        assert!(histogram(&Frame::Integer(7)).is_empty());
        assert!(histogram(&Frame::Array(vec![bulk("x"), bulk("y")])).is_empty());
    }
}
