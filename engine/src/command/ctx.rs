//! What a command handler works with: the connection ([`Conn`]), its shard,
//! and the pipeline [`Batch`] its reply joins.
//!
//! A handler parses its arguments, then does exactly one of:
//! - reply at once through [`Ctx::w`] (connection and server commands);
//! - [`Ctx::run`] a closure on the shard owning its keys — inline, with no
//!   allocation, when that is this shard and no intent lock is in the way;
//!   otherwise queued into the batch bound for that shard;
//! - [`Ctx::run_async`] a future (multi-shard and server-wide commands),
//!   which acts as a barrier: everything before it in the pipeline is
//!   executed first, and nothing after it starts until it is done.
//!
//! Replies leave in request order whatever ran where: once any reply is
//! deferred, later replies are recorded as slots and the batch is assembled
//! when the remote replies are back ([`Batch::flush`]).

use super::spec::{flags, CmdId, CommandSpec};
use crate::clock::Instant;
use crate::shard::batch::{self, BatchOut, Exec, Job};
use crate::shard::clients::ClientInfo;
use crate::shard::locks::Mode;
use crate::shard::{Shard, ShardId};
use bytes::Bytes;
use resp::{Proto, ReplyWriter, Request};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// CLIENT REPLY state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No replies until CLIENT REPLY ON.
    Off,
    /// The next command's reply is dropped.
    SkipNext,
}

/// Per-connection state that commands read and change.
pub struct Conn {
    /// CLIENT ID.
    pub id: u64,
    /// SELECTed database.
    pub db: usize,
    /// RESP version (HELLO).
    pub proto: Proto,
    /// AUTH succeeded, or no password is configured.
    pub authenticated: bool,
    /// What CLIENT LIST shows about this connection.
    pub info: Rc<ClientInfo>,
    /// CLIENT REPLY mode.
    pub reply_mode: ReplyMode,
    /// Close once the pending replies are written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// The peer is on a loopback address.
    pub is_local: bool,
    /// Unix ms when the current pipeline was read; commands of one batch
    /// share it (Redis likewise caches the time per command call).
    pub now_ms: i64,
    /// MULTI state: the queued commands, once MULTI was sent.
    pub multi: Option<crate::command::multi::Queue>,
    /// Keys WATCHed, with the versions seen.
    pub watched: Vec<crate::command::multi::Watched>,
    /// Work for the connection task once dispatch returns (EXEC, WATCH,
    /// unwatching): it needs the connection across awaits.
    pub pending: Option<crate::command::multi::ConnTask>,
    /// Nonzero (the client id) while this connection runs EXEC.
    pub exec_owner: u64,
    /// Pub/Sub subscriptions, once the connection subscribed to something.
    pub subs: Option<Box<crate::command::pubsub::Subscriptions>>,
}

impl Conn {
    /// A connection without a socket that runs commands on a client's
    /// behalf (a script's client, a shipped EXEC): authenticated, replies
    /// on, inside `owner`'s locks; `info` is what MONITOR and the slow log
    /// show for it.
    pub fn detached(
        info: Rc<ClientInfo>,
        db: usize,
        proto: Proto,
        now_ms: i64,
        owner: u64,
    ) -> Conn {
        Conn {
            id: info.id,
            db,
            proto,
            authenticated: true,
            info,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            is_local: true,
            now_ms,
            multi: None,
            watched: Vec::new(),
            pending: None,
            exec_owner: owner,
            subs: None,
        }
    }
}

/// How the current command produced (or will produce) its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The handler wrote its reply itself.
    Immediate,
    /// `run` executed it inline; stats already recorded.
    Executed,
    /// Queued for another shard (or behind a lock).
    Queued,
    /// A barrier future.
    Async,
}

enum Slot {
    Local {
        start: usize,
        end: usize,
        suppressed: bool,
    },
    Job {
        shard: ShardId,
        idx: usize,
        suppressed: bool,
        /// For the slow log, once the job's execution time is known.
        req: Request,
        spec: &'static CommandSpec,
    },
}

