//! Blocking list pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) across
//! shards.
//!
//! Two sides:
//! - the **owner** of a key keeps, per (db, key), a FIFO of [`Waiter`]s;
//!   when a push makes the list non-empty ([`signal`]), it serves them in
//!   order, popping on their behalf and sending each its [`Delivery`];
//! - the client's **home** shard keeps a slot per blocked client, which the
//!   delivery fills; the command's future ([`wait`]) wakes on it or on the
//!   timeout.
//!
//! A client blocked on keys of several shards is registered on each. Its
//! [`Claim`] — one atomic flag shared by those registrations, the only
//! cross-thread state here, never on a hot path — makes service
//! exactly-once: a shard pops for a waiter only after winning the claim,
//! and the home wins it to time out. A delivery that finds no slot (the
//! client went away meanwhile) is pushed back where it came from, so no
//! element is ever lost. Deliveries to other shards leave through
//! `outbox`, flushed by whoever ran the operation ([`flush`]), because a
//! shard's state is borrowed while it serves.
//!
//! AOF: each pop is logged on the key's shard in its non-blocking form
//! (`LPOP k`, `LMOVE …`; a move across shards as the pop here and the push
//! on the destination's shard). IMPORTANT: the records wait in `aof` until
//! [`flush`], so that a pop served by a push lands after the push's own
//! record, as Redis serves blocked clients after the command that made
//! their key ready; replayed the other way round, the pop would find
//! nothing.
//!
//! This module names glommio (the timeout) like the mesh does.

use super::{owner_of, Shard, ShardId, ShardState};
use crate::keyspace::events::{GENERIC, LIST, ZSET};
use crate::keyspace::{Db, ExpirePolicy, ListLimits, ListVal, Value, ZSetVal};
use ahash::AHashMap;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

/// Exactly-once service of one blocked command.
pub type Claim = Arc<AtomicBool>;

/// Try to take `claim`; true when this caller now owns the service.
pub fn take(claim: &Claim) -> bool {
    claim
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// What serving a waiter does with the list at its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PopOp {
    /// Pop `count` elements from the head (`left`) or the tail: one when
    /// None (BLPOP, BRPOP), up to n with `Some(n)` (BLMPOP).
    Pop { left: bool, count: Option<usize> },
    /// Pop one element and push it onto `dst` (BLMOVE, BRPOPLPUSH).
    Move {
        from_left: bool,
        to_left: bool,
        dst: Bytes,
        /// The command the AOF records it as.
        logged_as: MoveCmd,
    },
    /// Pop `count` members of a sorted set, highest first when `max`: one
    /// when None (BZPOPMIN, BZPOPMAX), up to n with `Some(n)` (BZMPOP);
    /// items alternate member, score text.
    ZPop { max: bool, count: Option<usize> },
}

/// The non-blocking command a served move is logged as (Redis logs
/// BRPOPLPUSH as RPOPLPUSH, BLMOVE as LMOVE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveCmd {
    /// `LMOVE src dst <from> <to>`.
    Lmove,
    /// `RPOPLPUSH src dst`.
    Rpoplpush,
}

impl PopOp {
    /// True when this operation serves from `v`'s type.
    fn fits(&self, v: &Value) -> bool {
        match self {
            PopOp::ZPop { .. } => matches!(v, Value::ZSet(_)),
            _ => matches!(v, Value::List(_)),
        }
    }
}

fn has_elements(v: &Value) -> bool {
    match v {
        Value::List(l) => !l.is_empty(),
        Value::ZSet(z) => !z.is_empty(),
        _ => false,
    }
}

/// A client waiting on a key, as its owner shard sees it.
pub struct Waiter {
    /// Shared with the client's other registrations.
    pub claim: Claim,
    /// The client's home shard.
    pub home: ShardId,
    /// Its slot there.
    pub token: u64,
    /// What to do when served.
    pub op: PopOp,
}

