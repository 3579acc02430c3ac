//! Time sources: wall-clock milliseconds (expiry, TIME, INFO) and a
//! monotonic clock for durations.
//!
//! [`Instant`] times every command (commandstats, latency histograms): it
//! reads the CPU's time-stamp counter (quanta), calibrated once, where
//! `std::time::Instant` goes through the vDSO's clock_gettime, which cost
//! 8% of a pipelined GET in a profile.

use std::time::{SystemTime, UNIX_EPOCH};

/// A cheap monotonic instant for timing commands (`now()`, `elapsed()`).
pub use quanta::Instant;

/// Calibrate the command clock (once, at start-up, before shards run).
pub fn calibrate() {
    let _ = Instant::now();
}

/// Milliseconds since the Unix epoch.
#[inline]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch.
#[inline]
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
#[inline]
pub fn now_secs() -> i64 {
    now_ms() / 1000
}
