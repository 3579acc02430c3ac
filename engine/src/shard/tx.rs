//! The transaction layer: how a command touching several shards runs
//! atomically and in isolation.
//!
//! Protocol (ordered two-phase locking):
//! 1. Lock the command's keys on each participating shard in ascending
//!    shard order, waiting as needed (intent locks, [`super::locks`]).
//!    A global order means two transactions can never wait on each other.
//! 2. On the last shard, lock and run its part in the same hop.
//! 3. Run the other parts (all locks are now held) and release each
//!    shard's locks as its part finishes; these hops go out together.
//!
//! Between steps 1 and 3 no other command can touch the locked keys, so
//! nobody observes a partial result. With the coordinator's own shard first
//! in order, a two-shard MSET costs one round trip.

use super::locks::LockSet;
use super::mesh::ShardGone;
use super::{Shard, ShardId, ShardState};
use std::rc::Rc;

/// The work of one shard in a transaction.
pub type PartFn<R> = Box<dyn FnOnce(&mut ShardState, i64) -> R + Send>;

/// One shard's share of a transaction.
pub struct Part<R> {
    /// Where it runs.
    pub shard: ShardId,
    /// What it locks there.
    pub locks: LockSet,
    /// What it does there (given the state and the Unix ms time).
    pub op: PartFn<R>,
}

/// Acquire `set` on `shard`, waiting in line if needed.
pub async fn acquire(shard: &Rc<Shard>, set: &LockSet) {
    let waiting = {
        let mut st = shard.state.borrow_mut();
        if st.locks.try_acquire(set) {
            None
        } else {
            Some(st.locks.enqueue(set.clone()))
        }
    };
    if let Some(granted) = waiting {
        granted.await;
    }
}

fn run_part<R>(shard: &Rc<Shard>, locks: &LockSet, op: PartFn<R>) -> R {
    let mut st = shard.state.borrow_mut();
    let r = op(&mut st, crate::clock::now_ms());
    st.locks.release(locks);
    let deliveries = st.has_outbox();
    drop(st);
    if deliveries {
        super::flush_outbox(shard);
    }
    r
}

/// Run a transaction coordinated from `home` on behalf of `owner` (the
/// client running EXEC, whose own locks it re-enters; 0 otherwise).
/// Results come back in the order of `parts`. Parts on the same shard must
/// be merged by the caller.
pub async fn run<R: Send + 'static>(
    home: &Rc<Shard>,
    owner: u64,
    parts: Vec<Part<R>>,
) -> Result<Vec<R>, ShardGone> {
    let parts: Vec<Part<R>> = parts
        .into_iter()
        .map(|p| Part {
            locks: p.locks.owned_by(owner),
            ..p
        })
        .collect();
    let n = parts.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| parts.get(i).map(|p| p.shard).unwrap_or(0));
    let mut slots: Vec<Option<Part<R>>> = parts.into_iter().map(Some).collect();
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();

    let Some((&last_idx, first_idxs)) = order.split_last() else {
        return Ok(Vec::new());
    };

    // Phase 1: lock every shard but the last, in order.
    let mut locked: Vec<(usize, ShardId, LockSet, PartFn<R>)> = Vec::new();
    for &i in first_idxs {
        let Some(Part { shard, locks, op }) = slots.get_mut(i).and_then(Option::take) else {
            continue;
        };
        let set = locks.clone();
        home.call_async(shard, move |s| async move { acquire(&s, &set).await })
            .await?;
        locked.push((i, shard, locks, op));
    }

    // Phase 2: the last shard locks and runs in one hop.
    if let Some(Part { shard, locks, op }) = slots.get_mut(last_idx).and_then(Option::take) {
        let r = home
            .call_async(shard, move |s| async move {
                acquire(&s, &locks).await;
                run_part(&s, &locks, op)
            })
            .await?;
        if let Some(slot) = results.get_mut(last_idx) {
            *slot = Some(r);
        }
    }

    // Phase 3: run and release the others; remote hops go out together.
    let mut waiting = Vec::new();
    for (i, shard, locks, op) in locked {
        if shard == home.id {
            let r = run_part(home, &locks, op);
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        } else {
            let answer = home
                .request_start::<R, _>(shard, move |s, reply| {
                    let r = run_part(s, &locks, op);
                    reply.send(s, r);
                })
                .await?;
            waiting.push((i, answer));
        }
    }
    for (i, answer) in waiting {
        let r = answer.await?;
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results.into_iter().map(|r| r.ok_or(ShardGone)).collect()
}

/// A transaction that keeps its locks across several steps, for commands
/// that must look before they write (MSETNX, RENAMENX, cross-shard RENAME
/// and COPY): lock every shard in order, run any number of steps, release.
pub struct Session {
    home: Rc<Shard>,
    held: Vec<(ShardId, LockSet)>,
}

impl Session {
    /// Lock `parts` (merged per shard by the caller) in ascending shard
    /// order, on behalf of `owner` (see [`run`]).
    pub async fn lock(
        home: &Rc<Shard>,
        owner: u64,
        mut parts: Vec<(ShardId, LockSet)>,
    ) -> Result<Session, ShardGone> {
        parts.sort_by_key(|(s, _)| *s);
        let mut held = Vec::with_capacity(parts.len());
        for (shard, set) in parts {
            let set = set.owned_by(owner);
            let s2 = set.clone();
            home.call_async(shard, move |s| async move { acquire(&s, &s2).await })
                .await?;
            held.push((shard, set));
        }
        Ok(Session {
            home: home.clone(),
            held,
        })
    }

    /// Run `f` on `shard` while the locks are held.
    pub async fn exec<R, F>(&self, shard: ShardId, f: F) -> Result<R, ShardGone>
    where
        F: FnOnce(&mut ShardState, i64) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.home
            .call(shard, move |s| {
                let r = f(&mut s.state.borrow_mut(), crate::clock::now_ms());
                super::flush_outbox(s);
                r
            })
            .await
    }

    /// Release every lock (the hops go out together).
    pub async fn release(self) {
        let mut waiting = Vec::new();
        for (shard, set) in self.held {
            let answer = self
                .home
                .request_start::<(), _>(shard, move |s, reply| {
                    s.state.borrow_mut().locks.release(&set);
                    reply.send(s, ());
                })
                .await;
            if let Ok(a) = answer {
                waiting.push(a);
            }
        }
        for a in waiting {
            let _ = a.await;
        }
    }
}
