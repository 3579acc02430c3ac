//! `Ranked`: an ordered multiset-free sequence with positions — the order
//! statistic structure behind sorted sets (Redis uses a skiplist with
//! spans for the same job: rank of an element, element at a rank, range
//! walks, all in logarithmic time).
//!
//! Two levels: sorted blocks of up to `2 * BLOCK` elements, and a Fenwick
//! tree over the block lengths, so that "how many elements come before
//! block b" and "which block holds position i" are O(log blocks). A block
//! splits in two when full and disappears when empty; the Fenwick tree is
//! then rebuilt in O(blocks) (a linear build), at most once per ~128
//! operations.

use std::collections::VecDeque;

const BLOCK: usize = 128;

/// Sorted distinct elements with O(log n) rank and select.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked<T> {
    blocks: Vec<VecDeque<T>>,
    fen: Vec<usize>,
    len: usize,
}

impl<T> Default for Ranked<T> {
    fn default() -> Self {
        Ranked {
            blocks: Vec::new(),
            fen: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Ord> Ranked<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rebuild the Fenwick tree in O(blocks): each node adds itself into
    /// its parent once.
    fn rebuild(&mut self) {
        self.fen = self.blocks.iter().map(VecDeque::len).collect();
        let n = self.fen.len();
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                let v = self.fen.get(i - 1).copied().unwrap_or(0);
                if let Some(p) = self.fen.get_mut(parent - 1) {
                    *p += v;
                }
            }
        }
    }

    fn fen_add(&mut self, block: usize, delta: isize) {
        let mut i = block + 1;
        while i <= self.fen.len() {
            if let Some(f) = self.fen.get_mut(i - 1) {
                *f = f.wrapping_add_signed(delta);
            }
            i += i & i.wrapping_neg();
        }
    }

    /// Elements in blocks before `block`.
    fn before(&self, block: usize) -> usize {
        let mut i = block;
        let mut sum = 0;
        while i > 0 {
            sum += self.fen.get(i - 1).copied().unwrap_or(0);
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// The block holding position `idx` and the offset in it.
    fn locate(&self, idx: usize) -> Option<(usize, usize)> {
        if idx >= self.len {
            return None;
        }
        let n = self.fen.len();
        let mut pos = 0;
        let mut rem = idx;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n {
                let f = self.fen.get(next - 1).copied().unwrap_or(0);
                if f <= rem {
                    pos = next;
                    rem -= f;
                }
            }
            step /= 2;
        }
        Some((pos, rem))
    }

    /// The first block whose last element is `>= x` (or the last block).
    fn block_for(&self, x: &T) -> usize {
        let b = self
            .blocks
            .partition_point(|blk| blk.back().is_some_and(|l| l < x));
        b.min(self.blocks.len().saturating_sub(1))
    }

    /// Insert `x`; false when it was already there.
    pub fn insert(&mut self, x: T) -> bool {
        if self.blocks.is_empty() {
            self.blocks.push(VecDeque::from([x]));
            self.len = 1;
            self.rebuild();
            return true;
        }
        let b = self.block_for(&x);
        let Some(blk) = self.blocks.get_mut(b) else {
            return false;
        };
        let Err(p) = blk.binary_search(&x) else {
            return false;
        };
        blk.insert(p, x);
        self.len += 1;
        if blk.len() > 2 * BLOCK {
            let tail = blk.split_off(BLOCK);
            self.blocks.insert(b + 1, tail);
            self.rebuild();
        } else {
            self.fen_add(b, 1);
        }
        true
    }

    /// Remove `x`; false when it was not there.
    pub fn remove(&mut self, x: &T) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(x);
        let Some(blk) = self.blocks.get_mut(b) else {
            return false;
        };
        let Ok(p) = blk.binary_search(x) else {
            return false;
        };
        blk.remove(p);
        self.len -= 1;
        if blk.is_empty() {
            self.blocks.remove(b);
            self.rebuild();
        } else {
            self.fen_add(b, -1);
        }
        true
    }

    /// Position of `x`, if present.
    pub fn rank(&self, x: &T) -> Option<usize> {
        if self.blocks.is_empty() {
            return None;
        }
        let b = self.block_for(x);
        let p = self.blocks.get(b)?.binary_search(x).ok()?;
        Some(self.before(b) + p)
    }

    /// Number of leading elements for which `pred` holds (`pred` must be
    /// true on a prefix of the order, false after it).
    pub fn partition_point(&self, pred: impl Fn(&T) -> bool) -> usize {
        let b = self
            .blocks
            .partition_point(|blk| blk.back().is_some_and(&pred));
        match self.blocks.get(b) {
            None => self.len,
            Some(blk) => self.before(b) + blk.partition_point(&pred),
        }
    }

    /// The element at position `idx`.
    pub fn get(&self, idx: usize) -> Option<&T> {
        let (b, o) = self.locate(idx)?;
        self.blocks.get(b)?.get(o)
    }

    /// Elements from position `from` on, in order.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &T> + '_ {
        let (b, o) = self.locate(from).unwrap_or((self.blocks.len(), 0));
        let first = self
            .blocks
            .get(b)
            .into_iter()
            .flat_map(move |blk| blk.range(o..));
        first.chain(self.blocks.get(b + 1..).unwrap_or(&[]).iter().flatten())
    }

    /// All elements in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.blocks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_sorted_vec_model() {
        let mut r = Ranked::default();
        let mut model: Vec<u32> = Vec::new();
        let mut x = 12345u64;
        for step in 0..20000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 3000) as u32;
            if step % 3 == 2 {
                let had = model.binary_search(&v).map(|p| model.remove(p)).is_ok();
                assert_eq!(r.remove(&v), had);
            } else {
                let new = match model.binary_search(&v) {
                    Ok(_) => false,
                    Err(p) => {
                        model.insert(p, v);
                        true
                    }
                };
                assert_eq!(r.insert(v), new);
            }
            if step % 997 == 0 {
                assert_eq!(r.iter().copied().collect::<Vec<_>>(), model);
            }
        }
        assert_eq!(r.len(), model.len());
        for (i, v) in model.iter().enumerate().step_by(37) {
            assert_eq!(r.rank(v), Some(i));
            assert_eq!(r.get(i), Some(v));
            assert_eq!(r.partition_point(|e| e < v), i);
            assert_eq!(r.iter_from(i).next(), Some(v));
        }
        assert_eq!(r.get(model.len()), None);
        assert_eq!(r.partition_point(|_| true), model.len());
    }
}
