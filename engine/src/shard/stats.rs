//! Per-shard counters: commandstats, latency histograms, errorstats and the
//! INFO stats fields. Each shard counts what it executes; INFO merges the
//! shards' snapshots ([`StatsSnapshot`]), so nothing here is shared.

use crate::command::spec::CmdId;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::time::Duration;

/// Latency histograms cover 1 ns .. 1 s at 2 significant digits, like Redis's
/// latencystats; longer commands are clamped into the top bucket.
const HIST_MIN_NS: u64 = 1;
const HIST_MAX_NS: u64 = 1_000_000_000;
const HIST_SIGFIG: u8 = 2;

/// Counters of one command (or subcommand) on one shard.
#[derive(Clone, Default)]
pub struct CmdStats {
    /// Executions.
    pub calls: u64,
    /// Total execution time in microseconds.
    pub usec: u64,
    /// Rejected before execution (arity, auth, ...).
    pub rejected: u64,
    /// Executed but replied with an error.
    pub failed: u64,
    /// Execution time histogram in nanoseconds (allocated on first call).
    pub hist: Option<Box<Histogram<u64>>>,
}

fn new_hist() -> Option<Box<Histogram<u64>>> {
    Histogram::new_with_bounds(HIST_MIN_NS, HIST_MAX_NS, HIST_SIGFIG)
        .ok()
        .map(Box::new)
}

impl CmdStats {
    fn merge(&mut self, other: &CmdStats) {
        self.calls += other.calls;
        self.usec += other.usec;
        self.rejected += other.rejected;
        self.failed += other.failed;
        if let Some(h) = &other.hist {
            if self.hist.is_none() {
                self.hist = new_hist();
            }
            if let Some(mine) = self.hist.as_mut() {
                let _ = mine.add(h.as_ref());
            }
        }
    }
}

/// Everything one shard counts.
#[derive(Default)]
pub struct ShardStats {
    /// Per command id.
    pub cmds: Vec<CmdStats>,
    /// Error replies by error code (`ERR`, `WRONGTYPE`, ...).
    pub errors: HashMap<String, u64>,
    /// Commands executed (`total_commands_processed`).
    pub commands: u64,
    /// Error replies sent (`total_error_replies`).
    pub error_replies: u64,
    /// Bytes read from clients.
    pub net_in: u64,
    /// Bytes written to clients.
    pub net_out: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Messages this shard sent to other shards.
    pub hops_out: u64,
    /// Messages this shard received from other shards.
    pub hops_in: u64,
    /// Read syscalls on client sockets.
    pub reads: u64,
    /// Write syscalls on client sockets.
    pub writes: u64,
    /// Whether per-command histograms are kept (`latency-tracking`).
    pub latency_tracking: bool,
    /// Recent (time, commands, net_in, net_out) samples for the
    /// instantaneous rates, taken by the background task.
    pub samples: std::collections::VecDeque<(std::time::Instant, u64, u64, u64)>,
}

/// The error code of an error reply: the first word, or `ERR` when the
/// text does not start with an upper-case code (as Redis counts them).
pub fn error_code(reply: &[u8]) -> Option<&[u8]> {
    let body = reply.strip_prefix(b"-")?;
    let end = body
        .iter()
        .position(|&c| c == b' ' || c == b'\r')
        .unwrap_or(body.len());
    body.get(..end)
}

impl ShardStats {
    fn cmd(&mut self, id: CmdId) -> &mut CmdStats {
        let i = usize::from(id);
        if self.cmds.len() <= i {
            self.cmds.resize_with(i + 1, CmdStats::default);
        }
        match self.cmds.get_mut(i) {
            Some(c) => c,
            None => unreachable_stats(),
        }
    }

    /// Count an execution of `id` that took `dur` and produced `reply`.
    pub fn record(&mut self, id: CmdId, dur: Duration, reply: &[u8]) {
        self.commands += 1;
        let tracking = self.latency_tracking;
        let c = self.cmd(id);
        c.calls += 1;
        c.usec += u64::try_from(dur.as_micros()).unwrap_or(u64::MAX);
        if tracking {
            if c.hist.is_none() {
                c.hist = new_hist();
            }
            if let Some(h) = c.hist.as_mut() {
                let ns = u64::try_from(dur.as_nanos())
                    .unwrap_or(u64::MAX)
                    .clamp(HIST_MIN_NS, HIST_MAX_NS);
                let _ = h.record(ns);
            }
        }
        if reply.first() == Some(&b'-') {
            c.failed += 1;
            self.count_error(reply);
        }
    }

    /// Count a command rejected before execution (arity, auth, ...).
    pub fn reject(&mut self, id: Option<CmdId>, reply: &[u8]) {
        if let Some(id) = id {
            self.cmd(id).rejected += 1;
        }
        self.count_error(reply);
    }

