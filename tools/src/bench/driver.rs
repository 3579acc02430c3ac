//! The load loop: clients, connections and the event loop that drives them.
//!
//! [`run`] splits the clients over `threads` worker threads. Each worker owns
//! its connections, one mio `Poll`, its histograms and its random generators:
//! nothing is shared on the hot path but three relaxed counters ([`Progress`])
//! for the progress bar and the closed-loop request budget.
//!
//! - **Closed loop** (redis-benchmark's model): a client writes `pipeline`
//!   operations, waits for all their replies, then writes the next batch.
//!   Latency runs from the batch's write to each operation's last reply.
//! - **Open loop** ([`crate::bench::schedule`]): operations leave at their due
//!   times whether or not earlier replies came back (RESP pipelines them), and
//!   latency runs from the due time. A timerfd wakes the loop with
//!   microsecond precision; epoll's millisecond timeouts would add up to 1 ms.
//!
//! Cluster mode gives each client one connection per master, routes every
//! operation by the slot of its first key, and follows `MOVED` (updating the
//! worker's slot map) and `ASK` (one-shot, with `ASKING`); the latency of a
//! redirected operation includes its extra round trips.

use crate::bench::cluster::{self, SlotMap};
use crate::bench::conn::{Blocking, Endpoint, Handshake, Stream};
use crate::bench::hist::{self, Hist};
use crate::bench::reply::{self, Redirect};
use crate::bench::schedule::Schedule;
use crate::bench::workload::{client_rng, Keys, Workload};
use mio::{Events, Interest, Poll, Token};
use rand::rngs::SmallRng;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

/// How operations are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Batches of `pipeline` operations, the next when the last reply arrived.
    Closed {
        /// `-P`
        pipeline: u32,
    },
    /// A fixed schedule; at most `max_inflight` operations unanswered per client.
    Open {
        /// The schedule (rate, length).
        schedule: Schedule,
        /// Cap on unanswered operations per client (sending late still counts).
        max_inflight: u32,
    },
}

/// Everything a run needs, read-only for the workers.
pub struct Plan<'a> {
    /// What to send.
    pub workload: &'a Workload,
    /// Random numbers for placeholders.
    pub keys: Keys,
    /// Pacing.
    pub mode: Mode,
    /// Closed loop: operations to complete (`-n`).
    pub requests: u64,
    /// Closed loop: stop starting batches after this long (`--duration`).
    pub duration: Option<Duration>,
    /// Total clients (`-c`).
    pub clients: usize,
    /// Worker threads (`--threads`).
    pub threads: usize,
    /// `-k 1`: keep connections; `-k 0` reconnects after every batch.
    pub keepalive: bool,
    /// Width of the time-series intervals.
    pub interval: Duration,
    /// Seed for the clients' generators.
    pub seed: u64,
    /// The server (non-cluster), or the seed node (cluster).
    pub endpoint: Endpoint,
    /// Cluster mode: the slot map read before the run.
    pub slots: Option<SlotMap>,
    /// AUTH/SELECT for every connection.
    pub handshake: Handshake,
    /// Give up when no reply arrives for this long.
    pub stall_timeout: Duration,
}

/// Counters the workers bump and the progress bar reads.
#[derive(Debug, Default)]
pub struct Progress {
    /// Closed loop: operations handed out to clients.
    pub issued: AtomicU64,
    /// Operations answered.
    pub done: AtomicU64,
    /// Set to stop every worker (an error, or Ctrl-C upstream).
    pub abort: AtomicBool,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    /// All operations.
    pub hist: Hist,
    /// Per operation of the workload (read/write for presets).
    pub per_op: Vec<Hist>,
    /// One histogram per `interval`, by completion time.
    pub intervals: Vec<Hist>,
    /// Operations whose reply (any of them) was an error.
    pub errors: u64,
    /// The first distinct error texts.
    pub error_samples: Vec<String>,
    /// From the start to the last reply.
    pub elapsed: Duration,
    /// MOVED/ASK followed.
    pub redirects: u64,
    /// Completions per [`BIN`] since the start (throughput over time).
    pub bins: Vec<u64>,
    /// Open loop: how late requests were written after their due time (µs).
    /// Large values mean the generator (CPU, or the in-flight cap) fell behind.
    pub send_lag: Hist,
}

