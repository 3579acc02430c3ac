//! Intent locks of one shard: what keeps multi-shard transactions atomic
//! and isolated.
//!
//! A multi-shard command (MSET over two shards, a cross-shard RENAME, ...)
//! locks its keys on every shard it touches, in ascending shard order,
//! before any of its parts runs, and releases each shard's locks as that
//! shard's part completes. Locks are shared (readers) or exclusive
//! (writers), keyed by a 64-bit fingerprint of (db, key); a shard-wide lock
//! serves FLUSHALL/FLUSHDB/SWAPDB. A collision of fingerprints can only make
//! a command wait needlessly, never run unprotected.
//!
//! Single-shard commands take no locks on the fast path: when the table is
//! idle (the common case) they run at once. When it is not, a command whose
//! keys conflict waits in the FIFO queue like everyone else, so no command
//! ever observes half of a transaction.
//!
//! IMPORTANT: grants are strictly FIFO per conflicting key: a waiter is not
//! granted while an earlier, still-waiting request conflicts with it, which
//! prevents starvation. Ordered acquisition across shards prevents deadlock.
//!
//! Re-entrancy for EXEC: a transaction (MULTI/EXEC) holds its keys (or the
//! whole shard) exclusively on behalf of an owner (its client id). The
//! commands it runs carry the same owner, and their own lock requests for
//! keys the owner holds are granted at once without being recorded (a
//! per-owner depth count keeps their releases from freeing the EXEC's locks).

use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Shared or exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Readers share.
    Read,
    /// One writer, no readers.
    Write,
}

/// The locks one request needs on one shard.
#[derive(Clone, Debug, Default)]
pub struct LockSet {
    /// (fingerprint, mode) per key.
    keys: SmallVec<[(u64, Mode); 4]>,
    /// The whole shard, for keyspace-wide commands.
    global: Option<Mode>,
    /// Who asks (a client running EXEC), 0 for nobody in particular.
    owner: u64,
}

fn fp_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x10c4, 0x5eed, 0xface, 0xb00c)
}

/// Fingerprint of a key in a database.
pub fn fingerprint(db: usize, key: &[u8]) -> u64 {
    fp_hasher().hash_one((db, key))
}

impl LockSet {
    /// An empty set.
    pub fn new() -> Self {
        LockSet::default()
    }

    /// Add a key.
    pub fn key(&mut self, db: usize, key: &[u8], mode: Mode) {
        let fp = fingerprint(db, key);
        if let Some(e) = self.keys.iter_mut().find(|(f, _)| *f == fp) {
            if mode == Mode::Write {
                e.1 = Mode::Write;
            }
        } else {
            self.keys.push((fp, mode));
        }
    }

    /// A set of keys all in one mode.
    pub fn of_keys<'k>(db: usize, keys: impl IntoIterator<Item = &'k [u8]>, mode: Mode) -> Self {
        let mut s = LockSet::new();
        for k in keys {
            s.key(db, k, mode);
        }
        s
    }

    /// The whole shard.
    pub fn whole_shard(mode: Mode) -> Self {
        LockSet {
            keys: SmallVec::new(),
            global: Some(mode),
            owner: 0,
        }
    }

    /// True when the set takes anything in write mode.
    pub fn writes(&self) -> bool {
        self.global == Some(Mode::Write) || self.keys.iter().any(|(_, m)| *m == Mode::Write)
    }

    /// The same set, requested on behalf of `owner` (0: nobody).
    pub fn owned_by(mut self, owner: u64) -> Self {
        self.owner = owner;
        self
    }

    fn conflicts_with(&self, other: &LockSet) -> bool {
        match (self.global, other.global) {
            (Some(Mode::Write), _) | (_, Some(Mode::Write)) => return true,
            (Some(Mode::Read), _) => {
                return other.keys.iter().any(|(_, m)| *m == Mode::Write);
            }
            (_, Some(Mode::Read)) => {
                return self.keys.iter().any(|(_, m)| *m == Mode::Write);
            }
            (None, None) => {}
        }
        self.keys.iter().any(|(fa, ma)| {
            other
                .keys
                .iter()
                .any(|(fb, mb)| fa == fb && (*ma == Mode::Write || *mb == Mode::Write))
        })
    }
}

#[derive(Clone, Copy, Default, Debug)]
struct Held {
    readers: u32,
    writer: bool,
    /// Owner of the write lock (0: anonymous).
    owner: u64,
}

struct Waiter {
    set: LockSet,
    signal: Rc<Signal>,
}