    /// Count an error reply in errorstats.
    pub fn count_error(&mut self, reply: &[u8]) {
        self.error_replies += 1;
        if let Some(code) = error_code(reply) {
            let code = String::from_utf8_lossy(code).into_owned();
            *self.errors.entry(code).or_insert(0) += 1;
        }
    }

    /// Take a rate sample (keeps the last 16).
    pub fn sample(&mut self) {
        if self.samples.len() >= 16 {
            self.samples.pop_front();
        }
        self.samples.push_back((
            std::time::Instant::now(),
            self.commands,
            self.net_in,
            self.net_out,
        ));
    }

    /// Commands per second, input and output KB per second, over the samples.
    pub fn instantaneous(&self) -> (f64, f64, f64) {
        match (self.samples.front(), self.samples.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                let dt = (b.0 - a.0).as_secs_f64();
                (
                    b.1.saturating_sub(a.1) as f64 / dt,
                    b.2.saturating_sub(a.2) as f64 / dt / 1024.0,
                    b.3.saturating_sub(a.3) as f64 / dt / 1024.0,
                )
            }
            _ => (0.0, 0.0, 0.0),
        }
    }

    /// Zero everything (CONFIG RESETSTAT).
    pub fn reset(&mut self) {
        let tracking = self.latency_tracking;
        *self = ShardStats {
            latency_tracking: tracking,
            ..ShardStats::default()
        };
    }

    /// A mergeable copy for INFO.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            cmds: self.cmds.clone(),
            errors: self.errors.clone(),
            commands: self.commands,
            error_replies: self.error_replies,
            net_in: self.net_in,
            net_out: self.net_out,
            connections: self.connections,
            rejected_connections: self.rejected_connections,
            hops_out: self.hops_out,
            hops_in: self.hops_in,
            reads: self.reads,
            writes: self.writes,
            instantaneous: self.instantaneous(),
            ..StatsSnapshot::default()
        }
    }
}

fn unreachable_stats() -> ! {
    panic!("stats vector was just resized")
}

/// Stats of one or more shards, merged. `Send`, so it can cross shards.
#[derive(Default, Clone)]
pub struct StatsSnapshot {
    pub cmds: Vec<CmdStats>,
    pub errors: HashMap<String, u64>,
    pub commands: u64,
    pub error_replies: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub connections: u64,
    pub rejected_connections: u64,
    pub hops_out: u64,
    pub hops_in: u64,
    pub reads: u64,
    pub writes: u64,
    pub expired_keys: u64,
    pub hits: u64,
    pub misses: u64,
    /// Commands/s, input KB/s, output KB/s.
    pub instantaneous: (f64, f64, f64),
}

impl StatsSnapshot {
    /// Add another shard's numbers.
    pub fn merge(&mut self, o: &StatsSnapshot) {
        if self.cmds.len() < o.cmds.len() {
            self.cmds.resize_with(o.cmds.len(), CmdStats::default);
        }
        for (mine, theirs) in self.cmds.iter_mut().zip(&o.cmds) {
            mine.merge(theirs);
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_insert(0) += v;
        }
        self.commands += o.commands;
        self.error_replies += o.error_replies;
        self.net_in += o.net_in;
        self.net_out += o.net_out;
        self.connections += o.connections;
        self.rejected_connections += o.rejected_connections;
        self.hops_out += o.hops_out;
        self.hops_in += o.hops_in;
        self.reads += o.reads;
        self.writes += o.writes;
        self.expired_keys += o.expired_keys;
        self.hits += o.hits;
        self.misses += o.misses;
        self.instantaneous.0 += o.instantaneous.0;
        self.instantaneous.1 += o.instantaneous.1;
        self.instantaneous.2 += o.instantaneous.2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(error_code(b"-ERR syntax error\r\n"), Some(&b"ERR"[..]));
        assert_eq!(
            error_code(b"-WRONGTYPE Operation\r\n"),
            Some(&b"WRONGTYPE"[..])
        );
        assert_eq!(error_code(b"+OK\r\n"), None);
    }

    #[test]
    fn record_and_merge() {
        let mut a = ShardStats {
            latency_tracking: true,
            ..Default::default()
        };
        a.record(3, Duration::from_micros(5), b"+OK\r\n");
        a.record(3, Duration::from_micros(7), b"-ERR x\r\n");
        let mut s = a.snapshot();
        s.merge(&a.snapshot());
        assert_eq!(s.cmds[3].calls, 4);
        assert_eq!(s.cmds[3].failed, 2);
        assert_eq!(s.errors.get("ERR"), Some(&2));
        assert_eq!(s.cmds[3].hist.as_ref().unwrap().len(), 4);
    }
}