/// Width of the throughput bins.
pub const BIN: Duration = Duration::from_millis(100);

const TIMER: Token = Token(usize::MAX);
/// What a worker says when another one failed first: never the error reported.
const STOPPED: &str = "stopped because another worker failed";
const NO_CONN: usize = usize::MAX;
const MAX_HOPS: u8 = 5;
const ERROR_SAMPLES: usize = 5;

/// Run `plan` to the end. `tick` is called about every 100 ms on this thread
/// (progress bar) while the workers run.
pub fn run(
    plan: &Plan<'_>,
    progress: &Progress,
    mut tick: impl FnMut(Duration),
) -> Result<Outcome, String> {
    let threads = plan.threads.clamp(1, plan.clients.max(1));
    let barrier = Barrier::new(threads + 1);
    let t0_cell: Mutex<Option<Instant>> = Mutex::new(None);
    let results: Vec<Result<WorkerOut, String>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for w in 0..threads {
            // Clients w, w+threads, ... keep the open-loop schedule spread evenly.
            let ids: Vec<usize> = (w..plan.clients).step_by(threads).collect();
            let (barrier, t0_cell) = (&barrier, &t0_cell);
            let main = std::thread::current();
            handles.push(s.spawn(move || {
                let worker = Worker::connect(plan, progress, &ids);
                barrier.wait();
                barrier.wait();
                let t0 = t0_cell
                    .lock()
                    .ok()
                    .and_then(|g| *g)
                    .unwrap_or_else(Instant::now);
                let r = worker.and_then(|mut w| w.run(t0));
                if r.is_err() {
                    progress.abort.store(true, Ordering::Relaxed);
                }
                // Wake the main thread now rather than at its next progress tick.
                main.unpark();
                r
            }));
        }
        barrier.wait();
        let t0 = Instant::now();
        if let Ok(mut g) = t0_cell.lock() {
            *g = Some(t0);
        }
        barrier.wait();
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::park_timeout(Duration::from_millis(100));
            tick(t0.elapsed());
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a worker thread panicked".into()))
            })
            .collect()
    });
    let mut out = Outcome {
        hist: hist::new(),
        per_op: plan.workload.ops.iter().map(|_| hist::new()).collect(),
        intervals: Vec::new(),
        errors: 0,
        error_samples: Vec::new(),
        elapsed: Duration::ZERO,
        redirects: 0,
        bins: Vec::new(),
        send_lag: hist::new(),
    };
    // Report the worker error that caused the stop, not the others' "stopped".
    if let Some(Err(e)) = results.iter().find(|r| matches!(r, Err(e) if e != STOPPED)) {
        return Err(e.clone());
    }
    for r in results {
        let w = r?;
        hist::merge(&mut out.hist, &w.hist)?;
        for (into, from) in out.per_op.iter_mut().zip(&w.per_op) {
            hist::merge(into, from)?;
        }
        for (i, packed) in w.intervals.iter().enumerate() {
            let h = hist::unpack(packed)?;
            if out.intervals.len() <= i {
                out.intervals.push(hist::new());
            }
            if let Some(into) = out.intervals.get_mut(i) {
                hist::merge(into, &h)?;
            }
        }
        out.errors += w.errors;
        for e in w.error_samples {
            if out.error_samples.len() < ERROR_SAMPLES && !out.error_samples.contains(&e) {
                out.error_samples.push(e);
            }
        }
        out.elapsed = out.elapsed.max(w.elapsed);
        out.redirects += w.redirects;
        if out.bins.len() < w.bins.len() {
            out.bins.resize(w.bins.len(), 0);
        }
        for (into, from) in out.bins.iter_mut().zip(&w.bins) {
            *into += from;
        }
        hist::merge(&mut out.send_lag, &w.send_lag)?;
    }
    Ok(out)
}

