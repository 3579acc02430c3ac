//! Latency histograms: one HDR histogram per test, target and load point.
//!
//! Values are microseconds from 1 µs to 100 s at 3 significant digits (larger
//! values saturate at the top, and count). Workers record into their own
//! histograms; [`merge`] adds them after the run, so the hot path never
//! shares memory. [`Summary`] is what the text output and the reports print;
//! [`encode`] is the standard compressed V2 form (the same payload as an
//! HdrHistogram interval log line), so report.json keeps every histogram whole.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A latency histogram in microseconds.
pub type Hist = Histogram<u64>;

/// Lowest discernible value: 1 µs.
pub const LOWEST_US: u64 = 1;
/// Highest trackable value: 100 s.
pub const HIGHEST_US: u64 = 100_000_000;
/// Significant digits kept.
pub const SIGFIG: u8 = 3;

/// An empty histogram with the bounds above.
pub fn new() -> Hist {
    // Constant, valid bounds: hdrhistogram only rejects invalid ones (a unit test
    // covers these), so this cannot fail at run time.
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("valid histogram bounds")
}

/// Add `from` into `into` (same bounds, so it cannot fail; a failure would be a bug
/// and is reported rather than hidden).
pub fn merge(into: &mut Hist, from: &Hist) -> Result<(), String> {
    into.add(from)
        .map_err(|e| format!("histogram merge failed: {e:?}"))
}

/// Summary statistics, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Recorded values.
    pub count: u64,
    /// Mean.
    pub avg_ms: f64,
    /// Smallest.
    pub min_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p99_9_ms: f64,
    /// 99.99th percentile.
    pub p99_99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The value at percentile `p` (0..=100), in ms.
pub fn percentile_ms(h: &Hist, p: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    ms(h.value_at_quantile(p / 100.0))
}

impl Summary {
    /// Summarise a histogram.
    pub fn of(h: &Hist) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        Summary {
            count: h.len(),
            avg_ms: h.mean() / 1000.0,
            min_ms: ms(h.min()),
            p50_ms: percentile_ms(h, 50.0),
            p95_ms: percentile_ms(h, 95.0),
            p99_ms: percentile_ms(h, 99.0),
            p99_9_ms: percentile_ms(h, 99.9),
            p99_99_ms: percentile_ms(h, 99.99),
            max_ms: ms(h.max()),
        }
    }
}

/// Base64 of the V2-deflate serialization (HdrHistogram's interchange form).
pub fn encode(h: &Hist) -> Result<String, String> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| format!("histogram serialization failed: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// Compact bytes (V2 encoding, runs of zeros folded) for keeping many histograms.
pub fn pack(h: &Hist) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| format!("histogram serialization failed: {e:?}"))?;
    Ok(buf)
}

/// Inverse of [`pack`].
pub fn unpack(bytes: &[u8]) -> Result<Hist, String> {
    let mut h: Hist = Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("bad packed histogram: {e:?}"))?;
    // Deserialized histograms keep the encoded bounds; make sure merging works.
    h.auto(true);
    Ok(h)
}

/// Inverse of [`encode`].
pub fn decode(s: &str) -> Result<Hist, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("bad base64 histogram: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("bad histogram: {e:?}"))
}

/// The percentile spectrum for charts: `(percentile, ms)` points, denser in the tail.
pub fn spectrum(h: &Hist) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<(f64, f64)> = h
        .iter_quantiles(4)
        .map(|it| {
            (
                it.quantile_iterated_to() * 100.0,
                ms(it.value_iterated_to()),
            )
        })
        .collect();
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// Every recorded value and its count: `[µs, count]` pairs (bucket upper values).
pub fn buckets(h: &Hist) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|it| (it.value_iterated_to(), it.count_at_value()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_keeps_percentiles() {
        let mut a = new();
        let mut b = new();
        for v in 1..=1000u64 {
            a.record(v).unwrap();
        }
        for _ in 0..1000 {
            b.record(200_000).unwrap();
        }
        let mut m = new();
        merge(&mut m, &a).unwrap();
        merge(&mut m, &b).unwrap();
        assert_eq!(m.len(), 2000);
        let s = Summary::of(&m);
        assert!((s.p50_ms - 1.0).abs() < 0.01, "{s:?}");
        assert!((s.p99_ms - 200.0).abs() < 0.2, "{s:?}");
        assert_eq!(s.min_ms, 0.001);
        assert!((s.max_ms - 200.0).abs() < 0.2);
    }

    #[test]
    fn covers_a_minute_at_three_digits() {
        let mut h = new();
        h.record(60_000_000).unwrap();
        h.record(1).unwrap();
        assert!((h.max() as f64 - 60_000_000.0).abs() / 60_000_000.0 < 0.001);
        assert_eq!(h.min(), 1);
        h.saturating_record(u64::MAX);
        assert_eq!(h.len(), 3, "values past the top still count");
    }

    #[test]
    fn encode_round_trips() {
        let mut h = new();
        for v in [5u64, 50, 500, 5000, 5000, 123_456] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h).unwrap()).unwrap();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.max(), h.max());
        assert_eq!(buckets(&back), buckets(&h));
        assert!(decode("not base64!").is_err());
    }

    #[test]
    fn pack_is_small_and_round_trips() {
        let mut h = new();
        for v in [10u64, 20, 20, 30_000, 1_000_000] {
            h.record(v).unwrap();
        }
        let packed = pack(&h).unwrap();
        assert!(packed.len() < 1024, "{} bytes", packed.len());
        let back = unpack(&packed).unwrap();
        assert_eq!(buckets(&back), buckets(&h));
        let mut m = new();
        merge(&mut m, &back).unwrap();
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn spectrum_rises_to_the_max() {
        let mut h = new();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let s = spectrum(&h);
        assert!(s.len() > 10);
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(s.last().unwrap().0, 100.0);
        assert!((s.last().unwrap().1 - 10.0).abs() < 0.01);
        assert!(spectrum(&new()).is_empty());
    }
}
