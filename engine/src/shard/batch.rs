//! Running single-shard jobs on their shard.
//!
//! A connection groups the pipelined commands bound for one shard into one
//! batch: one message there, one message back with all the replies. Each
//! job is a closure made by a command handler on the connection's shard; it
//! runs here against [`Exec`], the owning shard's data plus a reply writer.
//!
//! Jobs run synchronously in arrival order. If the lock table says a job's
//! keys are held by an in-flight multi-shard transaction, the rest of the
//! batch continues in a task that waits for the grant, keeping the order.

use super::locks::{LockSet, Mode};
use super::mesh::ReplyTo;
use super::{Shard, ShardState};
use crate::clock::Instant;
use crate::command::spec::CmdId;
use crate::keyspace::Db;
use bytes::Bytes;
use resp::{Proto, ReplyWriter};
use smallvec::SmallVec;
use std::rc::Rc;

/// What a job sees on the owning shard.
pub struct Exec<'a> {
    /// The shard's data.
    pub st: &'a mut ShardState,
    /// The client's database.
    pub db: usize,
    /// Unix ms at execution start (one clock read per job).
    pub now: i64,
    /// Where the reply goes.
    pub w: ReplyWriter<'a>,
}

impl<'a> Exec<'a> {
    /// The client's database.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        self.st.db(self.db)
    }

    /// The database and the reply writer at once (disjoint borrows).
    #[inline]
    pub fn split(&mut self) -> (&mut Db, &mut ReplyWriter<'a>) {
        let db = self.db;
        (self.st.db(db), &mut self.w)
    }
}

/// The work of one command on its shard.
pub type JobFn = Box<dyn FnOnce(&mut Exec<'_>) + Send>;

/// One command bound for a shard.
pub struct Job {
    /// For statistics.
    pub cmd: CmdId,
    /// SELECTed database.
    pub db: usize,
    /// Reply encoding.
    pub proto: Proto,
    /// Keys, to check against intent locks.
    pub keys: SmallVec<[Bytes; 2]>,
    /// Exclusive (write) or shared access.
    pub mode: Mode,
    /// The client running EXEC that queued it (its locks are re-entered), or 0.
    pub owner: u64,
    /// The request, for the AOF (write commands while it is on).
    pub req: Option<resp::Request>,
    /// The work.
    pub f: JobFn,
}

/// Replies of a batch, concatenated, with the end offset of each.
#[derive(Default, Debug)]
pub struct BatchOut {
    /// All reply bytes.
    pub buf: Vec<u8>,
    /// `ends[i]` is where reply `i` ends in `buf`.
    pub ends: Vec<u32>,
    /// Execution time of job `i` in microseconds.
    pub micros: Vec<u32>,
}

impl BatchOut {
    /// Execution time of job `i` in microseconds.
    pub fn micros(&self, i: usize) -> u64 {
        u64::from(self.micros.get(i).copied().unwrap_or(0))
    }

    /// Reply `i`.
    pub fn reply(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0) as usize
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.buf.get(start..end).unwrap_or(&[])
    }
}

impl Job {
    fn lock_set(&self) -> LockSet {
        LockSet::of_keys(self.db, self.keys.iter().map(|k| &k[..]), self.mode).owned_by(self.owner)
    }
}

/// Run one job against `st` at Unix ms `now`, appending its reply to `out`
/// and counting it.
pub fn exec_job(st: &mut ShardState, job: Job, out: &mut BatchOut, now: i64) {
    let t0 = Instant::now();
    exec_job_into(st, job, &mut out.buf, now);
    out.ends.push(out.buf.len() as u32);
    let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
    out.micros.push(us);
}