struct WorkerOut {
    hist: Hist,
    per_op: Vec<Hist>,
    /// Interval histograms, packed (V2 encoding): a long run keeps kilobytes, not megabytes.
    intervals: Vec<Vec<u8>>,
    errors: u64,
    error_samples: Vec<String>,
    elapsed: Duration,
    redirects: u64,
    bins: Vec<u64>,
    send_lag: Hist,
}

/// An operation written and not fully answered.
struct Pending {
    start: Instant,
    replies_left: u32,
    op: u16,
    error: bool,
    hops: u8,
    redirect: Option<Redirect>,
    /// Cluster mode keeps the bytes to resend after a redirect.
    bytes: Option<Box<[u8]>>,
}

struct Conn {
    stream: Stream,
    client: usize,
    out: Vec<u8>,
    out_pos: usize,
    inb: Vec<u8>,
    in_start: usize,
    in_end: usize,
    pending: VecDeque<Pending>,
    name: String,
}

struct Client {
    /// Connection index per cluster node (one entry outside cluster mode).
    conns: Vec<usize>,
    outstanding: u32,
    /// Open loop: next operation number, `None` when the schedule is done.
    next_op: Option<u64>,
    /// Closed loop: no more batches to start.
    finished: bool,
    batches: u64,
    rng: SmallRng,
}

struct Worker<'p> {
    plan: &'p Plan<'p>,
    progress: &'p Progress,
    poll: Poll,
    conns: Vec<Conn>,
    clients: Vec<Client>,
    map: Option<SlotMap>,
    hist: Hist,
    per_op: Vec<Hist>,
    interval_hist: Hist,
    intervals: Vec<Vec<u8>>,
    errors: u64,
    error_samples: Vec<String>,
    redirects: u64,
    bins: Vec<u64>,
    send_lag: Hist,
    done: u64,
    reported: u64,
    scratch: Vec<u8>,
    ready: Vec<usize>,
    last_reply: Option<Instant>,
    timer: Option<OwnedFd>,
    t0: Instant,
}

fn open_conn(
    poll: &Poll,
    conns: &mut Vec<Conn>,
    ep: &Endpoint,
    hs: &Handshake,
    client: usize,
) -> Result<usize, String> {
    let b = Blocking::connect(ep, hs)?;
    let name = b.endpoint().to_string();
    let mut stream = b.into_stream()?;
    let idx = conns.len();
    poll.registry()
        .register(
            &mut stream,
            Token(idx),
            Interest::READABLE | Interest::WRITABLE,
        )
        .map_err(|e| format!("cannot watch the connection to {name}: {e}"))?;
    conns.push(Conn {
        stream,
        client,
        out: Vec::with_capacity(16 * 1024),
        out_pos: 0,
        inb: vec![0; 64 * 1024],
        in_start: 0,
        in_end: 0,
        pending: VecDeque::new(),
        name,
    });
    Ok(idx)
}

