//! `Dict`: a chained hash table with incremental rehashing and a stable
//! SCAN cursor — the properties Redis's `dict.c` gives its keyspace.
//!
//! Why not `hashbrown`: growing a swiss table moves every entry at once
//! (a latency spike proportional to the keyspace), and its iteration order
//! gives no cursor that survives a resize. Here:
//! - growth and shrinking move a few buckets per operation (two tables live
//!   during a rehash), so no single command pays for the whole table;
//! - [`Dict::scan`] uses the reverse-binary cursor, which visits every entry
//!   present for the whole scan at least once, across any number of resizes;
//! - each entry is one allocation (`Node`) holding its key inline.
//!
//! Safe Rust throughout: chains are `Option<Box<Node>>` links.

/// An entry type stored in a [`Dict`]: it knows its key.
pub trait Keyed {
    /// The key bytes.
    fn key(&self) -> &[u8];
}

type Link<E> = Option<Box<Node<E>>>;

struct Node<E> {
    next: Link<E>,
    entry: E,
}

struct Table<E> {
    buckets: Vec<Link<E>>,
    used: usize,
}

impl<E> Table<E> {
    fn empty() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    fn with_size(size: usize) -> Self {
        Table {
            buckets: empty_buckets(size),
            used: 0,
        }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

impl<E> Drop for Table<E> {
    fn drop(&mut self) {
        // Unlink chains iteratively: a recursive drop of a long chain could overflow the stack.
        for b in &mut self.buckets {
            let mut cur = b.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
            }
        }
    }
}

/// `n` empty buckets from zeroed memory: a big table comes from fresh,
/// lazily zeroed pages (as Redis's calloc), so growing a table of millions
/// of keys does not write every bucket at once (a 16 MB memset, ~10 ms on
/// the shard, showed as the p99.9 of a benchmark that grew the keyspace).
fn empty_buckets<E>(n: usize) -> Vec<Link<E>> {
    let Ok(layout) = std::alloc::Layout::array::<Link<E>>(n) else {
        let mut v = Vec::with_capacity(n);
        v.resize_with(n, || None);
        return v;
    };
    if layout.size() == 0 {
        let mut v = Vec::with_capacity(n);
        v.resize_with(n, || None);
        return v;
    }
    // SAFETY: `layout` is non-zero-sized; an all-zero `Option<Box<_>>` is
    // `None` (the null-pointer niche is guaranteed for Option<Box<T>>), so
    // the `n` elements are initialised; the Vec takes ownership of the
    // allocation made with the global allocator and this exact layout.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<Link<E>>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}

const INITIAL_SIZE: usize = 4;
/// Grow regardless of anything else past this many entries per bucket.
const MIN_FILL_PERCENT: usize = 10;

/// A hash table from byte keys to entries.
pub struct Dict<E: Keyed> {
    t0: Table<E>,
    t1: Table<E>,
    /// Next bucket of `t0` to move into `t1`, while rehashing.
    rehash_idx: Option<usize>,
    hasher: ahash::RandomState,
    /// Entries stay in their buckets (no resize, no rehash step) while a
    /// snapshot walks the table ([`Dict::position`], [`Dict::bucket`]).
    hold: bool,
}

impl<E: Keyed + Clone> Clone for Dict<E> {
    /// A copy with the same entries (COPY of a hash or set).
    fn clone(&self) -> Self {
        let mut d = Dict::new();
        for e in self.iter() {
            d.insert_new(e.clone());
        }
        d
    }
}

impl<E: Keyed> std::fmt::Debug for Dict<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dict({} entries)", self.len())
    }
}