fn exec_job_into(st: &mut ShardState, job: Job, out: &mut Vec<u8>, now: i64) {
    let start = out.len();
    let t0 = Instant::now();
    let Job {
        cmd,
        db,
        proto,
        f,
        owner,
        req,
        ..
    } = job;
    let logging = st.aof.on();
    if logging {
        st.aof.target = owner;
    }
    f(&mut Exec {
        st: &mut *st,
        db,
        now,
        w: ReplyWriter::new(out, proto),
    });
    let reply = out.get(start..).unwrap_or(&[]);
    st.stats.record(cmd, t0.elapsed(), reply);
    if logging {
        st.log_command(db, req.as_ref(), reply);
        st.aof.target = 0;
    }
}

/// Send a batch's replies once the records it appended (the log grew past
/// `lsn0` while it ran) may be acknowledged; if they cannot be made durable,
/// every reply becomes the write error.
fn send_when_durable(shard: &Rc<Shard>, reply: ReplyTo, mut out: BatchOut, lsn0: u64) {
    let lsn = {
        let st = shard.state.borrow();
        let lsn = st.aof.lsn();
        if lsn == lsn0 || st.aof.ackable() >= lsn {
            None
        } else {
            Some(lsn)
        }
    };
    let Some(lsn) = lsn else {
        reply.send(shard, out);
        return;
    };
    let shard = shard.clone();
    glommio::spawn_local(async move {
        if crate::aof::wait_ack(&shard, lsn).await.is_err() {
            let n = out.ends.len();
            let err = crate::aof::failed_reply(&shard, resp::Proto::Resp2);
            out.buf.clear();
            out.ends.clear();
            for _ in 0..n {
                out.buf.extend_from_slice(&err);
                out.ends.push(out.buf.len() as u32);
            }
        }
        reply.send(&shard, out);
    })
    .detach();
}

/// True when a job touching `keys` for `owner` (see [`Job::owner`]) must
/// wait for intent locks.
pub fn must_wait(st: &ShardState, db: usize, keys: &[Bytes], mode: Mode, owner: u64) -> bool {
    if st.locks.is_idle() {
        return false;
    }
    let set = LockSet::of_keys(db, keys.iter().map(|k| &k[..]), mode).owned_by(owner);
    st.locks.must_wait(&set)
}

/// Run `jobs` on `shard` in order and send the replies to `reply`.
pub fn run(shard: &Rc<Shard>, jobs: Vec<Job>, reply: ReplyTo) {
    let mut out = BatchOut {
        buf: Vec::with_capacity(jobs.len() * 16),
        ends: Vec::with_capacity(jobs.len()),
        micros: Vec::with_capacity(jobs.len()),
    };
    let now = crate::clock::now_ms();
    let lsn0 = shard.state.borrow().aof.lsn();
    let mut iter = jobs.into_iter();
    while let Some(job) = iter.next() {
        let blocked = {
            let st = shard.state.borrow();
            must_wait(&st, job.db, &job.keys, job.mode, job.owner)
        };
        if blocked {
            let rest: Vec<Job> = iter.collect();
            let shard = shard.clone();
            glommio::spawn_local(async move {
                run_waiting(&shard, job, rest, &mut out).await;
                send_when_durable(&shard, reply, out, lsn0);
            })
            .detach();
            return;
        }
        exec_job(&mut shard.state.borrow_mut(), job, &mut out, now);
    }
    super::flush_outbox(shard);
    send_when_durable(shard, reply, out, lsn0);
}

/// Slow path: wait for each job's locks when needed, run it, release.
async fn run_waiting(shard: &Rc<Shard>, first: Job, rest: Vec<Job>, out: &mut BatchOut) {
    for job in std::iter::once(first).chain(rest) {
        let set = job.lock_set();
        let granted = {
            let mut st = shard.state.borrow_mut();
            if st.locks.try_acquire(&set) {
                None
            } else {
                Some(st.locks.enqueue(set.clone()))
            }
        };
        if let Some(g) = granted {
            g.await;
        }
        let mut st = shard.state.borrow_mut();
        exec_job(&mut st, job, out, crate::clock::now_ms());
        st.locks.release(&set);
        drop(st);
        super::flush_outbox(shard);
    }
}