/// A one-shot flag with a waker, completed when a lock request is granted.
#[derive(Default)]
pub struct Signal {
    done: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Signal {
    fn fire(&self) {
        self.done.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// Future completing when a [`Signal`] fires.
pub struct Granted(Rc<Signal>);

impl Future for Granted {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.done.get() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The lock state of one shard.
#[derive(Default)]
pub struct LockTable {
    held: HashMap<u64, Held>,
    global_readers: u32,
    global_writer: bool,
    /// Owner of the whole-shard write lock (an EXEC), 0 when anonymous.
    writer_owner: u64,
    /// Re-entrant grants not yet released, per owner.
    reentrant: Vec<(u64, u32)>,
    waiters: VecDeque<Waiter>,
}

impl LockTable {
    /// True when nothing is locked and nobody waits: the fast path.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.held.is_empty()
            && !self.global_writer
            && self.global_readers == 0
            && self.waiters.is_empty()
    }

    /// True when `set` comes from a transaction that already holds all of
    /// it exclusively (its keys, or the whole shard).
    #[inline]
    fn is_reentrant(&self, set: &LockSet) -> bool {
        if set.owner == 0 {
            return false;
        }
        if self.global_writer && set.owner == self.writer_owner {
            return true;
        }
        set.global.is_none()
            && !set.keys.is_empty()
            && set.keys.iter().all(|(fp, _)| {
                self.held
                    .get(fp)
                    .is_some_and(|h| h.writer && h.owner == set.owner)
            })
    }

    fn reentrant_count(&mut self, owner: u64) -> &mut u32 {
        let i = match self.reentrant.iter().position(|(o, _)| *o == owner) {
            Some(i) => i,
            None => {
                self.reentrant.push((owner, 0));
                self.reentrant.len() - 1
            }
        };
        match self.reentrant.get_mut(i) {
            Some((_, n)) => n,
            None => unreachable!("index found or pushed just above"),
        }
    }

    fn free_for(&self, set: &LockSet) -> bool {
        match set.global {
            Some(Mode::Write) => {
                return self.held.is_empty() && !self.global_writer && self.global_readers == 0
            }
            Some(Mode::Read) => {
                return !self.global_writer && !self.held.values().any(|h| h.writer);
            }
            None => {}
        }
        if self.global_writer {
            return false;
        }
        set.keys.iter().all(|(fp, mode)| match self.held.get(fp) {
            None => !(self.global_readers > 0 && *mode == Mode::Write),
            Some(h) => match mode {
                Mode::Read => !h.writer,
                Mode::Write => !h.writer && h.readers == 0 && self.global_readers == 0,
            },
        })
    }

    /// True when `set` could not be granted right now (held locks or an
    /// earlier conflicting waiter).
    pub fn must_wait(&self, set: &LockSet) -> bool {
        if self.is_reentrant(set) {
            return false;
        }
        !self.free_for(set) || self.waiters.iter().any(|w| w.set.conflicts_with(set))
    }

    fn take(&mut self, set: &LockSet) {
        match set.global {
            Some(Mode::Write) => {
                self.global_writer = true;
                self.writer_owner = set.owner;
            }
            Some(Mode::Read) => self.global_readers += 1,
            None => {}
        }
        for (fp, mode) in &set.keys {
            let h = self.held.entry(*fp).or_default();
            match mode {
                Mode::Read => h.readers += 1,
                Mode::Write => {
                    h.writer = true;
                    h.owner = set.owner;
                }
            }
        }
    }

    /// Acquire `set` now if possible. True when acquired.
    pub fn try_acquire(&mut self, set: &LockSet) -> bool {
        if self.is_reentrant(set) {
            *self.reentrant_count(set.owner) += 1;
            return true;
        }
        if self.must_wait(set) {
            return false;
        }
        self.take(set);
        true
    }

    /// Queue a request; the returned future completes once it is granted
    /// (the locks are then held on the waiter's behalf).
    pub fn enqueue(&mut self, set: LockSet) -> Granted {
        let signal = Rc::new(Signal::default());
        self.waiters.push_back(Waiter {
            set,
            signal: signal.clone(),
        });
        Granted(signal)
    }

    /// Release `set` and grant waiters that became free, in FIFO order.
    pub fn release(&mut self, set: &LockSet) {
        if set.owner != 0 && self.is_reentrant(set) {
            let n = self.reentrant_count(set.owner);
            if *n > 0 {
                *n -= 1;
                if *n == 0 {
                    self.reentrant.retain(|(o, _)| *o != set.owner);
                }
                return;
            }
            self.reentrant.retain(|(o, _)| *o != set.owner);
        }
        match set.global {
            Some(Mode::Write) => {
                self.global_writer = false;
                self.writer_owner = 0;
            }
            Some(Mode::Read) => self.global_readers = self.global_readers.saturating_sub(1),
            None => {}
        }
        for (fp, mode) in &set.keys {
            if let Some(h) = self.held.get_mut(fp) {
                match mode {
                    Mode::Read => h.readers = h.readers.saturating_sub(1),
                    Mode::Write => h.writer = false,
                }
                if h.readers == 0 && !h.writer {
                    self.held.remove(fp);
                }
            }
        }
        self.grant_waiters();
    }

    fn grant_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.len() {
            let grantable = match self.waiters.get(i) {
                Some(w) => {
                    self.free_for(&w.set)
                        && !self
                            .waiters
                            .iter()
                            .take(i)
                            .any(|e| e.set.conflicts_with(&w.set))
                }
                None => false,
            };
            if grantable {
                if let Some(w) = self.waiters.remove(i) {
                    self.take(&w.set);
                    w.signal.fire();
                }
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[(&str, Mode)]) -> LockSet {
        let mut s = LockSet::new();
        for (k, m) in keys {
            s.key(0, k.as_bytes(), *m);
        }
        s
    }

    #[test]
    fn readers_share_writers_exclude() {
        let mut t = LockTable::default();
        let r = set(&[("a", Mode::Read)]);
        assert!(t.try_acquire(&r));
        assert!(t.try_acquire(&r));
        let w = set(&[("a", Mode::Write)]);
        assert!(!t.try_acquire(&w));
        assert!(t.try_acquire(&set(&[("b", Mode::Write)])));
        t.release(&r);
        assert!(!t.try_acquire(&w));
        t.release(&r);
        assert!(t.try_acquire(&w));
        assert!(!t.try_acquire(&LockSet::whole_shard(Mode::Write)));
    }

    #[test]
    fn fifo_grants() {
        let mut t = LockTable::default();
        let w = set(&[("a", Mode::Write)]);
        assert!(t.try_acquire(&w));
        let g1 = t.enqueue(set(&[("a", Mode::Read)]));
        // A later reader of an unrelated key is not blocked by the queue...
        assert!(t.try_acquire(&set(&[("z", Mode::Read)])));
        // ...but a later request conflicting with the waiter must queue.
        assert!(t.must_wait(&set(&[("a", Mode::Write)])));
        t.release(&w);
        assert!(g1.0.done.get());
        assert!(!t.is_idle());
    }

    #[test]
    fn exec_owner_reenters() {
        let mut t = LockTable::default();
        let exec = LockSet::whole_shard(Mode::Write).owned_by(7);
        assert!(t.try_acquire(&exec));
        // Its own commands pass; anyone else waits.
        let own = set(&[("a", Mode::Write)]).owned_by(7);
        assert!(!t.must_wait(&own));
        assert!(t.try_acquire(&own));
        assert!(t.try_acquire(&LockSet::whole_shard(Mode::Write).owned_by(7)));
        assert!(t.must_wait(&set(&[("a", Mode::Read)])));
        assert!(t.must_wait(&set(&[("a", Mode::Read)]).owned_by(8)));
        let other = t.enqueue(set(&[("b", Mode::Write)]));
        // Nested releases do not free the EXEC's lock...
        t.release(&LockSet::whole_shard(Mode::Write).owned_by(7));
        t.release(&own);
        assert!(!other.0.done.get());
        // ...its own release does.
        t.release(&exec);
        assert!(other.0.done.get());
    }

    #[test]
    fn exec_owner_reenters_its_keys() {
        let mut t = LockTable::default();
        let exec = set(&[("a", Mode::Write), ("b", Mode::Write)]).owned_by(7);
        assert!(t.try_acquire(&exec));
        // Another EXEC on other keys runs alongside.
        let other_exec = set(&[("c", Mode::Write)]).owned_by(8);
        assert!(t.try_acquire(&other_exec));
        // Its own commands on its keys pass, on other keys they do not re-enter.
        let own = set(&[("a", Mode::Read)]).owned_by(7);
        assert!(!t.must_wait(&own));
        assert!(t.try_acquire(&own));
        assert!(t.must_wait(&set(&[("c", Mode::Read)]).owned_by(7)));
        assert!(t.must_wait(&set(&[("a", Mode::Read)])));
        let waiter = t.enqueue(set(&[("b", Mode::Write)]));
        t.release(&own);
        assert!(!waiter.0.done.get());
        t.release(&exec);
        assert!(waiter.0.done.get());
        t.release(&other_exec);
    }
}