/// What a served client receives.
#[derive(Debug)]
pub struct Delivery {
    /// Database of the key.
    pub db: usize,
    /// The key it was served from.
    pub key: Bytes,
    /// The popped elements (for a move: the one moved).
    pub items: Vec<Vec<u8>>,
    /// What was done.
    pub op: PopOp,
    /// For a move whose destination lives on another shard: the push is
    /// still to be done by the home (false when already done here).
    pub push_pending: bool,
    /// Set when the destination of a move held another type.
    pub wrongtype: bool,
}

#[derive(Default)]
struct Slot {
    delivery: Option<Delivery>,
    waker: Option<Waker>,
    /// The blocked client (CLIENT UNBLOCK finds it by id).
    client: u64,
    /// Set by CLIENT UNBLOCK: true for ERROR, false for TIMEOUT.
    unblocked: Option<bool>,
}

/// Per-shard blocking state (both sides).
#[derive(Default)]
pub struct Blocking {
    me: ShardId,
    shards: usize,
    waiters: AHashMap<(usize, Vec<u8>), VecDeque<Waiter>>,
    slots: HashMap<u64, Slot>,
    by_client: HashMap<u64, u64>,
    next_token: u64,
    outbox: Vec<(ShardId, u64, Delivery)>,
    /// AOF records of pops served (and pushes completing or undoing them)
    /// since the last [`flush`]: database and arguments.
    aof: Vec<(usize, Vec<Vec<u8>>)>,
}

impl Blocking {
    /// Tell the state which shard it belongs to.
    pub fn init(&mut self, me: ShardId, shards: usize) {
        self.me = me;
        self.shards = shards.max(1);
    }

    /// True when deliveries wait for [`flush`] (checked under the caller's
    /// borrow, so the common case costs no second one).
    pub fn has_outbox(&self) -> bool {
        !self.outbox.is_empty() || !self.aof.is_empty()
    }

    /// Clients blocked on this (home) shard (INFO blocked_clients).
    pub fn blocked_clients(&self) -> usize {
        self.slots.len()
    }

    /// Open a slot for `client` about to block here; its token.
    pub fn open(&mut self, client: u64) -> u64 {
        self.next_token = self.next_token.wrapping_add(1);
        let slot = Slot {
            client,
            ..Slot::default()
        };
        self.slots.insert(self.next_token, slot);
        self.by_client.insert(client, self.next_token);
        self.next_token
    }

    /// Close a slot, returning any delivery that arrived.
    pub fn close(&mut self, token: u64) -> Option<Delivery> {
        let slot = self.slots.remove(&token)?;
        if self.by_client.get(&slot.client) == Some(&token) {
            self.by_client.remove(&slot.client);
        }
        slot.delivery
    }

    /// CLIENT UNBLOCK: wake `client` if it is blocked here and not served
    /// yet (`error` picks the UNBLOCKED error over a timeout reply).
    pub fn unblock(&mut self, client: u64, error: bool) -> bool {
        let Some(token) = self.by_client.get(&client) else {
            return false;
        };
        let Some(slot) = self.slots.get_mut(token) else {
            return false;
        };
        if slot.delivery.is_some() || slot.unblocked.is_some() {
            return false;
        }
        slot.unblocked = Some(error);
        if let Some(w) = slot.waker.take() {
            w.wake();
        }
        true
    }

    /// How CLIENT UNBLOCK ended the wait of `token`, if it did.
    pub fn unblocked(&self, token: u64) -> Option<bool> {
        self.slots.get(&token).and_then(|s| s.unblocked)
    }

    /// Queue `w` behind the waiters of `key`.
    pub fn register(&mut self, db: usize, key: &[u8], w: Waiter) {
        self.waiters
            .entry((db, key.to_vec()))
            .or_default()
            .push_back(w);
    }

    /// Drop the registration of `token` from `home` on `key`.
    pub fn unregister(&mut self, db: usize, key: &[u8], home: ShardId, token: u64) {
        let k = (db, key.to_vec());
        if let Some(q) = self.waiters.get_mut(&k) {
            q.retain(|w| !(w.home == home && w.token == token));
            if q.is_empty() {
                self.waiters.remove(&k);
            }
        }
    }

