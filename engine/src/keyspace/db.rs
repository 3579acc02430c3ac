//! One logical database of one shard: keys, values, expiry times.
//!
//! Expiry is stored inline in each entry (`expire_at`, Unix ms, 0 = none),
//! and the access clock inside the key ([`super::key`] explains that
//! layout), so a key, its value's header, its TTL and its idle time are one
//! 64-byte allocation. Expired keys disappear lazily
//! when touched ([`Db::read`], [`Db::write`], ...) and actively through
//! [`Db::active_expire`], an incremental sweep of the table driven by the
//! shard's background task. Both paths count into [`DbStats::expired`].

use super::dict::{Dict, Keyed};
use super::events::{self, Events};
use super::key::{Key, LruClock};
use super::value::Value;
use super::watch::Watches;

/// A key, its value and its metadata (56 bytes: see [`super::key`]).
#[derive(Debug)]
pub struct Entry {
    /// The key and its last access (OBJECT IDLETIME).
    pub(crate) key: Key,
    pub(crate) value: Value,
    /// Absolute expiry time in Unix milliseconds; 0 means no expiry.
    pub(crate) expire_at: i64,
}

impl Keyed for Entry {
    #[inline]
    fn key(&self) -> &[u8] {
        self.key.as_slice()
    }
}

impl Entry {
    /// A new entry for `key` (expiry in Unix ms, 0 for none) last accessed at `clock`.
    pub fn new(key: &[u8], value: Value, expire_at: i64, clock: LruClock) -> Entry {
        Entry {
            key: Key::new(key, clock),
            value,
            expire_at,
        }
    }

    /// The key.
    pub fn key_bytes(&self) -> &[u8] {
        self.key.as_slice()
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value, for modification.
    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    /// Expiry time in Unix ms, if any.
    pub fn expire_at(&self) -> Option<i64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    /// True when the key has expired at `now` (Unix ms).
    #[inline]
    pub fn is_expired(&self, now: i64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }

    /// Seconds since the last access (Redis's `estimateObjectIdleTime`).
    pub fn idle_secs(&self, now_ms: i64) -> u64 {
        self.key.clock().idle_secs(now_ms)
    }

    /// The last access as Redis's 24-bit LRU clock (DEBUG OBJECT).
    pub fn lru_clock(&self) -> u32 {
        self.key.clock().get()
    }

    /// Record an access at `now_ms`.
    #[inline]
    fn touch(&mut self, now_ms: i64) {
        self.key.set_clock(LruClock::at(now_ms));
    }
}

/// What to do with an existing TTL when a key is overwritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpirePolicy {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the current TTL (SET ... KEEPTTL).
    Keep,
    /// Set this absolute expiry (Unix ms).
    At(i64),
}

/// Counters a database accumulates; the shard folds them into INFO.
#[derive(Clone, Copy, Debug, Default)]
pub struct DbStats {
    /// Keys removed because their TTL passed (lazy and active).
    pub expired: u64,
    /// Read lookups that found a key.
    pub hits: u64,
    /// Read lookups that found nothing.
    pub misses: u64,
}

/// A logical database (SELECT index) on one shard.
#[derive(Default)]
pub struct Db {
    pub(super) dict: Dict<Entry>,
    volatile: usize,
    expire_cursor: u64,
    /// Running counters.
    pub stats: DbStats,
    /// Sum of remaining TTLs (ms) seen by the last full expiry sweep, and how many.
    ttl_sample: (i128, u64),
    avg_ttl: i64,
    /// WATCHed keys (MULTI/EXEC); every change below touches them.
    pub watches: Watches,
    /// Keyspace notifications raised here, waiting to be published.
    pub events: Events,
    /// Keys removed by expiry since the AOF last looked (Some while the
    /// AOF is on: it logs them as DEL).
    pub expired_log: Option<Vec<Vec<u8>>>,
    /// Loading an AOF: keys never expire (the log says when they went).
    pub frozen: bool,
    /// Keys changed while a multi-shard part runs with the AOF on (it then
    /// logs their new state).
    pub touched: Option<Touched>,
    /// The image a running BGSAVE is writing ([`super::snap`]).
    pub(super) snap: Option<Box<super::snap::Snap>>,
}

/// What a multi-shard part changed in one database.
#[derive(Debug, Default)]
pub struct Touched {
    /// Keys written or removed (repeats possible).
    pub keys: Vec<Vec<u8>>,
    /// The whole database was emptied first.
    pub flushed: bool,
}

