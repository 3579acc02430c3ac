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
//!
//! The AOF: each part logs the new state of the keys it changed
//! ([`crate::aof::state`]) into a unit — the caller's (EXEC, a script: the
//! lock owner) or the transaction's own, committed with its part before its
//! locks go, as one part of a multi-shard transaction when several shards
//! wrote. With `appendfsync always` its reply leaves once every part is on
//! disk ([`run`] waits; [`run_acked`] lets the connection's pipeline go on
//! and the connection waits in [`Acks`] before it writes), and each shard
//! then lets the records behind it be acknowledged
//! ([`crate::aof::Feed::clear_tx`]). A transaction has at most one part
//! per shard.

use super::locks::LockSet;
use super::mesh::ShardGone;
use super::{Shard, ShardId, ShardState};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Poll, Waker};

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

/// Unit keys of transactions' own units (client ids, the keys of EXEC's and
/// scripts' units, stay far below).
const OWN_UNIT: u64 = 1 << 63;

/// Where a part's records go.
#[derive(Clone)]
struct Logging {
    unit: u64,
    /// Commit the unit with the part: as this transaction's part when
    /// several shards write.
    commit: Option<Option<MultiShard>>,
}

/// A multi-shard transaction: its id, the shards that write, and whether
/// its coordinator settles it (decided once, at its start: see
/// [`crate::aof::Feed::commit_unit`]).
#[derive(Clone)]
struct MultiShard {
    id: u64,
    writers: Vec<ShardId>,
    held: bool,
}

/// Run `f` on `st` noting the keys it changes, then log their state into
/// unit `unit`; commit the unit as `commit` says. Returns `f`'s result and
/// the committed block's end offset.
fn logged<R>(
    st: &mut ShardState,
    unit: u64,
    commit: Option<&Option<MultiShard>>,
    f: impl FnOnce(&mut ShardState) -> R,
) -> (R, Option<u64>) {
    if !st.aof.on() {
        return (f(st), None);
    }
    crate::aof::state::begin(st);
    let outer = std::mem::replace(&mut st.aof.target, unit);
    let r = f(st);
    crate::aof::state::finish(st);
    st.aof.target = outer;
    let end = match commit {
        Some(tx) => {
            let tx = tx.as_ref().map(|m| (m.id, m.writers.as_slice(), m.held));
            st.aof.commit_unit(unit, tx).map(|(_, end)| end)
        }
        None => None,
    };
    (r, end)
}

fn run_part<R>(
    shard: &Rc<Shard>,
    locks: &LockSet,
    op: PartFn<R>,
    log: &Logging,
) -> (R, Option<u64>) {
    let mut st = shard.state.borrow_mut();
    let now = crate::clock::now_ms();
    let (r, end) = logged(&mut st, log.unit, log.commit.as_ref(), |st| op(st, now));
    st.locks.release(locks);
    let deliveries = st.has_outbox();
    drop(st);
    if deliveries {
        super::flush_outbox(shard);
    }
    (r, end)
}

/// A multi-shard transaction's id, and whether its parts are held (see
/// [`MultiShard`]).
#[derive(Clone, Copy)]
struct Held {
    id: u64,
    held: bool,
}

/// True when the blocks a transaction committed must be settled before
/// its reply leaves: with `appendfsync always`, and always for a held
/// multi-shard transaction, whose parts wait for their clear whatever the
/// policy became since.
fn must_settle(home: &Shard, ends: &[(ShardId, u64)], tx: Option<Held>) -> bool {
    !ends.is_empty()
        && match tx {
            Some(t) => t.held,
            None => home.state.borrow().aof.acks_wait(),
        }
}

/// Settle one transaction's blocks here and now, when they need it.
async fn settle_one(home: &Rc<Shard>, ends: Ends, tx: Option<Held>) -> Result<(), ShardGone> {
    if must_settle(home, &ends, tx) && !settle(home, vec![(ends, tx.map(|t| t.id))]).await {
        return Err(ShardGone);
    }
    Ok(())
}