    /// True when some client waits on `key`.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        !self.waiters.is_empty() && self.waiters.contains_key(&(db, key.to_vec()))
    }

    /// Fill the slot of `token` (home side). The delivery comes back when
    /// nobody waits for it any more.
    fn fill(&mut self, token: u64, d: Delivery) -> Result<(), Delivery> {
        match self.slots.get_mut(&token) {
            Some(slot) => {
                slot.delivery = Some(d);
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
                Ok(())
            }
            None => Err(d),
        }
    }
}

fn list_limits(st: &ShardState) -> ListLimits {
    st.config.limits.list
}

/// The keyspace event of a list push at the head (`left`) or the tail.
pub fn push_event(left: bool) -> &'static str {
    if left {
        "lpush"
    } else {
        "rpush"
    }
}

/// The keyspace event of a list pop from the head (`left`) or the tail.
pub fn pop_event(left: bool) -> &'static str {
    if left {
        "lpop"
    } else {
        "rpop"
    }
}

/// The command popping from the head (`left`) or the tail, for AOF records.
pub fn pop_name(left: bool) -> &'static [u8] {
    if left {
        b"LPOP"
    } else {
        b"RPOP"
    }
}

/// The command pushing at the head (`left`) or the tail, for AOF records.
pub fn push_name(left: bool) -> &'static [u8] {
    if left {
        b"LPUSH"
    } else {
        b"RPUSH"
    }
}

/// The command popping the highest (`max`) or lowest members, for AOF records.
pub fn zpop_name(max: bool) -> &'static [u8] {
    if max {
        b"ZPOPMAX"
    } else {
        b"ZPOPMIN"
    }
}

fn side_name(left: bool) -> &'static [u8] {
    if left {
        b"LEFT"
    } else {
        b"RIGHT"
    }
}

/// Queue the AOF record of a served pop on the key's shard, in the
/// non-blocking form Redis propagates (docs/design/aof-propagation.md §2.6):
/// `LPOP k`, `LPOP k <n>` for BLMPOP, `ZPOPMIN k [<n>]`, `LMOVE`/`RPOPLPUSH`
/// when the move's push was done here too, else just the pop (the
/// destination's shard logs the push, [`log_push`]).
fn log_served(
    st: &mut ShardState,
    db: usize,
    key: &[u8],
    op: &PopOp,
    items: &[Vec<u8>],
    pushed_here: bool,
) {
    if !st.aof.on() || items.is_empty() {
        return;
    }
    let count = |n: usize| n.to_string().into_bytes();
    let args: Vec<Vec<u8>> = match op {
        PopOp::Pop { left, count: None } => vec![pop_name(*left).to_vec(), key.to_vec()],
        PopOp::Pop {
            left,
            count: Some(_),
        } => vec![pop_name(*left).to_vec(), key.to_vec(), count(items.len())],
        PopOp::ZPop { max, count: None } => vec![zpop_name(*max).to_vec(), key.to_vec()],
        PopOp::ZPop {
            max,
            count: Some(_),
        } => vec![
            zpop_name(*max).to_vec(),
            key.to_vec(),
            count(items.len() / 2),
        ],
        PopOp::Move { from_left, .. } if !pushed_here => {
            vec![pop_name(*from_left).to_vec(), key.to_vec()]
        }
        PopOp::Move {
            dst,
            logged_as: MoveCmd::Rpoplpush,
            ..
        } => vec![b"RPOPLPUSH".to_vec(), key.to_vec(), dst.to_vec()],
        PopOp::Move {
            from_left,
            to_left,
            dst,
            logged_as: MoveCmd::Lmove,
        } => vec![
            b"LMOVE".to_vec(),
            key.to_vec(),
            dst.to_vec(),
            side_name(*from_left).to_vec(),
            side_name(*to_left).to_vec(),
        ],
    };
    st.blocking.aof.push((db, args));
}