type LocalFuture = Pin<Box<dyn Future<Output = Vec<u8>>>>;

thread_local! {
    /// One settled batch kept for reuse ([`Batch::spare`]).
    static SPARE: std::cell::RefCell<Option<Batch>> = const { std::cell::RefCell::new(None) };
}

/// Replies of one pipeline, in order, and the work still out.
pub struct Batch {
    /// Replies ready to be written, in order.
    pub out: Vec<u8>,
    local: Vec<u8>,
    slots: Vec<Slot>,
    jobs: Vec<Vec<Job>>,
    deferred: bool,
    barrier: Option<(LocalFuture, bool)>,
    /// The barrier may wait indefinitely for other clients (BLPOP & co):
    /// the connection watches its socket meanwhile.
    barrier_blocks: bool,
    /// The connection, for slow-log entries of commands run elsewhere.
    pub client: Option<Rc<ClientInfo>>,
    /// The home shard's AOF offset the replies in `out` wait for (0: none).
    pub aof_need: u64,
    /// Multi-shard transactions the replies in `out` wait for.
    pub acks: Rc<crate::shard::tx::Acks>,
}

impl Batch {
    /// An empty batch for `shards` shards.
    pub fn new(shards: usize) -> Self {
        Batch {
            out: Vec::with_capacity(16 * 1024),
            local: Vec::new(),
            slots: Vec::new(),
            jobs: (0..shards).map(|_| Vec::new()).collect(),
            deferred: false,
            barrier: None,
            barrier_blocks: false,
            client: None,
            aof_need: 0,
            acks: Rc::default(),
        }
    }

    /// A batch for a nested pipeline (EXEC's queue, a script's commands):
    /// a recycled one when there is one, since a fresh one reserves 16 KB.
    pub fn spare(shards: usize) -> Self {
        SPARE
            .with(|s| s.borrow_mut().take())
            .filter(|b| b.jobs.len() == shards)
            .unwrap_or_else(|| Batch::new(shards))
    }

    /// Give a settled batch back for [`Batch::spare`] (dropped instead if a
    /// big reply grew it, or work is still out).
    pub fn recycle(mut self) {
        if !self.is_settled()
            || self.out.capacity() > 64 * 1024
            || !self.slots.is_empty()
            || !self.acks.idle()
        {
            return;
        }
        self.out.clear();
        self.local.clear();
        self.client = None;
        self.aof_need = 0;
        SPARE.with(|s| *s.borrow_mut() = Some(self));
    }

    /// Where an immediate reply goes now.
    pub(crate) fn target(&mut self) -> &mut Vec<u8> {
        if self.deferred {
            &mut self.local
        } else {
            &mut self.out
        }
    }

    /// Bytes of replies held (ready or waiting for earlier ones) and the
    /// number of commands whose replies are still out.
    pub fn held(&self) -> (usize, usize) {
        (self.out.len() + self.local.len(), self.slots.len())
    }

    /// True when a barrier is waiting to be flushed.
    pub fn has_barrier(&self) -> bool {
        self.barrier.is_some()
    }

    /// True when every reply is in `out` already: nothing was queued for
    /// another shard and no barrier waits (scripts then skip the await).
    pub fn is_settled(&self) -> bool {
        !self.deferred && self.barrier.is_none()
    }

    /// True when the waiting barrier blocks on other clients.
    pub fn barrier_blocks(&self) -> bool {
        self.barrier.is_some() && self.barrier_blocks
    }

    /// Record the bytes `start..` of the current target as the current
    /// command's reply (or drop them when suppressed).
    pub(crate) fn finish_immediate(&mut self, start: usize, suppressed: bool) {
        if self.deferred {
            let end = self.local.len();
            if suppressed {
                self.local.truncate(start);
            } else {
                self.slots.push(Slot::Local {
                    start,
                    end,
                    suppressed: false,
                });
            }
        } else if suppressed {
            self.out.truncate(start);
        }
    }