/// What a committed transaction leaves to settle: its blocks' (shard, end
/// offset) and, when several shards wrote, its multi-shard id.
type Committed = (Ends, Option<u64>);

/// Wait until the blocks of the transactions `done` committed may be
/// acknowledged, and say whether they all can. Multi-shard parts must be on
/// disk; then every shard holding one is told to stop holding back what
/// follows it; then single-shard blocks must be acknowledgeable there (they
/// may sit behind a part just cleared). One request per shard and step
/// covers every transaction in `done`, and the shards are asked together.
///
/// IMPORTANT: the clear goes out only once every part is known to be on
/// disk. When a shard could not say so (a write error), the replies fail,
/// and the clear waits in the background until the parts reach the disk
/// (the writer retries): clearing earlier would let another shard
/// acknowledge writes that recovery drops with the incomplete transaction.
async fn settle(home: &Rc<Shard>, done: Vec<Committed>) -> bool {
    let n = home.count;
    let mut durable_to = vec![0u64; n];
    let mut ack_to = vec![0u64; n];
    let mut ids: Vec<Vec<u64>> = vec![Vec::new(); n];
    for (ends, tx) in done {
        for (s, end) in ends {
            let (Some(d), Some(a), Some(i)) =
                (durable_to.get_mut(s), ack_to.get_mut(s), ids.get_mut(s))
            else {
                continue;
            };
            match tx {
                Some(id) => {
                    *d = (*d).max(end);
                    i.push(id);
                }
                None => *a = (*a).max(end),
            }
        }
    }
    let mut ok = wait_all(home, durable_to.clone(), Until::Durable).await;
    if ok {
        clear_all(home, ids);
    } else {
        let home = home.clone();
        glommio::spawn_local(async move {
            if wait_all(&home, durable_to, Until::OnDisk).await {
                clear_all(&home, ids);
            }
        })
        .detach();
    }
    ok &= wait_all(home, ack_to, Until::Ackable).await;
    ok
}

/// Tell each shard `s` that the transactions `ids[s]` are on disk
/// everywhere (no answer awaited: the replies need only the parts there).
fn clear_all(home: &Rc<Shard>, ids: Vec<Vec<u64>>) {
    for (s, list) in ids.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let clear = move |sh: &Rc<Shard>| {
            let mut st = sh.state.borrow_mut();
            for id in list {
                st.aof.clear_tx(id);
            }
        };
        if s == home.id {
            clear(home);
        } else {
            home.post_now(s, Box::new(clear));
        }
    }
}

/// What [`wait_all`] waits for on each shard.
#[derive(Clone, Copy)]
enum Until {
    /// The log on disk up to the offset; a write error ends the wait.
    Durable,
    /// The same, through write errors (the writer retries them).
    OnDisk,
    /// The log acknowledgeable up to the offset; a write error ends it.
    Ackable,
}

/// Ask every shard with a nonzero `to[shard]` to wait as `until` says;
/// true when every one could.
async fn wait_all(home: &Rc<Shard>, to: Vec<u64>, until: Until) -> bool {
    let mut waiting = Vec::new();
    for (s, end) in to.into_iter().enumerate() {
        if end == 0 {
            continue;
        }
        let asked = home
            .request_start::<bool, _>(s, move |sh, reply| {
                let sh = sh.clone();
                glommio::spawn_local(async move {
                    let ok = match until {
                        Until::Durable => crate::aof::wait_durable(&sh, end).await.is_ok(),
                        Until::OnDisk => {
                            crate::aof::wait_on_disk(&sh, end).await;
                            true
                        }
                        Until::Ackable => crate::aof::wait_ack(&sh, end).await.is_ok(),
                    };
                    reply.send(&sh, ok);
                })
                .detach();
            })
            .await;
        match asked {
            Ok(answer) => waiting.push(answer),
            Err(ShardGone) => return false,
        }
    }
    let mut ok = true;
    for answer in waiting {
        ok &= answer.await.unwrap_or(false);
    }
    ok
}

