//! One shard's feed into its append-only log: which records each write
//! appends, in Redis's AOF format, and the group-commit bookkeeping that
//! decides when a reply may leave.
//!
//! Records are RESP arrays exactly as a client would send them. A command
//! is logged as it came in unless it asked otherwise while it ran
//! ([`Feed::replace`] for a rewritten form such as `SET k v PXAT <ms>`,
//! [`Feed::suppress`] for nothing). `SELECT` is written whenever the
//! database differs from the file's current one.
//!
//! Units: the records of one EXEC, script or multi-shard command collect in
//! a unit keyed by its lock owner ([`Feed::target`]) and are appended in one
//! piece when it ends — bare when it holds one record, wrapped in
//! `MULTI`/`EXEC` when several, and preceded by a `#TX:<id>:<shards>`
//! annotation when other shards hold parts of the same transaction, so that
//! recovery applies it whole or not at all. Effects that no command caused
//! (served blocked pops, active expiry) wait while any unit is open, so
//! they never land before the records they follow.
//!
//! Offsets: `lsn` counts every byte appended since start, `durable` the
//! bytes an fdatasync has covered. A reply that depends on a record ending
//! at `lsn` may leave once [`Feed::ackable`] reaches it; with a multi-shard
//! transaction in flight that is held at its start until every shard
//! holding a part has it on disk ([`Feed::clear_tx`]).

use crate::keyspace::Db;
use resp::{Proto, ReplyWriter, Request};
use std::collections::{HashMap, HashSet, VecDeque};
use std::task::Waker;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fsync {
    /// fdatasync before acknowledging (group commit).
    Always,
    /// fdatasync once a second.
    #[default]
    Everysec,
    /// Never fdatasync; the kernel decides.
    No,
}

impl Fsync {
    /// Parse the directive's value.
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::Everysec,
        }
    }

    /// The directive's value.
    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// What the running command asked to be logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Capture {
    /// Nothing.
    Suppressed,
    /// The records in `replaced`.
    Replaced,
}

#[derive(Default)]
struct Unit {
    buf: Vec<u8>,
    records: usize,
    db: Option<usize>,
    /// Bytes of the leading SELECT (skipped when the file is in that db already).
    lead: usize,
    lead_db: Option<usize>,
}

/// A write or fsync failed: writes are refused until one succeeds again.
#[derive(Clone, Debug)]
pub struct WriteError(pub String);

/// One shard's AOF feed (see the module doc). Inert unless [`Feed::on`].
#[derive(Default)]
pub struct Feed {
    on: bool,
    fsync: Fsync,
    /// Bytes appended, not yet taken by the writer.
    buf: Vec<u8>,
    /// Bytes taken by the writer so far (offset of `buf`'s start).
    taken: u64,
    durable: u64,
    selected: Option<usize>,
    capture: Option<Capture>,
    replaced: Vec<(usize, Vec<u8>)>,
    /// Unit key the current command's records go to (0: straight to the log).
    pub target: u64,
    units: HashMap<u64, Unit>,
    deferred: Vec<(usize, Vec<u8>)>,
    /// Multi-shard transactions (start offset, id) whose parts elsewhere
    /// may not be durable yet (`appendfsync always` only).
    open_tx: VecDeque<(u64, u64)>,
    /// Ids in `open_tx` already cleared, behind one that is not: a
    /// pipeline keeps thousands open, so a clear must not scan them.
    cleared_tx: HashSet<u64>,
    waiters: Vec<Waker>,
    writer: Option<Waker>,
    /// The last write or fsync error, while it lasts (MISCONF).
    pub error: Option<WriteError>,
    /// Times the writer found a failure (INFO aof_last_write_status & co).
    pub write_errors: u64,
    /// A switch to a new incr file in progress (a rewrite's cut).
    pub rotate: Option<Rotate>,
    /// This shard's writer task runs.
    pub writer_started: bool,
    /// An fsync failed: nothing becomes durable any more (see `poison`).
    poisoned: bool,
    /// A multi-shard transaction's part was appended since the writer
    /// last took the log (its coordinator waits on this shard's sync).
    tx_parts: bool,
}

/// A switch to a new incr file: the bytes before the cut go to the old
/// file, which is then synced; the new file is written once the manifest
/// naming it is on disk (`go`).
pub struct Rotate {
    /// Bytes before the cut not yet written.
    pub pre: Vec<u8>,
    /// Offset of the cut.
    pub at: u64,
    /// The new incr file.
    pub next: std::path::PathBuf,
    /// The old file has everything before the cut, synced.
    pub old_done: bool,
    /// The manifest names the new file: write there.
    pub go: bool,
}

/// RESP-encode one command.
pub fn encode<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    let mut w = ReplyWriter::new(out, Proto::Resp2);
    w.array(args.len());
    for a in args {
        w.bulk(a);
    }
}