    /// Mark the last queued job or the barrier as suppressed (CLIENT REPLY).
    pub(crate) fn suppress_last(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Queued => {
                if let Some(Slot::Job { suppressed, .. }) = self.slots.last_mut() {
                    *suppressed = true;
                }
            }
            Outcome::Async => {
                if let Some((_, s)) = self.barrier.as_mut() {
                    *s = true;
                }
            }
            _ => {}
        }
    }

    /// Execute everything queued, then the barrier, appending replies to `out` in order.
    pub async fn flush(&mut self, shard: &Rc<Shard>) {
        if self.deferred {
            let mut pending = Vec::new();
            for sid in 0..self.jobs.len() {
                let Some(jobs) = self.jobs.get_mut(sid) else {
                    continue;
                };
                if jobs.is_empty() {
                    continue;
                }
                let jobs = std::mem::take(jobs);
                if let Ok(answer) = shard
                    .request_start::<BatchOut, _>(sid, move |s, r| batch::run(s, jobs, r))
                    .await
                {
                    pending.push((sid, answer));
                }
            }
            let mut outs: Vec<Option<BatchOut>> = (0..self.jobs.len()).map(|_| None).collect();
            for (sid, answer) in pending {
                if let (Ok(o), Some(slot)) = (answer.await, outs.get_mut(sid)) {
                    *slot = Some(o);
                }
            }
            for slot in self.slots.drain(..) {
                match slot {
                    Slot::Local {
                        start,
                        end,
                        suppressed,
                    } => {
                        if !suppressed {
                            if let Some(b) = self.local.get(start..end) {
                                self.out.extend_from_slice(b);
                            }
                        }
                    }
                    Slot::Job {
                        shard: sid,
                        idx,
                        suppressed,
                        req,
                        spec,
                    } => {
                        if let (Some(o), Some(info)) =
                            (outs.get(sid).and_then(Option::as_ref), self.client.as_ref())
                        {
                            let dur = std::time::Duration::from_micros(o.micros(idx));
                            crate::shard::slowlog::observe(shard, spec, dur, &req, info);
                        }
                        if suppressed {
                            continue;
                        }
                        match outs.get(sid).and_then(Option::as_ref) {
                            Some(o) => self.out.extend_from_slice(o.reply(idx)),
                            None => self.out.extend_from_slice(b"-ERR shard unavailable\r\n"),
                        }
                    }
                }
            }
            self.local.clear();
            self.deferred = false;
        }
        if let Some((fut, suppressed)) = self.barrier.take() {
            self.barrier_blocks = false;
            let bytes = fut.await;
            if !suppressed {
                self.out.extend_from_slice(&bytes);
            }
        }
    }
}

/// A command handler's view of the world.
pub struct Ctx<'a> {
    /// The connection's home shard.
    pub shard: &'a Rc<Shard>,
    /// The connection.
    pub conn: &'a mut Conn,
    pub(crate) batch: &'a mut Batch,
    pub(crate) cmd: CmdId,
    pub(crate) spec: &'static CommandSpec,
    pub(crate) outcome: Outcome,
    /// The current command's own reply is suppressed (CLIENT REPLY OFF/SKIP).
    pub(crate) suppress_self: Option<bool>,
    /// When dispatch started this command (its execution time is measured from here).
    pub(crate) t0: Instant,
    /// The request being run.
    pub(crate) req: &'a Request,
    /// How long the inline run took, once it ran (dispatch reuses it).
    pub(crate) ran_for: Option<std::time::Duration>,
}