/// The transactions a connection's pending replies still wait for. They
/// settle in a task of the connection's own ([`run_acked`]), so a pipeline
/// of multi-shard writes runs on while their parts go to disk: one round
/// of fdatasyncs covers many of them (group commit, as for single-shard
/// writes), and one round of settle requests covers all that committed
/// meanwhile. The connection waits here before it writes.
#[derive(Default)]
pub struct Acks {
    /// Committed, not yet taken by the settling task.
    queue: RefCell<Vec<Committed>>,
    /// Committed, not yet settled.
    outstanding: Cell<usize>,
    /// The settling task runs.
    running: Cell<bool>,
    failed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Acks {
    /// Nothing is being settled.
    pub fn idle(&self) -> bool {
        self.outstanding.get() == 0
    }

    /// Settle `done` (committed from `home`) in the background.
    fn add(self: &Rc<Self>, home: &Rc<Shard>, done: Committed) {
        self.queue.borrow_mut().push(done);
        self.outstanding.set(self.outstanding.get() + 1);
        if !self.running.replace(true) {
            let (home, acks) = (home.clone(), self.clone());
            glommio::spawn_local(async move {
                loop {
                    let round = std::mem::take(&mut *acks.queue.borrow_mut());
                    if round.is_empty() {
                        break;
                    }
                    let n = round.len();
                    let ok = settle(&home, round).await;
                    acks.finish(n, ok);
                }
                acks.running.set(false);
            })
            .detach();
        }
    }

    fn finish(&self, n: usize, ok: bool) {
        self.outstanding
            .set(self.outstanding.get().saturating_sub(n));
        if !ok {
            self.failed.set(true);
        }
        if self.idle() {
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// Wait until every transaction committed so far is settled. False when
    /// one of them could not be made durable (the replies must not claim
    /// success); the failure is reported once.
    pub async fn wait(&self) -> bool {
        std::future::poll_fn(|cx| {
            if self.idle() {
                Poll::Ready(!self.failed.replace(false))
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Run a transaction coordinated from `home` on behalf of `owner` (the
/// client running EXEC, whose own locks it re-enters; 0 otherwise).
/// Results come back in the order of `parts`, once they may be
/// acknowledged. Parts on the same shard must be merged by the caller.
pub async fn run<R: Send + 'static>(
    home: &Rc<Shard>,
    owner: u64,
    parts: Vec<Part<R>>,
) -> Result<Vec<R>, ShardGone> {
    let (results, ends, txid) = execute(home, owner, parts).await?;
    settle_one(home, ends, txid).await?;
    Ok(results)
}

/// [`run`] for a connection's own command: results come back once the
/// parts ran; making them durable goes on in the background, and `acks`
/// is where the connection waits for it before replying.
pub async fn run_acked<R: Send + 'static>(
    home: &Rc<Shard>,
    owner: u64,
    parts: Vec<Part<R>>,
    acks: &Rc<Acks>,
) -> Result<Vec<R>, ShardGone> {
    let (results, ends, txid) = execute(home, owner, parts).await?;
    if must_settle(home, &ends, txid) {
        acks.add(home, (ends, txid.map(|t| t.id)));
    }
    Ok(results)
}

/// Every committed part's (shard, end offset).
type Ends = Vec<(ShardId, u64)>;

/// Lock, run and release a transaction (see the module doc); returns its
/// results, the blocks it committed and its multi-shard id.
async fn execute<R: Send + 'static>(
    home: &Rc<Shard>,
    owner: u64,
    parts: Vec<Part<R>>,
) -> Result<(Vec<R>, Ends, Option<Held>), ShardGone> {
    let parts: Vec<Part<R>> = parts
        .into_iter()
        .map(|p| Part {
            locks: p.locks.owned_by(owner),
            ..p
        })
        .collect();
    let n = parts.len();
    // Inside EXEC or a script, records join the caller's unit; otherwise
    // the transaction has its own, committed with each part.
    let (log, txid) = if owner != 0 || !home.state.borrow().aof.on() {
        (
            Logging {
                unit: owner,
                commit: None,
            },
            None,
        )
    } else {
        let held = home.state.borrow().aof.acks_wait();
        let id = home.shared.aof.next_tx();
        let mut writers: Vec<ShardId> = parts
            .iter()
            .filter(|p| p.locks.writes())
            .map(|p| p.shard)
            .collect();
        writers.sort_unstable();
        writers.dedup();
        let multi = writers.len() >= 2;
        (
            Logging {
                unit: OWN_UNIT | id,
                commit: Some(multi.then_some(MultiShard { id, writers, held })),
            },
            multi.then_some(Held { id, held }),
        )
    };
    let mut ends: Vec<(ShardId, u64)> = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| parts.get(i).map(|p| p.shard).unwrap_or(0));
    let mut slots: Vec<Option<Part<R>>> = parts.into_iter().map(Some).collect();
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();

    let Some((&last_idx, first_idxs)) = order.split_last() else {
        return Ok((Vec::new(), ends, None));
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
        let l = log.clone();
        let (r, end) = home
            .call_async(shard, move |s| async move {
                acquire(&s, &locks).await;
                run_part(&s, &locks, op, &l)
            })
            .await?;
        ends.extend(end.map(|e| (shard, e)));
        if let Some(slot) = results.get_mut(last_idx) {
            *slot = Some(r);
        }
    }

    // Phase 3: run and release the others; remote hops go out together.
    let mut waiting = Vec::new();
    for (i, shard, locks, op) in locked {
        if shard == home.id {
            let (r, end) = run_part(home, &locks, op, &log);
            ends.extend(end.map(|e| (shard, e)));
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        } else {
            let l = log.clone();
            let answer = home
                .request_start::<(R, Option<u64>), _>(shard, move |s, reply| {
                    let r = run_part(s, &locks, op, &l);
                    reply.send(s, r);
                })
                .await?;
            waiting.push((i, shard, answer));
        }
    }
    for (i, shard, answer) in waiting {
        let (r, end) = answer.await?;
        ends.extend(end.map(|e| (shard, e)));
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    let results = results
        .into_iter()
        .map(|r| r.ok_or(ShardGone))
        .collect::<Result<Vec<R>, ShardGone>>()?;
    Ok((results, ends, txid))
}

/// A transaction that keeps its locks across several steps, for commands
/// that must look before they write (MSETNX, RENAMENX, cross-shard RENAME
/// and COPY): lock every shard in order, run any number of steps, release.
///
/// Records of its steps go to a unit: the caller's when it runs inside
/// EXEC or a script (`owner` != 0), else its own, committed at release.
/// EXEC and scripts lock with [`Session::lock_unit`]: their commands log
/// into the unit keyed by the owner, which their release commits.
pub struct Session {
    home: Rc<Shard>,
    held: Vec<(ShardId, LockSet)>,
    unit: u64,
    commits: bool,
}

impl Session {
    /// Lock `parts` (merged per shard by the caller) in ascending shard
    /// order, on behalf of `owner` (see [`run`]).
    pub async fn lock(
        home: &Rc<Shard>,
        owner: u64,
        parts: Vec<(ShardId, LockSet)>,
    ) -> Result<Session, ShardGone> {
        let (unit, commits) = if owner != 0 {
            (owner, false)
        } else {
            (OWN_UNIT | home.shared.aof.next_tx(), true)
        };
        Session::lock_as(home, owner, parts, unit, commits).await
    }

    /// Lock every shard whole in `mode` (SAVE, BGSAVE and rewrite cuts in
    /// read mode; FLUSHALL and SWAPDB in write mode).
    pub async fn lock_all(
        home: &Rc<Shard>,
        owner: u64,
        mode: super::locks::Mode,
    ) -> Result<Session, ShardGone> {
        let parts = (0..home.count)
            .map(|s| (s, LockSet::whole_shard(mode)))
            .collect();
        Session::lock(home, owner, parts).await
    }

    /// Lock for EXEC or a script run by `owner`: the commands it runs log
    /// into `owner`'s unit, committed at release.
    pub async fn lock_unit(
        home: &Rc<Shard>,
        owner: u64,
        parts: Vec<(ShardId, LockSet)>,
    ) -> Result<Session, ShardGone> {
        Session::lock_as(home, owner, parts, owner, true).await
    }

    async fn lock_as(
        home: &Rc<Shard>,
        owner: u64,
        mut parts: Vec<(ShardId, LockSet)>,
        unit: u64,
        commits: bool,
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
            unit,
            commits,
        })
    }

    /// Run `f` on `shard` while the locks are held.
    pub async fn exec<R, F>(&self, shard: ShardId, f: F) -> Result<R, ShardGone>
    where
        F: FnOnce(&mut ShardState, i64) -> R + Send + 'static,
        R: Send + 'static,
    {
        let unit = self.unit;
        self.home
            .call(shard, move |s| {
                let now = crate::clock::now_ms();
                let (r, _) = logged(&mut s.state.borrow_mut(), unit, None, |st| f(st, now));
                super::flush_outbox(s);
                r
            })
            .await
    }

    /// Release every lock (the hops go out together), committing the unit
    /// first when this session owns it. With `appendfsync always`, returns
    /// once what it logged may be acknowledged; Err when the log could not
    /// be written.
    pub async fn release(self) -> Result<(), ShardGone> {
        let commits = self.commits && self.home.state.borrow().aof.on();
        if !commits {
            self.release_with(|_, _| None).await;
            return Ok(());
        }
        let unit = self.unit;
        // Which shards have records: one of them commits plainly, several
        // commit parts of one transaction.
        let mut writers = Vec::new();
        if self.held.len() == 1 {
            writers.extend(self.held.iter().map(|(s, _)| *s));
        } else {
            for (s, _) in &self.held {
                let n = self
                    .home
                    .call(*s, move |sh| sh.state.borrow().aof.unit_records(unit))
                    .await
                    .unwrap_or(0);
                if n > 0 {
                    writers.push(*s);
                }
            }
        }
        let held = self.home.state.borrow().aof.acks_wait();
        let tx = (writers.len() >= 2).then(|| MultiShard {
            id: self.home.shared.aof.next_tx(),
            writers: writers.clone(),
            held,
        });
        let txid = tx.as_ref().map(|m| Held { id: m.id, held });
        let home = self.home.clone();
        let ends = self
            .release_with(move |shard, st| {
                // Shards without records write nothing (not even an empty
                // part: the transaction does not name them).
                let t = match tx.as_ref() {
                    Some(m) if m.writers.contains(&shard) => {
                        Some((m.id, m.writers.as_slice(), m.held))
                    }
                    _ => None,
                };
                st.aof.commit_unit(unit, t).map(|(_, end)| end)
            })
            .await;
        settle_one(&home, ends, txid).await
    }

    /// Release every lock, running `commit` on each shard first; returns the
    /// (shard, offset) of the blocks it committed.
    async fn release_with<F>(self, commit: F) -> Vec<(ShardId, u64)>
    where
        F: Fn(ShardId, &mut ShardState) -> Option<u64> + Send + Clone + 'static,
    {
        let mut waiting = Vec::new();
        for (shard, set) in self.held {
            let c = commit.clone();
            let answer = self
                .home
                .request_start::<Option<u64>, _>(shard, move |s, reply| {
                    let mut st = s.state.borrow_mut();
                    let end = c(shard, &mut st);
                    st.locks.release(&set);
                    drop(st);
                    reply.send(s, end);
                })
                .await;
            if let Ok(a) = answer {
                waiting.push((shard, a));
            }
        }
        let mut ends = Vec::new();
        for (shard, a) in waiting {
            if let Ok(Some(end)) = a.await {
                ends.push((shard, end));
            }
        }
        ends
    }
}
