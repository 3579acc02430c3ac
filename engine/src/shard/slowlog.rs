//! The slow log and the latency monitor of one shard.
//!
//! Commands are observed on the shard whose connection sent them, with the
//! execution time measured where they ran (inline, on another shard and
//! brought back with the batch's replies, or as a multi-shard future).
//! SLOWLOG and LATENCY merge the shards' records: slow-log ids come from
//! one process-wide counter, so merged entries sort as Redis's would.
//!
//! - Slow log: commands slower than `slowlog-log-slower-than` µs (negative
//!   disables, 0 logs everything), at most `slowlog-max-len` entries,
//!   arguments cut as Redis cuts them (32 arguments, 128 bytes each).
//! - Latency monitor: with `latency-monitor-threshold` > 0 ms, commands at
//!   least that slow add a sample to the `command` (or `fast-command`)
//!   event: one per second (the highest), the last 160 kept.

use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};

const MAX_ARGC: usize = 32;
const MAX_ARG_BYTES: usize = 128;
/// Samples kept per latency event (Redis's LATENCY_TS_LEN).
pub const HISTORY_LEN: usize = 160;

/// One slow-log entry.
#[derive(Clone, Debug)]
pub struct SlowEntry {
    /// Process-wide, increasing.
    pub id: u64,
    /// Unix seconds when the command ran.
    pub time: i64,
    /// Execution time in microseconds.
    pub micros: u64,
    /// The arguments, cut to size.
    pub argv: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    /// CLIENT SETNAME name.
    pub name: Vec<u8>,
}

/// Arguments as the slow log keeps them: at most 32 (the last one then
/// says how many more there were), each at most 128 bytes (plus a note of
/// how many more bytes there were).
pub fn cut_args<'a>(args: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<Bytes> {
    let argc = args.len();
    let keep = if argc > MAX_ARGC { MAX_ARGC - 1 } else { argc };
    let mut out: Vec<Bytes> = args
        .take(keep)
        .map(|a| {
            if a.len() > MAX_ARG_BYTES {
                let mut v = a.get(..MAX_ARG_BYTES).unwrap_or(a).to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes(),
                );
                Bytes::from(v)
            } else {
                Bytes::copy_from_slice(a)
            }
        })
        .collect();
    if argc > MAX_ARGC {
        out.push(Bytes::from(format!(
            "... ({} more arguments)",
            argc - MAX_ARGC + 1
        )));
    }
    out
}

/// Samples of one latency event.
#[derive(Clone, Debug, Default)]
pub struct LatencyEvent {
    /// (Unix seconds, ms), oldest first.
    pub samples: VecDeque<(i64, u64)>,
    /// Highest latency ever recorded (until LATENCY RESET).
    pub max: u64,
}

impl LatencyEvent {
    fn add(&mut self, time: i64, ms: u64) {
        self.max = self.max.max(ms);
        match self.samples.back_mut() {
            Some((t, v)) if *t == time => *v = (*v).max(ms),
            _ => {
                if self.samples.len() >= HISTORY_LEN {
                    self.samples.pop_front();
                }
                self.samples.push_back((time, ms));
            }
        }
    }

    /// Merge another shard's record of the same event.
    pub fn merge(&mut self, other: &LatencyEvent) {
        self.max = self.max.max(other.max);
        let mut all: Vec<(i64, u64)> = self.samples.drain(..).collect();
        all.extend(other.samples.iter().copied());
        all.sort_unstable();
        for (t, v) in all {
            match self.samples.back_mut() {
                Some((bt, bv)) if *bt == t => *bv = (*bv).max(v),
                _ => self.samples.push_back((t, v)),
            }
        }
        while self.samples.len() > HISTORY_LEN {
            self.samples.pop_front();
        }
    }
}

/// The slow log and latency events of one shard.
#[derive(Debug, Default)]
pub struct Observed {
    /// Newest first.
    pub slow: VecDeque<SlowEntry>,
    /// By event name.
    pub latency: BTreeMap<&'static str, LatencyEvent>,
}

impl Observed {
    /// Add a slow-log entry, keeping at most `max_len`.
    pub fn log(&mut self, entry: SlowEntry, max_len: usize) {
        self.slow.push_front(entry);
        self.slow.truncate(max_len);
    }

    /// Add a latency sample to `event`.
    pub fn sample(&mut self, event: &'static str, time: i64, ms: u64) {
        self.latency.entry(event).or_default().add(time, ms);
    }
}

/// Record a command that ran for `dur`, if it is slow enough for the slow
/// log or the latency monitor. Commands flagged `skip_slowlog` (EXEC) and
/// blocking waits are not observed.
pub fn observe(
    shard: &super::Shard,
    spec: &crate::command::spec::CommandSpec,
    dur: std::time::Duration,
    req: &resp::Request,
    info: &super::clients::ClientInfo,
) {
    use crate::command::spec::flags;
    let micros = u64::try_from(dur.as_micros()).unwrap_or(u64::MAX);
    let (slower_than, max_len, threshold_ms) = {
        let st = shard.state.borrow();
        let c = &st.config;
        (
            c.slowlog_slower_than,
            c.slowlog_max_len,
            c.latency_threshold_ms,
        )
    };
    let slow = slower_than >= 0 && micros >= slower_than.unsigned_abs();
    let ms = micros / 1000;
    let latent = threshold_ms > 0 && ms >= threshold_ms.unsigned_abs();
    if !(slow || latent) || spec.has(flags::SKIP_SLOWLOG) {
        return;
    }
    let now = crate::clock::now_ms() / 1000;
    let entry = slow.then(|| SlowEntry {
        id: shard
            .shared
            .slowlog_ids
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        time: now,
        micros,
        argv: cut_args(req.iter()),
        peer: info.addr.clone(),
        name: info.name.borrow().clone(),
    });
    let mut st = shard.state.borrow_mut();
    if let Some(e) = entry {
        st.observed.log(e, max_len);
    }
    if latent {
        let event = if spec.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        st.observed.sample(event, now, ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_cut_like_redis() {
        let long = vec![b'a'; 130];
        let args: Vec<&[u8]> = vec![b"SET", b"k", &long];
        let cut = cut_args(args.into_iter());
        assert_eq!(cut.len(), 3);
        assert!(cut[2].ends_with(b"... (2 more bytes)"));
        assert_eq!(cut[2].len(), 128 + "... (2 more bytes)".len());
        let many: Vec<Vec<u8>> = (0..40).map(|i| format!("{i}").into_bytes()).collect();
        let cut = cut_args(many.iter().map(Vec::as_slice));
        assert_eq!(cut.len(), 32);
        assert_eq!(&cut[31][..], b"... (9 more arguments)");
    }

    #[test]
    fn one_sample_per_second_and_history_bound() {
        let mut e = LatencyEvent::default();
        e.add(10, 5);
        e.add(10, 9);
        e.add(10, 7);
        e.add(11, 3);
        assert_eq!(e.samples, VecDeque::from(vec![(10, 9), (11, 3)]));
        assert_eq!(e.max, 9);
        for t in 0..500 {
            e.add(100 + t, 1);
        }
        assert_eq!(e.samples.len(), HISTORY_LEN);
    }
}
