//! The open-loop send schedule (wrk2's method against coordinated omission).
//!
//! Operation `k` of a run at `rate` ops/s is due at `t0 + k / rate`, whatever
//! happened before it; client `i` of `C` owns operations `i, i + C, i + 2C, …`,
//! so the load spreads evenly over connections and threads without any
//! coordination. Its latency is measured from that due time, not from when it
//! was actually written: a server stall delays every operation due during the
//! stall, and the histogram shows it, as a real user would have seen it.

use std::time::Duration;

/// A fixed-rate schedule of `total` operations over `clients` clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    rate: f64,
    clients: u64,
    total: u64,
}

impl Schedule {
    /// `rate` ops/s (> 0), `clients` ≥ 1, `total` operations.
    pub fn new(rate: f64, clients: usize, total: u64) -> Result<Schedule, String> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("--rate must be a positive number, not {rate}"));
        }
        Ok(Schedule {
            rate,
            clients: clients.max(1) as u64,
            total,
        })
    }

    /// Offered rate, ops/s.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Operations in the run.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// When operation `k` is due, counted from the run's start.
    pub fn due(&self, k: u64) -> Duration {
        Duration::from_secs_f64(k as f64 / self.rate)
    }

    /// The first operation of client `i`, or `None` if it has none.
    pub fn first(&self, client: usize) -> Option<u64> {
        let k = client as u64;
        (k < self.total).then_some(k)
    }

    /// The operation after `k` on the same client, or `None` at the end.
    pub fn next(&self, k: u64) -> Option<u64> {
        let n = k + self.clients;
        (n < self.total).then_some(n)
    }

    /// Operations needed to run `secs` seconds at this rate.
    pub fn ops_for(rate: f64, secs: f64) -> u64 {
        (rate * secs).round().max(1.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_once_in_time_order() {
        let s = Schedule::new(1000.0, 3, 10).unwrap();
        let mut all = Vec::new();
        for c in 0..3 {
            let mut k = s.first(c);
            let mut last = None;
            while let Some(op) = k {
                if let Some(l) = last {
                    assert_eq!(s.due(op) - s.due(l), Duration::from_millis(3));
                }
                all.push(op);
                last = Some(op);
                k = s.next(op);
            }
        }
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(s.due(0), Duration::ZERO);
        assert_eq!(s.due(9), Duration::from_millis(9));
    }

    #[test]
    fn more_clients_than_operations() {
        let s = Schedule::new(10.0, 5, 2).unwrap();
        assert_eq!(s.first(1), Some(1));
        assert_eq!(s.first(2), None);
        assert_eq!(s.next(0), None);
    }

    #[test]
    fn no_drift_over_long_runs() {
        let s = Schedule::new(3.0, 1, u64::MAX).unwrap();
        // One hour at 3/s: the 10,800th operation is due exactly at 3600 s.
        assert_eq!(s.due(10_800), Duration::from_secs(3600));
        assert_eq!(Schedule::ops_for(2000.0, 1.5), 3000);
    }

    #[test]
    fn rejects_bad_rates() {
        assert!(Schedule::new(0.0, 1, 1).is_err());
        assert!(Schedule::new(f64::NAN, 1, 1).is_err());
        assert!(Schedule::new(-5.0, 1, 1).is_err());
    }
}
