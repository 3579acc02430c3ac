//! OTLP/HTTP push against a minimal OTLP/HTTP receiver (the counterpart, in
//! this test): the exporter POSTs protobuf `ExportMetricsServiceRequest`s to
//! `/v1/metrics`; the receiver decodes them with the opentelemetry-proto types
//! and the test checks kinds, values and that the same families as on
//! `/metrics` arrive.

mod common;

use common::{find, Exporter};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Metric,
};
use prost::Message;
use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

/// A receiver accepting OTLP/HTTP protobuf posts, forwarding decoded requests.
fn receiver() -> (
    u16,
    mpsc::Receiver<(String, String, ExportMetricsServiceRequest)>,
) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind receiver");
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .expect("port");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Bounded: stops after 100 requests or when the test is gone.
        for _ in 0..100 {
            let Ok(Some(mut req)) = server.recv_timeout(Duration::from_secs(60)) else {
                break;
            };
            let mut body = Vec::new();
            let _ = std::io::Read::read_to_end(req.as_reader(), &mut body);
            let ct = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Content-Type"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            let path = req.url().to_string();
            let decoded = ExportMetricsServiceRequest::decode(&body[..]);
            let status = if decoded.is_ok() { 200 } else { 400 };
            let _ =
                req.respond(tiny_http::Response::from_data(Vec::new()).with_status_code(status));
            if let Ok(d) = decoded {
                if tx.send((path, ct, d)).is_err() {
                    break;
                }
            }
        }
    });
    (port, rx)
}

fn attr<'a>(m: &'a [opentelemetry_proto::tonic::common::v1::KeyValue], k: &str) -> Option<&'a str> {
    m.iter()
        .find(|kv| kv.key == k)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

fn double(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => f64::NAN,
    }
}

#[test]
fn pushes_the_same_metrics_over_otlp_http() {
    let srv = testkit::Server::redis();
    {
        let mut c = srv.client();
        let cmds: Vec<Vec<String>> = (0..300)
            .map(|i| vec!["SET".into(), format!("k{i}"), "v".into()])
            .collect();
        c.pipeline(cmds).expect("load");
    }
    let (port, rx) = receiver();
    let ex = Exporter::start(&[
        "--redis.addr",
        &srv.addr(),
        "--otlp-endpoint",
        &format!("http://127.0.0.1:{port}"),
        "--otlp-interval",
        "200ms",
    ]);
    let (path, ct, req) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no OTLP request received");
    assert_eq!(path, "/v1/metrics");
    assert_eq!(ct, "application/x-protobuf");
    let rm = &req.resource_metrics[0];
    assert_eq!(
        rm.resource
            .as_ref()
            .and_then(|r| attr(&r.attributes, "service.name")),
        Some("shoal-exporter")
    );
    let metrics: &[Metric] = &rm.scope_metrics[0].metrics;
    let get = |n: &str| {
        metrics
            .iter()
            .find(|m| m.name == n)
            .unwrap_or_else(|| panic!("{n} not pushed"))
    };

    match &get("redis_up").data {
        Some(metric::Data::Gauge(g)) => assert_eq!(double(&g.data_points[0]), 1.0),
        other => panic!("redis_up: {other:?}"),
    }
    match &get("redis_commands_processed_total").data {
        Some(metric::Data::Sum(s)) => {
            assert!(s.is_monotonic);
            assert_eq!(
                s.aggregation_temporality,
                AggregationTemporality::Cumulative as i32
            );
            assert!(double(&s.data_points[0]) >= 300.0);
        }
        other => panic!("commands_processed: {other:?}"),
    }
    match &get("redis_db_keys").data {
        Some(metric::Data::Gauge(g)) => {
            let db0 = g
                .data_points
                .iter()
                .find(|p| attr(&p.attributes, "db") == Some("db0"))
                .expect("db0");
            assert_eq!(double(db0), 300.0);
            assert_eq!(g.data_points.len(), 16);
        }
        other => panic!("db_keys: {other:?}"),
    }
    match &get("redis_commands_latencies_usec").data {
        Some(metric::Data::Histogram(h)) => {
            let p = h
                .data_points
                .iter()
                .find(|p| attr(&p.attributes, "cmd") == Some("set"))
                .expect("set histogram");
            assert!(p.count >= 300, "{}", p.count);
            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
            assert!(p.explicit_bounds.windows(2).all(|w| w[0] < w[1]));
        }
        other => panic!("latency histogram: {other:?}"),
    }
    match &get("redis_latency_percentiles_usec").data {
        Some(metric::Data::Summary(s)) => {
            let p = s
                .data_points
                .iter()
                .find(|p| attr(&p.attributes, "cmd") == Some("set"))
                .expect("set summary");
            let qs: Vec<f64> = p.quantile_values.iter().map(|q| q.quantile).collect();
            assert_eq!(qs, vec![0.5, 0.99, 0.999]);
        }
        other => panic!("latency summary: {other:?}"),
    }
    // The same families as the HTTP exposition.
    let pushed: BTreeSet<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    let (_, text) = common::http_get(&ex.url("/metrics")).expect("metrics");
    let exposed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(String::from)
        .collect();
    let exposed: BTreeSet<&str> = exposed.iter().map(String::as_str).collect();
    assert_eq!(pushed, exposed);
    // And it keeps pushing.
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "no second push"
    );
}

#[test]
fn unreachable_collector_does_not_disturb_metrics() {
    let srv = testkit::Server::redis();
    let dead = testkit::free_port();
    let ex = Exporter::start(&[
        "--redis.addr",
        &srv.addr(),
        "--otlp-endpoint",
        &format!("http://127.0.0.1:{dead}"),
        "--otlp-interval",
        "200ms",
    ]);
    let logged = common::wait_for(Duration::from_secs(10), || {
        ex.proc.log_text().contains("OTLP push").then_some(())
    });
    assert!(
        logged.is_some(),
        "push failure not reported: {}",
        ex.proc.log_text()
    );
    let s = ex.samples("/metrics");
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(1.0));
}