fn encode_select(out: &mut Vec<u8>, db: usize) {
    let n = db.to_string();
    encode(out, [&b"SELECT"[..], n.as_bytes()].into_iter());
}

impl Feed {
    /// True when this shard logs its writes.
    #[inline]
    pub fn on(&self) -> bool {
        self.on
    }

    /// Start (or stop) logging; `lsn` continues from where it was.
    pub fn enable(&mut self, on: bool, fsync: Fsync) {
        self.on = on;
        self.fsync = fsync;
        if !on {
            self.buf.clear();
            self.units.clear();
            self.deferred.clear();
            self.open_tx.clear();
            self.cleared_tx.clear();
            self.durable = self.lsn();
            self.wake_waiters();
        }
    }

    /// The fsync policy in force.
    pub fn fsync(&self) -> Fsync {
        self.fsync
    }

    /// Change the fsync policy (CONFIG SET appendfsync).
    pub fn set_fsync(&mut self, fsync: Fsync) {
        self.fsync = fsync;
        if fsync != Fsync::Always {
            self.open_tx.clear();
            self.cleared_tx.clear();
            self.wake_waiters();
        }
    }

    /// Offset of the end of everything appended.
    pub fn lsn(&self) -> u64 {
        self.taken + self.buf.len() as u64
    }

    /// Whether the log is synced up to `lsn` (WAITAOF), or off.
    pub fn synced_to(&self, lsn: u64) -> bool {
        !self.on || self.durable >= lsn
    }

    /// Offset up to which everything is on disk.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// Offset up to which replies may be acknowledged.
    pub fn ackable(&self) -> u64 {
        if self.fsync != Fsync::Always || !self.on {
            return u64::MAX;
        }
        match self.open_tx.front() {
            Some(&(start, _)) => start.min(self.durable),
            None => self.durable,
        }
    }

    /// True when acknowledgements wait for the disk.
    pub fn acks_wait(&self) -> bool {
        self.on && self.fsync == Fsync::Always
    }

    /// Log `args` instead of the running command's request; call once per
    /// record when the command logs several.
    pub fn replace(&mut self, db: usize, args: &[&[u8]]) {
        if !self.on {
            return;
        }
        let mut rec = Vec::new();
        encode(&mut rec, args.iter().copied());
        if self.capture != Some(Capture::Replaced) {
            self.replaced.clear();
        }
        self.capture = Some(Capture::Replaced);
        self.replaced.push((db, rec));
    }

    /// Log nothing for the running command (it changed nothing).
    pub fn suppress(&mut self) {
        if self.on && self.capture.is_none() {
            self.capture = Some(Capture::Suppressed);
        }
    }

    /// Log `args` as an effect no command's request describes (a blocked
    /// client served, a key expired): into the current unit when a command
    /// runs for one, else at once, or after the open units end.
    pub fn effect(&mut self, db: usize, args: &[&[u8]]) {
        if !self.on {
            return;
        }
        let mut rec = Vec::new();
        encode(&mut rec, args.iter().copied());
        if self.target != 0 {
            self.put(db, &rec);
        } else if self.units.is_empty() {
            self.append(db, &rec);
        } else {
            self.deferred.push((db, rec));
        }
    }

    /// Log the running command's outcome (called once it ran): keys that
    /// expired on the way, then the request as it came in (`req`, given for
    /// write commands; nothing when the reply is an error), its replacement,
    /// or nothing.
    pub fn finish_command(
        &mut self,
        dbs: &mut [Db],
        db: usize,
        req: Option<&Request>,
        reply: &[u8],
    ) {
        if !self.on {
            return;
        }
        self.log_expired(dbs);
        match self.capture.take() {
            Some(Capture::Suppressed) => {}
            Some(Capture::Replaced) => {
                let recs = std::mem::take(&mut self.replaced);
                for (d, rec) in &recs {
                    self.put(*d, rec);
                }
                self.replaced = recs;
                self.replaced.clear();
            }
            None => {
                if let Some(req) = req {
                    if reply.first() != Some(&b'-') {
                        self.put_request(db, req);
                    }
                }
            }
        }
    }

    /// Log the keys lazy or active expiry removed since the last call, as
    /// `DEL` records (as Redis propagates expiry).
    pub fn log_expired(&mut self, dbs: &mut [Db]) {
        for (i, d) in dbs.iter_mut().enumerate() {
            let Some(keys) = d.expired_log.as_mut() else {
                continue;
            };
            if keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(keys);
            for k in &keys {
                self.effect(i, &[b"DEL", k]);
            }
        }
    }

    /// Forget what the running command asked (it is being discarded).
    pub fn reset_capture(&mut self) {
        self.capture = None;
        self.replaced.clear();
    }