impl<E: Keyed> Default for Dict<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Keyed> Dict<E> {
    /// An empty dict (allocates nothing until the first insert).
    pub fn new() -> Self {
        // Fixed seeds: hashes must be stable for the dict's lifetime (SCAN
        // cursors), and randomised per process they would buy nothing here
        // that the per-shard dicts need.
        Dict {
            t0: Table::empty(),
            t1: Table::empty(),
            rehash_idx: None,
            hold: false,
            hasher: ahash::RandomState::with_seeds(
                0x5348_4f41_4c00_0001,
                0x9e37_79b9_7f4a_7c15,
                0xc2b2_ae3d_27d4_eb4f,
                0x1656_67b1_9e37_79f9,
            ),
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.t0.used + self.t1.used
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bucket slots allocated (for memory reports).
    pub fn bucket_count(&self) -> usize {
        self.t0.size() + self.t1.size()
    }

    /// Bytes the table itself costs beyond the entries' contents: the
    /// bucket arrays and each node's chain link.
    pub fn overhead_bytes(&self) -> usize {
        let link = std::mem::size_of::<Link<E>>();
        self.bucket_count() * link + self.len() * link
    }

    /// True while an incremental rehash is in progress.
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> usize {
        self.hasher.hash_one(key) as usize
    }

    /// Look an entry up.
    pub fn get(&self, key: &[u8]) -> Option<&E> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in [&self.t0, &self.t1] {
            if t.size() == 0 {
                continue;
            }
            let mut cur = t.buckets.get(h & t.mask()).and_then(Option::as_deref);
            while let Some(node) = cur {
                if node.entry.key() == key {
                    return Some(&node.entry);
                }
                cur = node.next.as_deref();
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Look an entry up for modification.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut E> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        let rehashing = self.rehash_idx.is_some();
        // Find which table holds it first, so the mutable borrow is taken once.
        let in_t0 = find_in(&self.t0, h, key);
        let t = if in_t0 {
            &mut self.t0
        } else if rehashing && find_in(&self.t1, h, key) {
            &mut self.t1
        } else {
            return None;
        };
        let mask = t.mask();
        let mut cur = t.buckets.get_mut(h & mask).and_then(Option::as_deref_mut);
        while let Some(node) = cur {
            if node.entry.key() == key {
                return Some(&mut node.entry);
            }
            cur = node.next.as_deref_mut();
        }
        None
    }

    /// True when `key` is present.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Insert an entry whose key is known to be absent. Returns a reference to it.
    pub fn insert_new(&mut self, entry: E) -> &mut E {
        self.rehash_step();
        self.expand_if_needed();
        let h = self.hash(entry.key());
        let t = if self.rehash_idx.is_some() {
            &mut self.t1
        } else {
            &mut self.t0
        };
        let mask = t.mask();
        t.used += 1;
        let slot = match t.buckets.get_mut(h & mask) {
            Some(s) => s,
            None => unreachable_bucket(),
        };
        let old = slot.take();
        let node = slot.insert(Box::new(Node { next: old, entry }));
        &mut node.entry
    }

    /// Remove and return the entry for `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = self.hash(key);
        let rehashing = self.rehash_idx.is_some();
        let removed = unlink(&mut self.t0, h, key).or_else(|| {
            if rehashing {
                unlink(&mut self.t1, h, key)
            } else {
                None
            }
        });
        if removed.is_some() {
            self.shrink_if_needed();
        }
        removed
    }

    /// Remove everything.
    pub fn clear(&mut self) {
        self.t0 = Table::empty();
        self.t1 = Table::empty();
        self.rehash_idx = None;
    }

    fn expand_if_needed(&mut self) {
        if self.rehash_idx.is_some() || (self.hold && self.t0.size() > 0) {
            return;
        }
        if self.t0.size() == 0 {
            self.t0 = Table::with_size(INITIAL_SIZE);
            return;
        }
        if self.t0.used >= self.t0.size() {
            self.start_resize((self.t0.used + 1).next_power_of_two());
        }
    }

    fn shrink_if_needed(&mut self) {
        if self.rehash_idx.is_some() || self.t0.size() <= INITIAL_SIZE || self.hold {
            return;
        }
        if self.t0.used * 100 < self.t0.size() * MIN_FILL_PERCENT {
            let target = self.t0.used.max(INITIAL_SIZE).next_power_of_two();
            if target < self.t0.size() {
                self.start_resize(target);
            }
        }
    }

    fn start_resize(&mut self, size: usize) {
        if self.t0.used == 0 {
            self.t0 = Table::with_size(size);
            return;
        }
        self.t1 = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    /// Move one bucket (the per-operation share of an incremental rehash).
    #[inline]
    fn rehash_step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    /// Move up to `n` non-empty buckets from the old table to the new one.
    /// Returns true while there is more to move. Visits at most `10 * n`
    /// empty buckets, so a sparse table cannot stall the caller.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        if self.hold {
            return true;
        }
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && self.t0.used > 0 {
            let Some(slot) = self.t0.buckets.get_mut(idx) else {
                break;
            };
            let Some(chain) = slot.take() else {
                idx += 1;
                empty_visits = empty_visits.saturating_sub(1);
                if empty_visits == 0 {
                    break;
                }
                continue;
            };
            let mut cur = Some(chain);
            while let Some(mut node) = cur {
                cur = node.next.take();
                let h = self.hasher.hash_one(node.entry.key()) as usize;
                let mask = self.t1.mask();
                if let Some(dst) = self.t1.buckets.get_mut(h & mask) {
                    node.next = dst.take();
                    *dst = Some(node);
                    self.t0.used -= 1;
                    self.t1.used += 1;
                }
            }
            idx += 1;
            moved += 1;
        }
        if self.t0.used == 0 {
            self.t0 = std::mem::replace(&mut self.t1, Table::empty());
            self.rehash_idx = None;
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// Keep every entry in its bucket (or let the table resize again).
    pub fn set_hold(&mut self, hold: bool) {
        self.hold = hold;
    }

    /// Sizes of the two tables (the second is 0 unless rehashing).
    pub fn table_sizes(&self) -> (usize, usize) {
        let t1 = if self.rehash_idx.is_some() {
            self.t1.size()
        } else {
            0
        };
        (self.t0.size(), t1)
    }

    /// Where `key` lives or would be inserted: (table, bucket). Stable
    /// while [`Dict::set_hold`] holds.
    pub fn position(&self, key: &[u8]) -> (usize, usize) {
        let h = self.hash(key);
        // While rehashing, new keys go to the second table.
        if self.rehash_idx.is_some() && !find_in(&self.t0, h, key) {
            return (1, h & self.t1.mask());
        }
        (0, h & self.t0.mask())
    }

    /// Visit the entries of bucket `idx` of table `table`.
    pub fn bucket(&self, table: usize, idx: usize, mut f: impl FnMut(&E)) {
        let t = if table == 0 { &self.t0 } else { &self.t1 };
        let mut cur = t.buckets.get(idx).and_then(Option::as_deref);
        while let Some(node) = cur {
            f(&node.entry);
            cur = node.next.as_deref();
        }
    }

    /// Visit the buckets a SCAN cursor points at and return the next cursor
    /// (0 when the scan is complete). Every entry present from the first to
    /// the last call of a scan is visited at least once; some may repeat.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&E)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor as usize;
        let emit = |t: &Table<E>, idx: usize, f: &mut dyn FnMut(&E)| {
            let mut cur = t.buckets.get(idx & t.mask()).and_then(Option::as_deref);
            while let Some(node) = cur {
                f(&node.entry);
                cur = node.next.as_deref();
            }
        };
        if self.rehash_idx.is_none() {
            let m0 = self.t0.mask();
            emit(&self.t0, v, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.t0.size() <= self.t1.size() {
                (&self.t0, &self.t1)
            } else {
                (&self.t1, &self.t0)
            };
            let m0 = small.mask();
            let m1 = large.mask();
            emit(small, v, &mut f);
            loop {
                emit(large, v, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// Visit buckets from `cursor` (same cursor space as [`Dict::scan`]),
    /// removing the entries for which `expired` says true and handing them to
    /// `removed`, until `budget` buckets were visited or the sweep wrapped to
    /// 0. Returns the next cursor. Used by active expiry. Finishes any
    /// rehash first, within the same budget.
    pub fn sweep(
        &mut self,
        cursor: u64,
        budget: usize,
        mut expired: impl FnMut(&E) -> bool,
        mut removed: impl FnMut(E),
    ) -> u64 {
        if self.rehash_idx.is_some() {
            self.rehash(budget);
            return cursor;
        }
        if self.t0.size() == 0 {
            return 0;
        }
        let mut v = cursor as usize;
        for _ in 0..budget {
            let m0 = self.t0.mask();
            if let Some(slot) = self.t0.buckets.get_mut(v & m0) {
                // Rebuild the chain without the expired entries.
                let mut cur = slot.take();
                let mut kept: Link<E> = None;
                while let Some(mut node) = cur {
                    cur = node.next.take();
                    if expired(&node.entry) {
                        self.t0.used -= 1;
                        removed(node.entry);
                    } else {
                        node.next = kept;
                        kept = Some(node);
                    }
                }
                *slot = kept;
            }
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
            if v == 0 {
                break;
            }
        }
        self.shrink_if_needed();
        v as u64
    }

    /// A random entry, or `None` when empty. `rand` supplies random numbers.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<&E> {
        if self.is_empty() {
            return None;
        }
        let tables: Vec<&Table<E>> = [&self.t0, &self.t1]
            .into_iter()
            .filter(|t| t.used > 0)
            .collect();
        let total: usize = tables.iter().map(|t| t.size()).sum();
        // Pick random buckets until a non-empty one; fall back to a linear
        // walk from a random point after many misses (very sparse tables).
        for attempt in 0..total.max(64) {
            let mut idx = (rand() as usize) % total.max(1);
            let mut chosen = None;
            for t in &tables {
                if idx < t.size() {
                    chosen = Some((*t, idx));
                    break;
                }
                idx -= t.size();
            }
            let Some((t, mut i)) = chosen else { continue };
            if attempt >= 64 {
                // Linear probe from here.
                for _ in 0..t.size() {
                    if t.buckets.get(i).is_some_and(Option::is_some) {
                        break;
                    }
                    i = (i + 1) & t.mask();
                }
            }
            if let Some(Some(head)) = t.buckets.get(i) {
                let mut len = 0;
                let mut cur = Some(head.as_ref());
                while let Some(n) = cur {
                    len += 1;
                    cur = n.next.as_deref();
                }
                let mut pick = (rand() as usize) % len;
                let mut cur = Some(head.as_ref());
                while let Some(n) = cur {
                    if pick == 0 {
                        return Some(&n.entry);
                    }
                    pick -= 1;
                    cur = n.next.as_deref();
                }
            }
        }
        self.iter().next()
    }

    /// Iterate over all entries (order unspecified).
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            tables: [&self.t0, &self.t1],
            table: 0,
            bucket: 0,
            node: None,
        }
    }

    /// Move every entry out, leaving the dict empty.
    pub fn drain_all(&mut self) -> Vec<E> {
        let mut out = Vec::with_capacity(self.len());
        for t in [&mut self.t0, &mut self.t1] {
            for b in &mut t.buckets {
                let mut cur = b.take();
                while let Some(mut node) = cur {
                    cur = node.next.take();
                    out.push(node.entry);
                }
            }
            t.used = 0;
        }
        self.clear();
        out
    }
}

fn unreachable_bucket<T>() -> T {
    // Tables are always allocated (power-of-two size) before an insert masks into them.
    panic!("dict invariant broken: bucket index out of range")
}

fn find_in<E: Keyed>(t: &Table<E>, h: usize, key: &[u8]) -> bool {
    if t.size() == 0 {
        return false;
    }
    let mut cur = t.buckets.get(h & t.mask()).and_then(Option::as_deref);
    while let Some(node) = cur {
        if node.entry.key() == key {
            return true;
        }
        cur = node.next.as_deref();
    }
    false
}

fn unlink<E: Keyed>(t: &mut Table<E>, h: usize, key: &[u8]) -> Option<E> {
    if t.size() == 0 {
        return None;
    }
    let mask = t.mask();
    let mut link = t.buckets.get_mut(h & mask)?;
    loop {
        let found = match link.as_deref() {
            None => return None,
            Some(node) => node.entry.key() == key,
        };
        if found {
            let mut node = link.take()?;
            *link = node.next.take();
            t.used -= 1;
            return Some(node.entry);
        }
        link = &mut link.as_mut()?.next;
    }
}

/// Iterator over a dict's entries.
pub struct Iter<'a, E> {
    tables: [&'a Table<E>; 2],
    table: usize,
    bucket: usize,
    node: Option<&'a Node<E>>,
}

impl<'a, E> Iterator for Iter<'a, E> {
    type Item = &'a E;

    fn next(&mut self) -> Option<&'a E> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                return Some(&n.entry);
            }
            let t = self.tables.get(self.table)?;
            match t.buckets.get(self.bucket) {
                Some(b) => {
                    self.node = b.as_deref();
                    self.bucket += 1;
                }
                None => {
                    self.table += 1;
                    self.bucket = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    struct E(Vec<u8>, u32);
    impl Keyed for E {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn k(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove_through_resizes() {
        let mut d: Dict<E> = Dict::new();
        for i in 0..10_000 {
            d.insert_new(E(k(i), i));
            assert_eq!(d.get(&k(i / 2)).map(|e| e.1), Some(i / 2));
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(d.get(&k(i)).map(|e| e.1), Some(i));
        }
        if let Some(e) = d.get_mut(&k(7)) {
            e.1 = 70;
        }
        assert_eq!(d.get(&k(7)).map(|e| e.1), Some(70));
        for i in 0..9_990 {
            assert_eq!(
                d.remove(&k(i)).map(|e| e.1),
                Some(if i == 7 { 70 } else { i })
            );
        }
        assert_eq!(d.len(), 10);
        assert!(d.remove(&k(1)).is_none());
        let rest: HashSet<u32> = d.iter().map(|e| e.1).collect();
        assert_eq!(rest, (9_990..10_000).collect());
        // Shrinking happened.
        while d.rehash(100) {}
        assert!(d.bucket_count() < 1024, "{}", d.bucket_count());
    }

    #[test]
    fn scan_visits_everything_across_growth_and_shrink() {
        let mut d: Dict<E> = Dict::new();
        for i in 0..1000 {
            d.insert_new(E(k(i), i));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0u32;
        loop {
            cursor = d.scan(cursor, |e| {
                seen.insert(e.1);
            });
            // Mutate between calls: add many (growth), then remove (shrink),
            // never touching keys 0..1000.
            step += 1;
            if step < 20 {
                for j in 0..500 {
                    d.insert_new(E(k(100_000 + step * 1000 + j), 0));
                }
            } else if step < 40 {
                for j in 0..500 {
                    d.remove(&k(100_000 + (step - 19) * 1000 + j));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn random_and_sweep() {
        let mut d: Dict<E> = Dict::new();
        assert!(d.random(|| 1).is_none());
        for i in 0..100 {
            d.insert_new(E(k(i), i));
        }
        let mut x = 12345u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut hits = HashSet::new();
        for _ in 0..2000 {
            hits.insert(d.random(&mut rnd).map(|e| e.1).unwrap());
        }
        assert!(hits.len() > 90);
        while d.rehash(100) {}
        let mut cursor = 0;
        let mut removed = 0;
        loop {
            cursor = d.sweep(cursor, 3, |e| e.1 % 2 == 0, |_| removed += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(removed, 50);
        assert_eq!(d.len(), 50);
        assert!(d.iter().all(|e| e.1 % 2 == 1));
    }
}