impl<'a> Ctx<'a> {
    /// Build a context for one command.
    pub(crate) fn new(
        shard: &'a Rc<Shard>,
        conn: &'a mut Conn,
        batch: &'a mut Batch,
        cmd: CmdId,
        spec: &'static CommandSpec,
        t0: Instant,
        req: &'a Request,
    ) -> Self {
        Ctx {
            shard,
            conn,
            batch,
            cmd,
            spec,
            outcome: Outcome::Immediate,
            suppress_self: None,
            t0,
            req,
            ran_for: None,
        }
    }

    /// A writer for an immediate reply.
    pub fn w(&mut self) -> ReplyWriter<'_> {
        let proto = self.conn.proto;
        ReplyWriter::new(self.batch.target(), proto)
    }

    /// The connection's protocol.
    pub fn proto(&self) -> Proto {
        self.conn.proto
    }

    /// The SELECTed database.
    pub fn db(&self) -> usize {
        self.conn.db
    }

    /// Unix ms when this pipeline was read (one clock read per batch).
    pub fn now_ms(&self) -> i64 {
        self.conn.now_ms
    }

    /// The shard owning `key`.
    pub fn owner(&self, key: &[u8]) -> ShardId {
        self.shard.owner(key)
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shard.count
    }

    /// The owner multi-shard commands lock on behalf of: the client while
    /// it runs EXEC (so they re-enter the EXEC's locks), else 0.
    pub fn lock_owner(&self) -> u64 {
        self.conn.exec_owner
    }

    /// Where a multi-shard write's reply waits to be acknowledged
    /// ([`crate::shard::tx::run_acked`]): the batch's, for the connection's
    /// own commands; None inside EXEC or a script, whose transaction
    /// settles as a whole.
    pub fn acks(&self) -> Option<Rc<crate::shard::tx::Acks>> {
        (self.conn.exec_owner == 0).then(|| self.batch.acks.clone())
    }

    fn mode(&self) -> Mode {
        if self.spec.has(flags::WRITE) {
            Mode::Write
        } else {
            Mode::Read
        }
    }

    /// Run `f` on `shard` with `keys` protected from in-flight transactions.
    /// Inline (no allocation, no hop) when `shard` is this one and nothing
    /// is in the way; queued for that shard's batch otherwise.
    pub fn run<F>(&mut self, shard: ShardId, keys: &[Bytes], f: F)
    where
        F: FnOnce(&mut Exec<'_>) + Send + 'static,
    {
        let mut f = Some(f);
        let ran = self.try_inline(shard, keys, |x| {
            if let Some(f) = f.take() {
                f(x)
            }
        });
        if !ran {
            if let Some(f) = f {
                self.queue(shard, keys.iter().cloned().collect(), Box::new(f));
            }
        }
    }

    /// Run `f` on the shard owning `key`, handing it the key.
    pub fn run_key<F>(&mut self, key: Bytes, f: F)
    where
        F: FnOnce(&mut Exec<'_>, &[u8]) + Send + 'static,
    {
        let shard = self.owner(&key);
        let mut f = Some(f);
        if self.try_inline(shard, std::slice::from_ref(&key), |x| {
            if let Some(f) = f.take() {
                f(x, &key)
            }
        }) {
            return;
        }
        if let Some(f) = f {
            let k = key.clone();
            self.queue(shard, smallvec::smallvec![key], Box::new(move |x| f(x, &k)));
        }
    }

    /// Execute on this shard right now if `shard` is this one, nothing of
    /// this pipeline is queued for it, and no intent lock is in the way.
    /// True when it ran.
    fn try_inline(
        &mut self,
        shard: ShardId,
        keys: &[Bytes],
        f: impl FnOnce(&mut Exec<'_>),
    ) -> bool {
        let home = self.shard.id;
        if shard != home || !self.batch.jobs.get(home).is_some_and(Vec::is_empty) {
            return false;
        }
        let mode = self.mode();
        let (db, proto, cmd, now) = (self.conn.db, self.conn.proto, self.cmd, self.conn.now_ms);
        let mut st = self.shard.state.borrow_mut();
        if batch::must_wait(&st, db, keys, mode, self.conn.exec_owner) {
            return false;
        }
        let logging = st.aof.on();
        if logging {
            st.aof.target = self.conn.exec_owner;
        }
        let target = self.batch.target();
        let start = target.len();
        f(&mut Exec {
            st: &mut st,
            db,
            now,
            w: ReplyWriter::new(target, proto),
        });
        let reply = target.get(start..).unwrap_or(&[]);
        let ran_for = self.t0.elapsed();
        st.stats.record(cmd, ran_for, reply);
        if logging {
            let req = (mode == Mode::Write).then_some(self.req);
            st.log_command(db, req, reply);
            st.aof.target = 0;
        }
        self.ran_for = Some(ran_for);
        let deliveries = st.has_outbox();
        drop(st);
        if deliveries {
            crate::shard::flush_outbox(self.shard);
        }
        self.outcome = Outcome::Executed;
        true
    }

    fn queue(&mut self, shard: ShardId, keys: smallvec::SmallVec<[Bytes; 2]>, f: batch::JobFn) {
        let req = (self.spec.has(flags::WRITE) && self.shard.state.borrow().aof.on())
            .then(|| self.req.clone());
        let job = Job {
            req,
            cmd: self.cmd,
            db: self.conn.db,
            proto: self.conn.proto,
            keys,
            mode: self.mode(),
            owner: self.conn.exec_owner,
            f,
        };
        let Some(list) = self.batch.jobs.get_mut(shard) else {
            return;
        };
        let idx = list.len();
        list.push(job);
        self.batch.deferred = true;
        self.batch.slots.push(Slot::Job {
            shard,
            idx,
            suppressed: false,
            req: self.req.clone(),
            spec: self.spec,
        });
        self.outcome = Outcome::Queued;
    }

    /// Finish this command with a future producing its encoded reply. The
    /// pipeline waits for it before going on (a barrier).
    pub fn run_async<Fut>(&mut self, fut: Fut)
    where
        Fut: Future<Output = Vec<u8>> + 'static,
    {
        self.barrier(fut, true);
    }

    fn barrier<Fut>(&mut self, fut: Fut, observe: bool)
    where
        Fut: Future<Output = Vec<u8>> + 'static,
    {
        let shard = self.shard.clone();
        let (cmd, spec) = (self.cmd, self.spec);
        let watch = observe.then(|| (self.req.clone(), self.conn.info.clone()));
        let wrapped = async move {
            let t0 = Instant::now();
            let bytes = fut.await;
            let dur = t0.elapsed();
            shard.state.borrow_mut().stats.record(cmd, dur, &bytes);
            if let Some((req, info)) = watch {
                crate::shard::slowlog::observe(&shard, spec, dur, &req, &info);
            }
            bytes
        };
        self.batch.barrier = Some((Box::pin(wrapped), false));
        self.outcome = Outcome::Async;
    }

    /// Like [`Ctx::run_async`] for a future that may wait on other clients
    /// indefinitely (blocking commands): the connection keeps reading its
    /// socket meanwhile, and drops the future when the peer goes away.
    pub fn run_blocking<Fut>(&mut self, fut: Fut)
    where
        Fut: Future<Output = Vec<u8>> + 'static,
    {
        // A blocking wait is not execution time: no slow log for it.
        self.barrier(fut, false);
        self.batch.barrier_blocks = true;
    }

    /// Decide whether this very command's reply is sent (CLIENT REPLY).
    pub fn set_suppress_self(&mut self, suppressed: bool) {
        self.suppress_self = Some(suppressed);
    }
}

/// Encode a reply with a fresh writer (for async commands).
pub fn encode(proto: Proto, f: impl FnOnce(&mut ReplyWriter<'_>)) -> Vec<u8> {
    let mut v = Vec::new();
    f(&mut ReplyWriter::new(&mut v, proto));
    v
}