    fn put_request(&mut self, db: usize, req: &Request) {
        if self.target != 0 {
            let unit = self.units.entry(self.target).or_default();
            unit.select(db);
            encode(&mut unit.buf, req.iter());
            unit.records += 1;
            return;
        }
        self.select(db);
        encode(&mut self.buf, req.iter());
        self.appended();
    }

    /// Log an encoded record into the current target.
    pub fn put(&mut self, db: usize, rec: &[u8]) {
        if self.target != 0 {
            let unit = self.units.entry(self.target).or_default();
            unit.select(db);
            unit.buf.extend_from_slice(rec);
            unit.records += 1;
        } else {
            self.append(db, rec);
        }
    }

    fn select(&mut self, db: usize) {
        if self.selected != Some(db) {
            encode_select(&mut self.buf, db);
            self.selected = Some(db);
        }
    }

    fn append(&mut self, db: usize, rec: &[u8]) {
        self.select(db);
        self.buf.extend_from_slice(rec);
        self.appended();
    }

    fn appended(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }

    /// Records in the unit `key` (0 when it has none).
    pub fn unit_records(&self, key: u64) -> usize {
        self.units.get(&key).map_or(0, |u| u.records)
    }

    /// Append unit `key` to the log: bare with one record, in MULTI/EXEC
    /// with several, as part `tx` = (id, shards, held) of a multi-shard
    /// transaction when given. `held`: its coordinator settles it (it
    /// decided so once, at the start, from its own fsync policy), so
    /// acknowledgements behind it wait for [`Feed::clear_tx`]; a part no
    /// coordinator will clear is never held. Returns the block's (start,
    /// end) offsets, or None when the unit was empty.
    pub fn commit_unit(
        &mut self,
        key: u64,
        tx: Option<(u64, &[usize], bool)>,
    ) -> Option<(u64, u64)> {
        let unit = self.units.remove(&key);
        let r = match (unit, tx) {
            (Some(u), _) if u.records > 0 => Some(self.append_unit(u, tx)),
            // A multi-shard transaction's part is written even when empty:
            // the other parts name this shard, and recovery needs them all.
            (u, Some(_)) => Some(self.append_unit(u.unwrap_or_default(), tx)),
            _ => None,
        };
        if self.units.is_empty() && !self.deferred.is_empty() {
            for (db, rec) in std::mem::take(&mut self.deferred) {
                self.append(db, &rec);
            }
        }
        r
    }

    fn append_unit(&mut self, u: Unit, tx: Option<(u64, &[usize], bool)>) -> (u64, u64) {
        let start = self.lsn();
        let wrap = tx.is_some() || u.records > 1;
        if let Some((id, shards, _)) = tx {
            let list: Vec<String> = shards.iter().map(usize::to_string).collect();
            self.buf
                .extend_from_slice(format!("#TX:{id}:{}\r\n", list.join(",")).as_bytes());
        }
        if wrap {
            encode(&mut self.buf, [&b"MULTI"[..]].into_iter());
        }
        let skip = if u.lead > 0 && self.selected == u.db_at_lead() {
            u.lead
        } else {
            0
        };
        self.buf.extend_from_slice(u.buf.get(skip..).unwrap_or(&[]));
        if u.db.is_some() {
            self.selected = u.db;
        }
        if wrap {
            encode(&mut self.buf, [&b"EXEC"[..]].into_iter());
        }
        self.appended();
        let end = self.lsn();
        if let Some((id, _, held)) = tx {
            self.tx_parts = true;
            if held && self.fsync == Fsync::Always {
                self.open_tx.push_back((start, id));
            }
        }
        (start, end)
    }

    /// Transaction `id` is on disk on every shard holding a part (a
    /// transaction has one part per shard at most, so one clear each).
    pub fn clear_tx(&mut self, id: u64) {
        match self.open_tx.front() {
            Some(&(_, front)) if front == id => {}
            Some(_) => {
                self.cleared_tx.insert(id);
                return;
            }
            None => return,
        }
        self.open_tx.pop_front();
        while let Some(&(_, next)) = self.open_tx.front() {
            if !self.cleared_tx.remove(&next) {
                break;
            }
            self.open_tx.pop_front();
        }
        if self.open_tx.is_empty() {
            // Only ids that were never held (the policy changed meanwhile).
            self.cleared_tx.clear();
        }
        self.wake_waiters();
    }

    /// Cut the log here for a switch to `next` (see [`Rotate`]); returns
    /// the cut's offset. Records after it select their database again.
    pub fn cut(&mut self, next: std::path::PathBuf) -> u64 {
        let pre = std::mem::take(&mut self.buf);
        self.taken += pre.len() as u64;
        self.selected = None;
        self.rotate = Some(Rotate {
            pre,
            at: self.taken,
            next,
            old_done: false,
            go: false,
        });
        self.wake_writer();
        self.taken
    }

