//! # shoal-tools: command-line tools that speak RESP to any server
//!
//! | module | binary | what it owns |
//! |---|---|---|
//! | [`bench`] | `shoal-benchmark` | latency-tail load generator: redis-benchmark's flags and tests, HDR histograms, open-loop pacing, presets, several targets, cluster routing, reports |
//!
//! What this crate must not do: depend on `engine/`. Tools talk RESP over TCP
//! or unix sockets, exactly as redis-benchmark does, so they work against a
//! real redis-server, a Valkey, or Shoal alike. The wire codec comes from
//! `resp` (crate `shoal-resp`); `testkit` starts real servers for the tests.

pub mod bench;
