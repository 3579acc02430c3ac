//! # shoal-exporter: Prometheus metrics for Redis-protocol servers
//!
//! A sidecar that talks RESP over TCP to shoal-server, redis-server or a
//! sentinel (never linking the engine, see `../shared/DESIGN.md`), turns what
//! they report into metric families named exactly as oliver006/redis_exporter
//! names them, and serves them over HTTP (`/metrics`, `/scrape?target=`) in
//! the Prometheus text format or OpenMetrics; optionally it pushes the same
//! families over OTLP/HTTP.
//!
//! | module | what it owns |
//! |---|---|
//! | [`config`] | flags, environment variables and the TOML config file → [`config::Settings`] |
//! | [`conn`] | a deadline-bounded RESP connection (connect, AUTH, one command at a time) |
//! | [`info`] | parsing `INFO` text into sections and fields, and `k=v,k=v` values |
//! | [`model`] | the metric model: families, samples, labels ([`model::MetricSet`]) |
//! | [`collect`] | one scrape of one target: the commands it sends and the INFO → metric mapping |
//! | [`expo`] | encoders: Prometheus text 0.0.4 and OpenMetrics (via `prometheus-client`) |
//! | [`http`] | the HTTP server: routes, content negotiation, the per-target error counters |
//! | [`otlp`] | the optional OTLP/HTTP push loop (opentelemetry-proto messages) |
//!
//! What this crate must not do: depend on `engine/`, fail an HTTP request
//! because a target is down (that is `redis_up 0`), or block without a deadline.

pub mod collect;
pub mod config;
pub mod conn;
pub mod expo;
pub mod http;
pub mod info;
pub mod model;
pub mod otlp;

/// This build's version, reported in `redis_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