    // ---- the writer's side ----

    /// Take everything appended so far: (bytes, offset of their end).
    pub fn take(&mut self) -> (Vec<u8>, u64) {
        let bytes = std::mem::take(&mut self.buf);
        self.taken += bytes.len() as u64;
        (bytes, self.taken)
    }

    /// Whether a multi-shard transaction's part was appended since the
    /// last call (the writer asks with each [`Feed::take`]).
    pub fn take_tx_parts(&mut self) -> bool {
        std::mem::take(&mut self.tx_parts)
    }

    /// Give back bytes the writer could not write (they go first again).
    pub fn untake(&mut self, mut bytes: Vec<u8>) {
        self.taken -= bytes.len() as u64;
        bytes.extend_from_slice(&self.buf);
        self.buf = bytes;
    }

    /// True when bytes wait for the writer.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Register the writer's waker (woken when bytes are appended).
    pub fn park_writer(&mut self, w: &Waker) {
        self.writer = Some(w.clone());
    }

    /// Wake the writer (a rotation or a shutdown asks for it).
    pub fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }

    /// An fdatasync failed: the pages it should have written may be lost,
    /// so no later one vouches for them. The error stays (writes refused)
    /// and nothing more is acknowledged until a restart.
    pub fn poison(&mut self) {
        self.poisoned = true;
    }

    /// True once an fsync failed.
    pub fn poisoned(&self) -> bool {
        self.poisoned
    }

    /// Everything up to `lsn` is on disk.
    pub fn set_durable(&mut self, lsn: u64) {
        if lsn > self.durable && !self.poisoned {
            self.durable = lsn;
            self.wake_waiters();
        }
    }

    /// A new file starts: the next record selects its database again.
    pub fn new_file(&mut self) {
        self.selected = None;
    }

    /// Record a write failure (None: writing works again).
    pub fn set_error(&mut self, e: Option<WriteError>) {
        if e.is_none() && self.poisoned {
            return;
        }
        if e.is_some() {
            self.write_errors += 1;
        }
        self.error = e;
        self.wake_waiters();
    }

    /// Register a waiter for [`Feed::ackable`] / [`Feed::durable`] changes.
    pub fn park(&mut self, w: &Waker) {
        self.waiters.push(w.clone());
    }

    fn wake_waiters(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }
}

impl Unit {
    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            let before = self.buf.len();
            encode_select(&mut self.buf, db);
            if before == 0 {
                self.lead = self.buf.len();
                self.lead_db = Some(db);
            }
            self.db = Some(db);
        }
    }

    fn db_at_lead(&self) -> Option<usize> {
        self.lead_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Append a one-record part of transaction `id`, held or not; returns
    /// its start.
    fn part_of(f: &mut Feed, id: u64, held: bool) -> u64 {
        f.target = id;
        f.put(0, b"*1\r\n$4\r\nPING\r\n");
        f.target = 0;
        let (start, _) = f.commit_unit(id, Some((id, &[0, 1], held))).unwrap();
        start
    }

    fn part(f: &mut Feed, id: u64) -> u64 {
        part_of(f, id, true)
    }

    /// Transactions clear in any order; acknowledgements stay held at the
    /// start of the oldest one not cleared.
    #[test]
    fn transactions_clear_in_any_order() {
        let mut f = Feed::default();
        f.enable(true, Fsync::Always);
        let starts: Vec<u64> = (1..=4).map(|id| part(&mut f, id)).collect();
        f.set_durable(f.lsn());
        assert_eq!(f.ackable(), starts[0]);
        f.clear_tx(3);
        f.clear_tx(2);
        assert_eq!(f.ackable(), starts[0]);
        f.clear_tx(1);
        assert_eq!(f.ackable(), starts[3]);
        f.clear_tx(4);
        assert_eq!(f.ackable(), f.lsn());
        // Nothing held any more: a stray clear leaves nothing behind.
        f.clear_tx(9);
        assert!(f.cleared_tx.is_empty());
        let s5 = part(&mut f, 5);
        f.set_durable(f.lsn());
        assert_eq!(f.ackable(), s5);
        f.clear_tx(5);
        assert_eq!(f.ackable(), f.lsn());
    }

    /// A part no coordinator will clear (it started under another fsync
    /// policy) holds nothing back.
    #[test]
    fn parts_not_held_hold_nothing_back() {
        let mut f = Feed::default();
        f.enable(true, Fsync::Always);
        part_of(&mut f, 7, false);
        f.set_durable(f.lsn());
        assert_eq!(f.ackable(), f.lsn());
    }
}