impl<'p> Worker<'p> {
    fn connect(
        plan: &'p Plan<'p>,
        progress: &'p Progress,
        ids: &[usize],
    ) -> Result<Worker<'p>, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create an event loop: {e}"))?;
        let mut conns = Vec::new();
        let mut clients = Vec::new();
        for (local, &id) in ids.iter().enumerate() {
            let mut c = Client {
                conns: Vec::new(),
                outstanding: 0,
                next_op: None,
                finished: false,
                batches: 0,
                rng: client_rng(plan.seed, id),
            };
            match &plan.slots {
                Some(map) => {
                    for node in &map.nodes {
                        let ep = Endpoint::parse(node)?;
                        c.conns
                            .push(open_conn(&poll, &mut conns, &ep, &plan.handshake, local)?);
                    }
                }
                None => c.conns.push(open_conn(
                    &poll,
                    &mut conns,
                    &plan.endpoint,
                    &plan.handshake,
                    local,
                )?),
            }
            if let Mode::Open { schedule, .. } = plan.mode {
                c.next_op = schedule.first(id);
            }
            clients.push(c);
        }
        let timer = match plan.mode {
            Mode::Open { .. } => {
                use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
                let fd = timerfd_create(
                    TimerfdClockId::Monotonic,
                    TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
                )
                .map_err(|e| format!("timerfd_create failed: {e}"))?;
                poll.registry()
                    .register(
                        &mut mio::unix::SourceFd(&fd.as_raw_fd()),
                        TIMER,
                        Interest::READABLE,
                    )
                    .map_err(|e| format!("cannot watch the timer: {e}"))?;
                Some(fd)
            }
            Mode::Closed { .. } => None,
        };
        Ok(Worker {
            plan,
            progress,
            poll,
            conns,
            clients,
            map: plan.slots.clone(),
            hist: hist::new(),
            per_op: plan.workload.ops.iter().map(|_| hist::new()).collect(),
            interval_hist: hist::new(),
            intervals: Vec::new(),
            errors: 0,
            error_samples: Vec::new(),
            redirects: 0,
            bins: Vec::new(),
            send_lag: hist::new(),
            done: 0,
            reported: 0,
            scratch: Vec::new(),
            ready: Vec::new(),
            last_reply: None,
            timer,
            t0: Instant::now(),
        })
    }

    fn run(&mut self, t0: Instant) -> Result<WorkerOut, String> {
        self.t0 = t0;
        let mut events = Events::with_capacity(1024);
        let mut next_interval = t0 + self.plan.interval;
        let mut last_progress = Instant::now();
        if let Mode::Closed { .. } = self.plan.mode {
            for ci in 0..self.clients.len() {
                self.issue_batch(ci)?;
            }
        }
        loop {
            if self.progress.abort.load(Ordering::Relaxed) {
                return Err(STOPPED.into());
            }
            let now = Instant::now();
            if let Mode::Open { .. } = self.plan.mode {
                self.issue_due(now)?;
            }
            if self.finished() {
                break;
            }
            let mut wake = next_interval;
            if let Some(d) = self.plan.duration {
                wake = wake.min(t0 + d);
            }
            if let Some(due) = self.next_due() {
                if due > now {
                    self.arm_timer(due - now)?;
                }
            }
            let timeout = wake
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("event loop failed: {e}")),
            }
            for ev in events.iter() {
                if ev.token() == TIMER {
                    self.drain_timer();
                    continue;
                }
                let idx = ev.token().0;
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.on_readable(idx)?;
                }
                if ev.is_writable() {
                    self.flush(idx)?;
                }
            }
            while let Some(ci) = self.ready.pop() {
                self.issue_batch(ci)?;
            }
            let now = Instant::now();
            while now >= next_interval {
                self.intervals.push(hist::pack(&self.interval_hist)?);
                self.interval_hist.reset();
                next_interval += self.plan.interval;
            }
            if self.done > self.reported {
                self.progress
                    .done
                    .fetch_add(self.done - self.reported, Ordering::Relaxed);
                self.reported = self.done;
                last_progress = now;
            } else if self.outstanding() > 0 && now - last_progress > self.plan.stall_timeout {
                return Err(format!(
                    "no reply for {} s from {}: giving up",
                    self.plan.stall_timeout.as_secs(),
                    self.conns.first().map_or("the server", |c| c.name.as_str())
                ));
            }
        }
        if !self.interval_hist.is_empty() || self.intervals.is_empty() {
            self.intervals.push(hist::pack(&self.interval_hist)?);
        }
        Ok(WorkerOut {
            hist: std::mem::replace(&mut self.hist, hist::new()),
            per_op: std::mem::take(&mut self.per_op),
            intervals: std::mem::take(&mut self.intervals),
            errors: self.errors,
            error_samples: std::mem::take(&mut self.error_samples),
            elapsed: self
                .last_reply
                .map_or(Duration::ZERO, |l| l.saturating_duration_since(self.t0)),
            redirects: self.redirects,
            bins: std::mem::take(&mut self.bins),
            send_lag: std::mem::replace(&mut self.send_lag, hist::new()),
        })
    }

    fn outstanding(&self) -> u64 {
        self.clients.iter().map(|c| u64::from(c.outstanding)).sum()
    }

    fn finished(&self) -> bool {
        self.clients.iter().all(|c| {
            c.outstanding == 0
                && match self.plan.mode {
                    Mode::Closed { .. } => c.finished,
                    Mode::Open { .. } => c.next_op.is_none(),
                }
        })
    }

    /// Closed loop: start the client's next batch, if the budget allows.
    fn issue_batch(&mut self, ci: usize) -> Result<(), String> {
        let Mode::Closed { pipeline } = self.plan.mode else {
            return Ok(());
        };
        let Some(client) = self.clients.get_mut(ci) else {
            return Ok(());
        };
        if client.finished || client.outstanding > 0 {
            return Ok(());
        }
        let out_of_time = self.plan.duration.is_some_and(|d| self.t0.elapsed() >= d);
        let claim = if out_of_time || self.progress.abort.load(Ordering::Relaxed) {
            u64::MAX
        } else {
            self.progress
                .issued
                .fetch_add(u64::from(pipeline), Ordering::Relaxed)
        };
        if claim >= self.plan.requests {
            client.finished = true;
            return Ok(());
        }
        let n = (self.plan.requests - claim).min(u64::from(pipeline));
        if !self.plan.keepalive && client.batches > 0 && self.plan.slots.is_none() {
            self.reconnect(ci)?;
        }
        if let Some(client) = self.clients.get_mut(ci) {
            client.batches += 1;
        }
        let start = Instant::now();
        for _ in 0..n {
            self.send_op(ci, start, 0)?;
        }
        self.flush_client(ci)
    }

    /// `-k 0`: replace the client's connection by a fresh one.
    fn reconnect(&mut self, ci: usize) -> Result<(), String> {
        let Some(&idx) = self.clients.get(ci).and_then(|c| c.conns.first()) else {
            return Ok(());
        };
        let b = Blocking::connect(&self.plan.endpoint, &self.plan.handshake)?;
        let mut stream = b.into_stream()?;
        self.poll
            .registry()
            .register(
                &mut stream,
                Token(idx),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("cannot watch a connection: {e}"))?;
        if let Some(conn) = self.conns.get_mut(idx) {
            let mut old = std::mem::replace(&mut conn.stream, stream);
            let _ = self.poll.registry().deregister(&mut old);
            conn.in_start = 0;
            conn.in_end = 0;
            conn.out.clear();
            conn.out_pos = 0;
        }
        Ok(())
    }

    /// Open loop: write every operation that is due.
    fn issue_due(&mut self, now: Instant) -> Result<(), String> {
        let Mode::Open {
            schedule,
            max_inflight,
        } = self.plan.mode
        else {
            return Ok(());
        };
        if self.progress.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        for ci in 0..self.clients.len() {
            let mut sent = false;
            while let Some(client) = self.clients.get(ci) {
                let Some(k) = client.next_op else { break };
                let due = self.t0 + schedule.due(k);
                if due > now || client.outstanding >= max_inflight {
                    break;
                }
                let lag = now.saturating_duration_since(due).as_micros();
                self.send_lag
                    .saturating_record(u64::try_from(lag).unwrap_or(u64::MAX));
                self.send_op(ci, due, 0)?;
                if let Some(client) = self.clients.get_mut(ci) {
                    client.next_op = schedule.next(k);
                }
                sent = true;
            }
            if sent {
                self.flush_client(ci)?;
            }
        }
        Ok(())
    }

    /// The earliest due time of a client that may send.
    fn next_due(&self) -> Option<Instant> {
        let Mode::Open {
            schedule,
            max_inflight,
        } = self.plan.mode
        else {
            return None;
        };
        self.clients
            .iter()
            .filter(|c| c.outstanding < max_inflight)
            .filter_map(|c| c.next_op)
            .min()
            .map(|k| self.t0 + schedule.due(k))
    }

    fn arm_timer(&self, after: Duration) -> Result<(), String> {
        use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
        let Some(fd) = &self.timer else { return Ok(()) };
        let after = after.max(Duration::from_micros(1));
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(after.subsec_nanos()),
            },
        };
        timerfd_settime(fd, TimerfdTimerFlags::empty(), &spec)
            .map(|_| ())
            .map_err(|e| format!("timerfd_settime failed: {e}"))
    }

    fn drain_timer(&self) {
        if let Some(fd) = &self.timer {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(fd, &mut buf);
        }
    }

    /// Append one operation for client `ci`, measured from `start`.
    fn send_op(&mut self, ci: usize, start: Instant, hops: u8) -> Result<(), String> {
        let plan = self.plan;
        let Some(client) = self.clients.get_mut(ci) else {
            return Ok(());
        };
        let op = plan.workload.pick(&mut client.rng);
        let Some(template) = plan.workload.ops.get(op).map(|o| &o.template) else {
            return Ok(());
        };
        let replies = template.commands();
        let conn_idx;
        let mut bytes = None;
        match &self.map {
            None => {
                conn_idx = client.conns.first().copied().unwrap_or(NO_CONN);
                let conn = self.conns.get_mut(conn_idx).ok_or("no connection")?;
                template.fill(&plan.keys, &mut client.rng, &mut conn.out);
            }
            Some(map) => {
                self.scratch.clear();
                let key = template.fill(&plan.keys, &mut client.rng, &mut self.scratch);
                let node = match key.and_then(|(o, l)| self.scratch.get(o..o + l)) {
                    Some(k) => {
                        let s = cluster::slot(k);
                        map.owner_of(s)
                            .ok_or_else(|| format!("no cluster node serves slot {s}"))?
                    }
                    None => (ci % map.nodes.len().max(1)) as u16,
                };
                conn_idx = self.conn_for(ci, node)?;
                let conn = self.conns.get_mut(conn_idx).ok_or("no connection")?;
                conn.out.extend_from_slice(&self.scratch);
                bytes = Some(self.scratch.clone().into_boxed_slice());
            }
        }
        let conn = self.conns.get_mut(conn_idx).ok_or("no connection")?;
        conn.pending.push_back(Pending {
            start,
            replies_left: replies,
            op: op as u16,
            error: false,
            hops,
            redirect: None,
            bytes,
        });
        if let Some(client) = self.clients.get_mut(ci) {
            client.outstanding += 1;
        }
        Ok(())
    }

    /// The client's connection to cluster node `node`, opened on first use.
    fn conn_for(&mut self, ci: usize, node: u16) -> Result<usize, String> {
        let n = usize::from(node);
        let existing = self.clients.get(ci).and_then(|c| c.conns.get(n)).copied();
        if let Some(idx) = existing.filter(|&i| i != NO_CONN) {
            return Ok(idx);
        }
        let addr = self
            .map
            .as_ref()
            .and_then(|m| m.nodes.get(n))
            .cloned()
            .ok_or_else(|| format!("unknown cluster node #{n}"))?;
        let ep = Endpoint::parse(&addr)?;
        let idx = open_conn(&self.poll, &mut self.conns, &ep, &self.plan.handshake, ci)?;
        if let Some(c) = self.clients.get_mut(ci) {
            if c.conns.len() <= n {
                c.conns.resize(n + 1, NO_CONN);
            }
            if let Some(slot) = c.conns.get_mut(n) {
                *slot = idx;
            }
        }
        Ok(idx)
    }

    fn flush_client(&mut self, ci: usize) -> Result<(), String> {
        let n = self.clients.get(ci).map_or(0, |c| c.conns.len());
        for i in 0..n {
            let idx = self
                .clients
                .get(ci)
                .and_then(|c| c.conns.get(i))
                .copied()
                .unwrap_or(NO_CONN);
            if idx != NO_CONN {
                self.flush(idx)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, idx: usize) -> Result<(), String> {
        let Some(conn) = self.conns.get_mut(idx) else {
            return Ok(());
        };
        while conn.out_pos < conn.out.len() {
            match conn
                .stream
                .write(conn.out.get(conn.out_pos..).unwrap_or(&[]))
            {
                Ok(0) => return Err(format!("{} closed the connection", conn.name)),
                Ok(n) => conn.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write to {} failed: {e}", conn.name)),
            }
        }
        if conn.out_pos == conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
        }
        Ok(())
    }

    fn on_readable(&mut self, idx: usize) -> Result<(), String> {
        loop {
            let Some(conn) = self.conns.get_mut(idx) else {
                return Ok(());
            };
            if conn.in_end == conn.inb.len() {
                if conn.in_start > 0 {
                    conn.inb.copy_within(conn.in_start..conn.in_end, 0);
                    conn.in_end -= conn.in_start;
                    conn.in_start = 0;
                } else {
                    let len = conn.inb.len();
                    conn.inb.resize(len * 2, 0);
                }
            }
            let space = conn.inb.len() - conn.in_end;
            let read = conn
                .stream
                .read(conn.inb.get_mut(conn.in_end..).unwrap_or(&mut []));
            match read {
                Ok(0) => {
                    let (idle, name) = (conn.pending.is_empty(), conn.name.clone());
                    if idle && self.finished() {
                        return Ok(());
                    }
                    return Err(format!("{name} closed the connection"));
                }
                Ok(n) => {
                    conn.in_end += n;
                    if n < space {
                        // A short read drained the socket; new data raises a new
                        // edge, so the usual extra read (to see WouldBlock) is saved.
                        return self.process(idx, Instant::now());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read from {} failed: {e}", conn.name)),
            }
            self.process(idx, Instant::now())?;
        }
    }

    /// Account for every complete reply in the connection's buffer.
    fn process(&mut self, idx: usize, now: Instant) -> Result<(), String> {
        let cluster = self.map.is_some();
        let plan = self.plan;
        let bin = (now.saturating_duration_since(self.t0).as_nanos() / BIN.as_nanos()) as usize;
        if self.bins.len() <= bin {
            self.bins.resize(bin + 1, 0);
        }
        let mut completed = 0u64;
        let mut redirected: Vec<(usize, Pending)> = Vec::new();
        {
            let Some(conn) = self.conns.get_mut(idx) else {
                return Ok(());
            };
            while conn.in_start < conn.in_end {
                let buf = conn.inb.get(conn.in_start..conn.in_end).unwrap_or(&[]);
                let Some(s) = reply::scan(buf).map_err(|e| format!("{}: {e}", conn.name))? else {
                    break;
                };
                let Some(p) = conn.pending.front_mut() else {
                    return Err(format!("{} sent a reply to no request", conn.name));
                };
                if s.error {
                    let text = reply::error_text(buf.get(..s.len).unwrap_or(&[]));
                    match reply::redirect(&text).filter(|_| cluster) {
                        Some(r) => p.redirect = Some(r),
                        None => {
                            p.error = true;
                            if self.error_samples.len() < ERROR_SAMPLES
                                && !self.error_samples.contains(&text)
                            {
                                self.error_samples.push(text);
                            }
                        }
                    }
                }
                if p.replies_left == 1 && !s.error && !p.error {
                    // The operation's last reply: EXEC's array, for instance.
                    let expect = plan
                        .workload
                        .ops
                        .get(usize::from(p.op))
                        .and_then(|o| o.template.last_reply());
                    let reply = buf.get(..s.len).unwrap_or(&[]);
                    if let Some(e) = expect.filter(|e| !e.matches(reply)) {
                        p.error = true;
                        if self.error_samples.len() < ERROR_SAMPLES {
                            let text =
                                format!("last reply {} is not {e}", reply::first_line(reply));
                            if !self.error_samples.contains(&text) {
                                self.error_samples.push(text);
                            }
                        }
                    }
                }
                conn.in_start += s.len;
                p.replies_left -= 1;
                if p.replies_left > 0 {
                    continue;
                }
                let Some(p) = conn.pending.pop_front() else {
                    break;
                };
                if p.redirect.is_some() && !p.error {
                    redirected.push((conn.client, p));
                    continue;
                }
                let us = u64::try_from(now.saturating_duration_since(p.start).as_micros())
                    .unwrap_or(u64::MAX);
                self.hist.saturating_record(us);
                self.interval_hist.saturating_record(us);
                if let Some(h) = self.per_op.get_mut(usize::from(p.op)) {
                    h.saturating_record(us);
                }
                if p.error {
                    self.errors += 1;
                }
                self.done += 1;
                completed += 1;
                self.last_reply = Some(now);
                if let Some(c) = self.clients.get_mut(conn.client) {
                    c.outstanding -= 1;
                    if c.outstanding == 0 && matches!(self.plan.mode, Mode::Closed { .. }) {
                        self.ready.push(conn.client);
                    }
                }
            }
            if conn.in_start == conn.in_end {
                conn.in_start = 0;
                conn.in_end = 0;
            }
        }
        if let Some(b) = self.bins.get_mut(bin) {
            *b += completed;
        }
        for (ci, p) in redirected {
            self.follow(ci, p)?;
        }
        Ok(())
    }

    /// Resend a redirected operation to the node named by MOVED/ASK.
    fn follow(&mut self, ci: usize, mut p: Pending) -> Result<(), String> {
        let Some(r) = p.redirect.take() else {
            return Ok(());
        };
        self.redirects += 1;
        let (Some(map), Some(bytes)) = (self.map.as_mut(), p.bytes.take()) else {
            return Ok(());
        };
        if p.hops >= MAX_HOPS {
            return Err(format!(
                "slot {} redirected more than {MAX_HOPS} times (last to {})",
                r.slot, r.addr
            ));
        }
        let node = map.node_index(&r.addr);
        if !r.ask {
            if let Some(o) = map.owner.get_mut(usize::from(r.slot)) {
                *o = node;
            }
        }
        let idx = self.conn_for(ci, node)?;
        let template = self
            .plan
            .workload
            .ops
            .get(usize::from(p.op))
            .map(|o| &o.template);
        let commands = template.map_or(1, |t| t.commands());
        let conn = self.conns.get_mut(idx).ok_or("no connection")?;
        let mut replies = commands;
        if r.ask {
            // ASKING covers only the command after it: put one before each command.
            for cmd in cluster::split_commands(&bytes, commands) {
                conn.out.extend_from_slice(b"*1\r\n$6\r\nASKING\r\n");
                conn.out.extend_from_slice(cmd);
            }
            replies *= 2;
        } else {
            conn.out.extend_from_slice(&bytes);
        }
        conn.pending.push_back(Pending {
            start: p.start,
            replies_left: replies,
            op: p.op,
            error: false,
            hops: p.hops + 1,
            redirect: None,
            bytes: Some(bytes),
        });
        self.flush(idx)
    }
}