/// Queue the AOF record of a push that no request describes (a move's
/// push on the destination's shard, elements given back):
/// `LPUSH|RPUSH key items…`.
pub fn log_push(st: &mut ShardState, db: usize, key: &[u8], items: &[&[u8]], left: bool) {
    if !st.aof.on() || items.is_empty() {
        return;
    }
    let mut args: Vec<Vec<u8>> = Vec::with_capacity(items.len() + 2);
    args.extend([push_name(left).to_vec(), key.to_vec()]);
    args.extend(items.iter().map(|i| i.to_vec()));
    st.blocking.aof.push((db, args));
}

/// Log the records queued by pops served since the last call (see the
/// module doc). [`flush`] calls it; whoever logs a command's record may
/// call it right after, for the records its command caused.
pub fn log_pending(st: &mut ShardState) {
    if st.blocking.aof.is_empty() {
        return;
    }
    for (db, args) in std::mem::take(&mut st.blocking.aof) {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        st.aof.effect(db, &refs);
    }
}

/// Pop for `op` from the value at `key` (which must fit it and have
/// elements), leaving the key in place even when emptied.
fn pop_raw(db: &mut Db, key: &[u8], op: &PopOp, now: i64, lim: ListLimits) -> Vec<Vec<u8>> {
    match db.write(key, now).map(|e| e.value_mut()) {
        Some(Value::List(l)) => match op {
            PopOp::Pop { left, count } => l.pop(*left, count.unwrap_or(1), lim),
            PopOp::Move { from_left, .. } => l.pop(*from_left, 1, lim),
            PopOp::ZPop { .. } => Vec::new(),
        },
        Some(Value::ZSet(z)) => match op {
            PopOp::ZPop { max, count } => z
                .pop(*max, count.unwrap_or(1))
                .into_iter()
                .flat_map(|(m, s)| {
                    let mut t = Vec::new();
                    resp::numfmt::write_g17(&mut t, s);
                    [m, t]
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// After a pop for `op` at `key`: raise its event, then drop the key and
/// raise `del` if the pop emptied it (Redis's order).
fn popped(db: &mut Db, key: &[u8], op: &PopOp) {
    let event = match op {
        PopOp::Pop { left, .. } => pop_event(*left),
        PopOp::Move { from_left, .. } => pop_event(*from_left),
        PopOp::ZPop { max: true, .. } => "zpopmax",
        PopOp::ZPop { max: false, .. } => "zpopmin",
    };
    let class = if matches!(op, PopOp::ZPop { .. }) {
        ZSET
    } else {
        LIST
    };
    db.notify(class, event, key);
    if db.drop_if_empty(key) {
        db.notify(GENERIC, "del", key);
    }
}

/// The destination of a move held another type: nothing was done.
#[derive(Debug)]
struct DstWrongType;

/// Serve `op` from `key` (which must fit it and have elements): pop, and
/// for a move whose destination lives on this shard push there too, with
/// Redis's events in Redis's order (the push's, then the pop's, then the
/// source's `del`). Returns the items and whether a move's push is still
/// to be done on the destination's shard.
fn serve(
    st: &mut ShardState,
    db: usize,
    key: &[u8],
    op: &PopOp,
    now: i64,
) -> Result<(Vec<Vec<u8>>, bool), DstWrongType> {
    let lim = list_limits(st);
    let here = |dst: &[u8]| owner_of(dst, st.blocking.shards) == st.blocking.me;
    let move_here = match op {
        PopOp::Move { to_left, dst, .. } if here(dst) => Some((*to_left, dst.clone())),
        _ => None,
    };
    let d = st.db(db);
    if let Some((_, dst)) = &move_here {
        if d.get(dst, now)
            .is_some_and(|e| !matches!(e.value(), Value::List(_)))
        {
            return Err(DstWrongType);
        }
    }
    let items = pop_raw(d, key, op, now, lim);
    if let Some((to_left, dst)) = &move_here {
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        push_items(d, dst, &refs, *to_left, now, lim);
        d.notify(LIST, push_event(*to_left), dst);
    }
    popped(d, key, op);
    let push_pending = matches!(op, PopOp::Move { .. }) && move_here.is_none();
    log_served(st, db, key, op, &items, !push_pending);
    Ok((items, push_pending))
}

/// Push `items` one by one at the head or tail of the list at `key`,
/// creating it: the new length, or None (nothing done) when `key` holds
/// another type.
pub fn push_items(
    db: &mut Db,
    key: &[u8],
    items: &[&[u8]],
    left: bool,
    now: i64,
    lim: ListLimits,
) -> Option<usize> {
    if db
        .get(key, now)
        .is_some_and(|e| !matches!(e.value(), Value::List(_)))
    {
        return None;
    }
    match db
        .write_or_insert(key, now, || Value::List(ListVal::default()))
        .value_mut()
    {
        Value::List(l) => {
            l.push(items, left, lim);
            Some(l.len())
        }
        _ => None,
    }
}

/// What [`try_or_register`] found.
#[derive(Debug)]
pub enum Attempt {
    /// Popped at once; for a move, `push_pending` when the destination is
    /// on another shard and the push is left to the caller.
    Popped {
        items: Vec<Vec<u8>>,
        push_pending: bool,
    },
    /// The key holds another type.
    WrongType,
    /// Nothing there: registered as a waiter.
    Registered,
    /// Another shard already served this client.
    Claimed,
}

/// One step of a blocking command on the key's owner: pop now if the list
/// has elements (winning the claim first), else queue as a waiter.
pub fn try_or_register(st: &mut ShardState, db: usize, key: &[u8], w: Waiter, now: i64) -> Attempt {
    let d = st.db(db);
    match d.get(key, now).map(|e| e.value()) {
        Some(v) if !w.op.fits(v) => Attempt::WrongType,
        Some(v) if has_elements(v) => {
            if !take(&w.claim) {
                return Attempt::Claimed;
            }
            match serve(st, db, key, &w.op, now) {
                Ok((items, push_pending)) => Attempt::Popped {
                    items,
                    push_pending,
                },
                Err(DstWrongType) => Attempt::WrongType,
            }
        }
        _ => {
            if w.claim.load(Ordering::Acquire) {
                return Attempt::Claimed;
            }
            st.blocking.register(db, key, w);
            Attempt::Registered
        }
    }
}

/// The longest waiter on `key` whose command fits the key's type, while
/// the key has elements (a BLPOP client stays blocked while the key is a
/// sorted set).
fn next_waiter(st: &mut ShardState, db: usize, key: &[u8], now: i64) -> Option<Waiter> {
    let v = st
        .dbs
        .get_mut(db)?
        .get(key, now)
        .map(|e| e.value())
        .filter(|v| has_elements(v))?;
    let q = st.blocking.waiters.get_mut(&(db, key.to_vec()))?;
    let i = q.iter().position(|w| w.op.fits(v))?;
    q.remove(i)
}

/// A push made `key` non-empty: serve its waiters, first come first
/// served, while it has elements (moves may make other keys ready).
pub fn signal(st: &mut ShardState, db: usize, key: &[u8], now: i64) {
    if !st.blocking.has_waiters(db, key) {
        return;
    }
    let mut ready: Vec<Vec<u8>> = vec![key.to_vec()];
    while let Some(k) = ready.pop() {
        while let Some(w) = next_waiter(st, db, &k, now) {
            if !take(&w.claim) {
                continue;
            }
            let mut delivery = Delivery {
                db,
                key: Bytes::from(k.clone()),
                items: Vec::new(),
                op: w.op.clone(),
                push_pending: false,
                wrongtype: false,
            };
            match serve(st, db, &k, &w.op, now) {
                Err(DstWrongType) => delivery.wrongtype = true,
                Ok((items, push_pending)) => {
                    delivery.items = items;
                    delivery.push_pending = push_pending;
                    if let PopOp::Move { dst, .. } = &w.op {
                        if !push_pending && st.blocking.has_waiters(db, dst) {
                            ready.push(dst.to_vec());
                        }
                    }
                }
            }
            if w.home == st.blocking.me {
                if let Err(d) = st.blocking.fill(w.token, delivery) {
                    restore_here(st, d, now);
                }
            } else {
                st.blocking.outbox.push((w.home, w.token, delivery));
            }
        }
        let kk = (db, k);
        if st.blocking.waiters.get(&kk).is_some_and(VecDeque::is_empty) {
            st.blocking.waiters.remove(&kk);
        }
    }
}

/// Put an undeliverable delivery's elements back (on the shard owning its
/// key, which is this one), or finish its move.
fn restore_here(st: &mut ShardState, d: Delivery, now: i64) {
    // The elements come back as a push would bring them, events included
    // (Redis never hands a pop back, but a subscriber saw the pop).
    let side = match &d.op {
        PopOp::Pop { left, .. } => Some(*left),
        PopOp::Move { from_left, .. } if d.push_pending => Some(*from_left),
        _ => None,
    };
    match &d.op {
        PopOp::Pop { .. } | PopOp::Move { .. } => {
            let Some(side) = side else { return };
            let lim = list_limits(st);
            let items: Vec<&[u8]> = d.items.iter().rev().map(Vec::as_slice).collect();
            let db = st.db(d.db);
            if push_items(db, &d.key, &items, side, now, lim).is_some() {
                db.notify(LIST, push_event(side), &d.key);
                log_push(st, d.db, &d.key, &items, side);
            }
            signal(st, d.db, &d.key, now);
        }
        PopOp::ZPop { .. } => {
            let zlim = st.config.limits.zset;
            let db = st.db(d.db);
            if db.get(&d.key, now).is_none() {
                let z = Value::ZSet(ZSetVal::create(0, 0, zlim));
                db.set(&d.key, z, ExpirePolicy::Clear, now);
            }
            if let Some(Value::ZSet(z)) = db.write(&d.key, now).map(|e| e.value_mut()) {
                for pair in d.items.chunks_exact(2) {
                    if let [m, s] = pair {
                        let score = std::str::from_utf8(s).ok().and_then(|t| t.parse().ok());
                        z.insert(m, score.unwrap_or(0.0), zlim);
                    }
                }
            }
            if !db.drop_if_empty(&d.key) {
                db.notify(ZSET, "zadd", &d.key);
                if st.aof.on() && !d.items.is_empty() {
                    // Items alternate member, score text: ZADD wants score first.
                    let mut args = vec![b"ZADD".to_vec(), d.key.to_vec()];
                    for pair in d.items.chunks_exact(2) {
                        if let [m, s] = pair {
                            args.extend([s.clone(), m.clone()]);
                        }
                    }
                    st.blocking.aof.push((d.db, args));
                }
            }
            signal(st, d.db, &d.key, now);
        }
    }
}

/// A delivery arrives at its home shard.
fn deliver(shard: &Rc<Shard>, token: u64, d: Delivery) {
    let back = shard.state.borrow_mut().blocking.fill(token, d);
    if let Err(d) = back {
        give_back(shard, d);
    }
}

/// Log the AOF records of pops served ([`log_pending`]), then send the
/// deliveries `signal` queued for other shards.
pub fn flush(shard: &Rc<Shard>) {
    let out = {
        let mut st = shard.state.borrow_mut();
        log_pending(&mut st);
        if st.blocking.outbox.is_empty() {
            return;
        }
        std::mem::take(&mut st.blocking.outbox)
    };
    for (home, token, d) in out {
        shard.post_now(home, Box::new(move |s| deliver(s, token, d)));
    }
}

struct SlotWait<'a> {
    shard: &'a Rc<Shard>,
    token: u64,
}

impl std::future::Future for SlotWait<'_> {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let mut st = self.shard.state.borrow_mut();
        match st.blocking.slots.get_mut(&self.token) {
            Some(slot) if slot.delivery.is_none() && slot.unblocked.is_none() => {
                slot.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
            _ => std::task::Poll::Ready(()),
        }
    }
}

/// Wait until the slot of `token` is filled or `timeout` passes (None:
/// forever). Returns whether a delivery is there.
pub async fn wait(shard: &Rc<Shard>, token: u64, timeout: Option<Duration>) -> bool {
    let filled = SlotWait { shard, token };
    match timeout {
        None => filled.await,
        Some(t) => {
            futures_lite::future::or(filled, async {
                glommio::timer::sleep(t).await;
            })
            .await
        }
    }
    shard
        .state
        .borrow()
        .blocking
        .slots
        .get(&token)
        .is_some_and(|s| s.delivery.is_some())
}

/// Remove `token`'s registrations from the shards in `keys`, fire and forget.
pub fn unregister_all(shard: &Rc<Shard>, token: u64, db: usize, keys: &[Bytes]) {
    let home = shard.id;
    for k in keys {
        let owner = owner_of(k, shard.count);
        let k = k.clone();
        let f = move |s: &Rc<Shard>| {
            s.state
                .borrow_mut()
                .blocking
                .unregister(db, &k, home, token)
        };
        if owner == home {
            f(shard);
        } else {
            shard.post_now(owner, Box::new(move |s| f(s)));
        }
    }
}

/// Hand a delivery that will never be replied to back to its source.
pub fn give_back(shard: &Rc<Shard>, d: Delivery) {
    let owner = owner_of(&d.key, shard.count);
    let f = move |s: &Rc<Shard>| {
        let now = crate::clock::now_ms();
        restore_here(&mut s.state.borrow_mut(), d, now);
        flush(s);
    };
    if owner == shard.id {
        f(shard);
    } else {
        shard.post_now(owner, Box::new(f));
    }
}

/// Store a list value fresh (used by tests of the registry).
#[cfg(test)]
fn put_list(db: &mut Db, key: &[u8], items: &[&[u8]], now: i64) {
    let mut l = ListVal::default();
    l.push(items, false, ListLimits { fill: -2 });
    db.set(key, Value::List(l), ExpirePolicy::Clear, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn waiter(claim: &Claim, token: u64) -> Waiter {
        Waiter {
            claim: claim.clone(),
            home: 0,
            token,
            op: PopOp::Pop {
                left: true,
                count: None,
            },
        }
    }

    #[test]
    fn waiters_are_served_in_order_and_exactly_once() {
        let mut st = ShardState::new(Arc::new(Config::default()), 1);
        st.blocking.init(0, 1);
        let (a, b) = (Claim::default(), Claim::default());
        let ta = st.blocking.open(1);
        let tb = st.blocking.open(2);
        assert!(matches!(
            try_or_register(&mut st, 0, b"q", waiter(&a, ta), 0),
            Attempt::Registered
        ));
        assert!(matches!(
            try_or_register(&mut st, 0, b"q", waiter(&b, tb), 0),
            Attempt::Registered
        ));
        // The same client registered on a second key: served once only.
        assert!(matches!(
            try_or_register(&mut st, 0, b"q2", waiter(&a, ta), 0),
            Attempt::Registered
        ));
        put_list(st.db(0), b"q", &[b"1", b"2", b"3"], 0);
        signal(&mut st, 0, b"q", 0);
        assert_eq!(
            st.blocking.close(ta).map(|d| d.items),
            Some(vec![b"1".to_vec()])
        );
        assert_eq!(
            st.blocking.close(tb).map(|d| d.items),
            Some(vec![b"2".to_vec()])
        );
        put_list(st.db(0), b"q2", &[b"x"], 0);
        signal(&mut st, 0, b"q2", 0);
        let left = match st.db(0).get(b"q2", 0).map(|e| e.value()) {
            Some(Value::List(l)) => l.len(),
            _ => 0,
        };
        assert_eq!(left, 1, "a claimed waiter is skipped, nothing popped");
        // A delivery nobody waits for goes back to the list.
        let tc = st.blocking.open(3);
        let c = Claim::default();
        assert!(matches!(
            try_or_register(&mut st, 0, b"q3", waiter(&c, tc), 0),
            Attempt::Registered
        ));
        st.blocking.close(tc);
        put_list(st.db(0), b"q3", &[b"a", b"b"], 0);
        signal(&mut st, 0, b"q3", 0);
        let l = match st.db(0).get(b"q3", 0).map(|e| e.value()) {
            Some(Value::List(l)) => l.to_vec(),
            _ => Vec::new(),
        };
        assert_eq!(l, vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
