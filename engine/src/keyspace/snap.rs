//! A database's point-in-time image for a fork-less snapshot (BGSAVE).
//!
//! At the cut, the database's table is held: no resize, no rehash step, so
//! every entry stays in its bucket. A walker then serializes the buckets
//! in order, a slice at a time, while the shard keeps serving. Before any
//! change to a key the walker has not reached yet, the key's value at the
//! cut is kept aside ([`Db::preserve`]: the entry, or "absent" for a key
//! created after the cut), and the walker skips keys kept aside; they are
//! written from there at the end. A key the walker has passed is written
//! already, so changing it costs nothing. FLUSHDB during the walk moves
//! the whole held table aside instead.
//!
//! Extra memory is the values changed during the walk (copy-on-write per
//! key, not per page as with fork).

use super::db::{Db, Entry};
use super::dict::Dict;
use crate::rdb::file;
use std::collections::HashMap;

/// The walk over one database (see the module doc).
pub struct Snap {
    /// The database's index at the cut (SWAPDB moves the image with its data).
    pub index: usize,
    /// The cut's time: keys expired by then are left out.
    pub now: i64,
    /// Next (table, bucket) to write.
    pos: (usize, usize),
    /// Values at the cut of keys changed before the walker reached them.
    kept: HashMap<Vec<u8>, Option<Entry>, ahash::RandomState>,
    /// The whole table at the cut, once the database was emptied meanwhile.
    moved: Option<Dict<Entry>>,
    /// Bytes of values kept aside (an estimate).
    pub kept_bytes: usize,
}

fn copy(e: &Entry) -> Entry {
    Entry::new(
        e.key_bytes(),
        e.value().clone(),
        e.expire_at().unwrap_or(0),
        e.key.clock(),
    )
}

/// How an image writes one entry (RDB for BGSAVE and RDB bases, commands
/// for command bases): appends to the buffer, true when it wrote something.
pub type Emit<'a> = &'a mut dyn FnMut(&mut Vec<u8>, &Entry) -> bool;

/// The RDB form of an entry (what BGSAVE writes).
pub fn rdb_entry(compress: bool) -> impl FnMut(&mut Vec<u8>, &Entry) -> bool {
    move |out, e| file::write_entry(out, e, compress)
}

impl Db {
    /// Start an image of this database at `now` (nothing when empty).
    pub fn snapshot_begin(&mut self, index: usize, now: i64) {
        if self.is_empty() {
            return;
        }
        self.dict.set_hold(true);
        self.snap = Some(Box::new(Snap {
            index,
            now,
            pos: (0, 0),
            kept: HashMap::default(),
            moved: None,
            kept_bytes: 0,
        }));
    }

    /// True while an image is being written.
    pub fn snapshot_running(&self) -> bool {
        self.snap.is_some()
    }

    /// Keep `key`'s value at the cut aside if the walker has not written it
    /// yet (called before the key changes).
    pub(super) fn preserve(&mut self, key: &[u8]) {
        let Some(s) = self.snap.as_mut() else {
            return;
        };
        if s.moved.is_some() || s.kept.contains_key(key) {
            return;
        }
        if self.dict.position(key) < s.pos {
            return;
        }
        let old = self.dict.get(key).map(copy);
        s.kept_bytes += key.len() + old.as_ref().map_or(0, |e| 64 + e.value().mem_usage());
        s.kept.insert(key.to_vec(), old);
    }

    /// The database is being emptied during a walk: keep the held table.
    pub(super) fn preserve_all(&mut self) {
        if let Some(s) = self.snap.as_mut() {
            if s.moved.is_none() {
                s.moved = Some(std::mem::take(&mut self.dict));
            }
        }
    }

    /// Write up to `budget` buckets of the image into `out` through `emit`
    /// (keys expired at the cut are left out); returns (the database's
    /// index at the cut, entries written, true when the image is complete —
    /// the table is released then).
    pub fn snapshot_step(
        &mut self,
        budget: usize,
        out: &mut Vec<u8>,
        emit: Emit<'_>,
    ) -> Option<(usize, u64, bool)> {
        let mut s = self.snap.take()?;
        let moved = s.moved.take();
        let dict = moved.as_ref().unwrap_or(&self.dict);
        let (size0, size1) = dict.table_sizes();
        let mut n = 0u64;
        let mut pos = s.pos;
        for _ in 0..budget {
            let (t, i) = pos;
            let size = if t == 0 { size0 } else { size1 };
            if i >= size {
                if t == 0 && size1 > 0 {
                    pos = (1, 0);
                    continue;
                }
                pos = (2, 0);
                break;
            }
            dict.bucket(t, i, |e| {
                if !s.kept.contains_key(e.key_bytes()) && !e.is_expired(s.now) && emit(out, e) {
                    n += 1;
                }
            });
            pos = (t, i + 1);
        }
        let index = s.index;
        if pos.0 < 2 {
            s.pos = pos;
            s.moved = moved;
            self.snap = Some(s);
            return Some((index, n, false));
        }
        for e in s.kept.values().flatten() {
            if !e.is_expired(s.now) && emit(out, e) {
                n += 1;
            }
        }
        self.dict.set_hold(false);
        Some((index, n, true))
    }

    /// Bytes of values kept aside by the running image.
    pub fn snapshot_kept_bytes(&self) -> usize {
        self.snap.as_ref().map_or(0, |s| s.kept_bytes)
    }

    /// Abandon the image (a failed save): the table may resize again.
    pub fn snapshot_abort(&mut self) {
        self.snap = None;
        self.dict.set_hold(false);
    }
}