impl Db {
    /// Number of keys (including expired ones not reclaimed yet, as Redis counts).
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// True with no keys.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Bookkeeping bytes (`used_memory_overhead`): the table, and each
    /// key's expiry time and access clock.
    pub fn overhead_bytes(&self) -> usize {
        let per_key = std::mem::size_of::<i64>() + super::key::CLOCK_BYTES;
        self.dict.overhead_bytes() + self.dict.len() * per_key
    }

    /// Keys with a TTL.
    pub fn volatile_count(&self) -> usize {
        self.volatile
    }

    /// Average TTL in ms of volatile keys, estimated by the expiry sweep.
    pub fn avg_ttl(&self) -> i64 {
        self.avg_ttl
    }

    /// The entry, expired or not, without touching it.
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.dict.get(key)
    }

    /// Remove `key` if it has expired. True when it was removed.
    #[inline]
    pub fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        let expired = !self.frozen && self.dict.get(key).is_some_and(|e| e.is_expired(now));
        if expired {
            self.remove(key);
            self.stats.expired += 1;
            self.events.raise(events::EXPIRED, "expired", key);
            if let Some(log) = self.expired_log.as_mut() {
                log.push(key.to_vec());
            }
        }
        expired
    }

    /// Look a key up for reading: expires it if due, counts a hit or a miss,
    /// and (when `touch`) records the access time.
    pub fn read(&mut self, key: &[u8], now: i64, touch: bool) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        match self.dict.get_mut(key) {
            Some(e) => {
                self.stats.hits += 1;
                if touch {
                    e.touch(now);
                }
                Some(e)
            }
            None => {
                self.stats.misses += 1;
                self.events.raise(events::KEY_MISS, "keymiss", key);
                None
            }
        }
    }

    /// Look a key up for writing: expires it if due and records the access time.
    pub fn write(&mut self, key: &[u8], now: i64) -> Option<&mut Entry> {
        self.expire_if_needed(key, now);
        if self.snap.is_some() {
            self.preserve(key);
        }
        let e = self.dict.get_mut(key)?;
        self.watches.touch(key);
        if let Some(t) = self.touched.as_mut() {
            t.keys.push(key.to_vec());
        }
        e.touch(now);
        Some(e)
    }

    /// Raise keyspace event `name` of `class` for `key` (a no-op unless
    /// `notify-keyspace-events` enables it).
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        self.events.raise(class, name, key);
    }

    /// Look a key up without statistics or access-time update (after expiry).
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        self.dict.get(key)
    }

    /// True when the key exists (after lazy expiry); no statistics.
    pub fn contains(&mut self, key: &[u8], now: i64) -> bool {
        self.get(key, now).is_some()
    }

    /// Store `value` under `key`, creating or replacing it.
    pub fn set(&mut self, key: &[u8], value: Value, expire: ExpirePolicy, now: i64) {
        self.expire_if_needed(key, now);
        self.changed(key);
        if let Some(e) = self.dict.get_mut(key) {
            e.value = value;
            e.touch(now);
            let old = e.expire_at;
            let new = match expire {
                ExpirePolicy::Clear => 0,
                ExpirePolicy::Keep => old,
                ExpirePolicy::At(t) => t,
            };
            e.expire_at = new;
            self.adjust_volatile(old, new);
            return;
        }
        let at = match expire {
            ExpirePolicy::At(t) => t,
            ExpirePolicy::Clear | ExpirePolicy::Keep => 0,
        };
        self.insert_entry(Entry::new(key, value, at, LruClock::at(now)));
    }

    /// The entry at `key` for writing, inserted with `make()` (no TTL) when
    /// missing or expired. Callers check the type before changing it.
    pub fn write_or_insert(
        &mut self,
        key: &[u8],
        now: i64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        self.expire_if_needed(key, now);
        self.changed(key);
        if !self.dict.contains(key) {
            self.events.raise(events::NEW, "new", key);
            return self
                .dict
                .insert_new(Entry::new(key, make(), 0, LruClock::at(now)));
        }
        let e = self.dict.get_mut(key).expect("present: checked just above");
        e.touch(now);
        e
    }

    /// Remove `key` if it holds an aggregate with no elements left (Redis
    /// never keeps empty hashes, sets, lists or sorted sets).
    pub fn drop_if_empty(&mut self, key: &[u8]) -> bool {
        if self
            .dict
            .get(key)
            .is_some_and(|e| e.value.is_empty_aggregate())
        {
            self.remove(key);
            return true;
        }
        false
    }

    /// Insert a whole entry whose key is absent (RENAME, COPY, MOVE, RESTORE).
    pub fn insert_entry(&mut self, entry: Entry) {
        self.changed(entry.key.as_slice());
        self.events.raise(events::NEW, "new", entry.key.as_slice());
        if entry.expire_at != 0 {
            self.volatile += 1;
        }
        self.dict.insert_new(entry);
    }

    /// A key is about to change: WATCHers see it, a multi-shard part logs it.
    #[inline]
    fn changed(&mut self, key: &[u8]) {
        if self.snap.is_some() {
            self.preserve(key);
        }
        self.watches.touch(key);
        if let Some(t) = self.touched.as_mut() {
            t.keys.push(key.to_vec());
        }
    }

    fn adjust_volatile(&mut self, old: i64, new: i64) {
        match (old != 0, new != 0) {
            (false, true) => self.volatile += 1,
            (true, false) => self.volatile = self.volatile.saturating_sub(1),
            _ => {}
        }
    }

    /// Remove a key regardless of its TTL; returns the entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        if self.snap.is_some() {
            self.preserve(key);
        }
        let e = self.dict.remove(key)?;
        self.changed(key);
        if e.expire_at != 0 {
            self.volatile = self.volatile.saturating_sub(1);
        }
        Some(e)
    }

    /// Delete a live key (after lazy expiry). True when something was deleted.
    pub fn delete(&mut self, key: &[u8], now: i64) -> bool {
        if self.expire_if_needed(key, now) {
            return false;
        }
        self.remove(key).is_some()
    }

    /// Set or clear the TTL of an existing key. False when the key is missing.
    pub fn set_expire(&mut self, key: &[u8], at: Option<i64>) -> bool {
        if !self.dict.contains(key) {
            return false;
        }
        self.changed(key);
        let Some(e) = self.dict.get_mut(key) else {
            return false;
        };
        let old = e.expire_at;
        let new = at.unwrap_or(0);
        e.expire_at = new;
        self.adjust_volatile(old, new);
        true
    }

    /// Drop every key.
    pub fn clear(&mut self) {
        if let Some(t) = self.touched.as_mut() {
            t.flushed = true;
            t.keys.clear();
        }
        let dict = &self.dict;
        self.watches.touch_where(|k| dict.get(k).is_some());
        // A running image keeps the whole table (after WATCH saw it).
        self.preserve_all();
        self.dict.clear();
        self.volatile = 0;
        self.expire_cursor = 0;
    }

    /// Take every entry out (SWAPDB moves whole dicts instead; this is for MOVE-like bulk work).
    pub fn take_all(&mut self) -> Vec<Entry> {
        self.snapshot_abort();
        if let Some(t) = self.touched.as_mut() {
            t.flushed = true;
            t.keys.clear();
        }
        let dict = &self.dict;
        self.watches.touch_where(|k| dict.get(k).is_some());
        self.volatile = 0;
        self.dict.drain_all()
    }

    /// One SCAN step over this database (see [`Dict::scan`]); expired keys are skipped.
    pub fn scan(&self, cursor: u64, now: i64, mut f: impl FnMut(&Entry)) -> u64 {
        self.dict.scan(cursor, |e| {
            if !e.is_expired(now) {
                f(e)
            }
        })
    }

    /// Every live entry.
    pub fn iter(&self, now: i64) -> impl Iterator<Item = &Entry> {
        self.dict.iter().filter(move |e| !e.is_expired(now))
    }

    /// A random live key.
    pub fn random_key(&mut self, now: i64, mut rand: impl FnMut() -> u64) -> Option<Vec<u8>> {
        // Like Redis, retry a bounded number of times when the pick has expired.
        for _ in 0..100 {
            let key = self.dict.random(&mut rand)?.key.as_slice().to_vec();
            if !self.expire_if_needed(&key, now) {
                return Some(key);
            }
        }
        self.iter(now).next().map(|e| e.key.as_slice().to_vec())
    }

    /// Active expiry: sweep up to `budget` buckets from the saved cursor,
    /// removing expired keys. Returns (keys removed, volatile keys seen,
    /// true when the sweep wrapped around this call).
    pub fn active_expire(&mut self, now: i64, budget: usize) -> (usize, usize, bool) {
        if self.volatile == 0 || self.frozen {
            self.dict.rehash(budget);
            self.avg_ttl = 0;
            return (0, 0, true);
        }
        let mut removed = 0usize;
        let mut seen = 0usize;
        let mut removed_volatile = 0usize;
        let mut ttl_sum = 0i128;
        let mut ttl_n = 0u64;
        let watches = &mut self.watches;
        let notes = &mut self.events;
        let mut log = self.expired_log.as_mut();
        let cursor = self.dict.sweep(
            self.expire_cursor,
            budget,
            |e| {
                if e.expire_at != 0 {
                    seen += 1;
                    if e.expire_at <= now {
                        return true;
                    }
                    ttl_sum += i128::from(e.expire_at - now);
                    ttl_n += 1;
                }
                false
            },
            |e| {
                removed += 1;
                removed_volatile += 1;
                watches.touch(e.key.as_slice());
                notes.raise(events::EXPIRED, "expired", e.key.as_slice());
                if let Some(log) = log.as_mut() {
                    log.push(e.key.as_slice().to_vec());
                }
            },
        );
        self.volatile = self.volatile.saturating_sub(removed_volatile);
        self.stats.expired += removed as u64;
        self.ttl_sample.0 += ttl_sum;
        self.ttl_sample.1 += ttl_n;
        let wrapped = cursor == 0;
        if wrapped {
            if self.ttl_sample.1 > 0 {
                let avg = self.ttl_sample.0 / i128::from(self.ttl_sample.1);
                self.avg_ttl = i64::try_from(avg).unwrap_or(i64::MAX);
            }
            self.ttl_sample = (0, 0);
        }
        self.expire_cursor = cursor;
        (removed, seen, wrapped)
    }

    /// Swap contents with another database (SWAPDB on one shard). Watches
    /// stay with their database index; a watched key existing on either
    /// side is touched (its database's contents change).
    pub fn swap(&mut self, other: &mut Db) {
        let touch = |w: &mut Watches, x: &Dict<Entry>, y: &Dict<Entry>| {
            w.touch_where(|k| x.get(k).is_some() || y.get(k).is_some())
        };
        touch(&mut self.watches, &self.dict, &other.dict);
        touch(&mut other.watches, &other.dict, &self.dict);
        std::mem::swap(self, other);
        std::mem::swap(&mut self.watches, &mut other.watches);
        std::mem::swap(&mut self.events, &mut other.events);
        std::mem::swap(&mut self.expired_log, &mut other.expired_log);
        std::mem::swap(&mut self.frozen, &mut other.frozen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::value::RStr;

    fn s(v: &str) -> Value {
        Value::Str(RStr::from_bytes(v.as_bytes()))
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut db = Db::default();
        db.set(b"a", s("1"), ExpirePolicy::At(1000), 0);
        db.set(b"b", s("2"), ExpirePolicy::Clear, 0);
        db.set(b"c", s("3"), ExpirePolicy::At(5000), 0);
        assert_eq!(db.volatile_count(), 2);
        assert!(db.read(b"a", 999, true).is_some());
        assert!(db.read(b"a", 1000, true).is_none());
        assert_eq!(db.stats.expired, 1);
        assert_eq!(db.volatile_count(), 1);
        let (removed, _, _) = db.active_expire(6000, 1000);
        assert_eq!(removed, 1);
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_count(), 0);
        db.set(b"b", s("x"), ExpirePolicy::At(9000), 0);
        assert_eq!(db.volatile_count(), 1);
        db.set(b"b", s("y"), ExpirePolicy::Keep, 0);
        assert_eq!(db.peek(b"b").and_then(Entry::expire_at), Some(9000));
        db.set(b"b", s("z"), ExpirePolicy::Clear, 0);
        assert_eq!(db.volatile_count(), 0);
    }
}

#[cfg(test)]
mod layout_tests {
    /// The per-key layout the memory benchmark depends on: a value fits in
    /// 24 bytes and an entry (key with its access clock, value, expiry) in
    /// 56, so a dict node is one 64-byte allocation (the size class below
    /// is 48). Growing these grows every key by 16 bytes.
    #[test]
    fn entries_stay_small() {
        assert!(std::mem::size_of::<super::Value>() <= 24);
        assert!(std::mem::size_of::<super::Entry>() <= 56);
    }
}
