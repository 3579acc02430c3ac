//! `shoal-exporter`: parse settings, start the optional OTLP push, serve HTTP.

use clap::Parser;
use shoal_exporter::config::{normalize_args, resolve, Flags};
use shoal_exporter::http::{serve, Exporter};
use std::sync::Arc;

fn main() {
    let flags = Flags::parse_from(normalize_args(std::env::args()));
    let settings = match resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shoal-exporter: {e}");
            std::process::exit(2);
        }
    };
    let ex = Arc::new(Exporter::new(settings));
    if let Some(endpoint) = ex.settings().otlp_endpoint.clone() {
        shoal_exporter::otlp::spawn(Arc::clone(&ex), endpoint, ex.settings().otlp_interval);
    }
    if let Err(e) = serve(ex) {
        eprintln!("shoal-exporter: {e}");
        std::process::exit(1);
    }
}
