//! List values in Redis 7.2's two encodings: `listpack` (a [`Pack`]) while
//! small, `quicklist` past `list-max-listpack-size`, and back to `listpack`
//! when a shrinking list falls under half the limit (7.2's
//! `listTypeTryConvertQuicklist`). Our `quicklist` is a ring buffer of
//! compact strings: O(1) at both ends and by index.
//!
//! The size limit is Redis's, in Redis's listpack bytes: each list tracks
//! what its contents would occupy in a real listpack ([`lp_entry_bytes`]),
//! so conversions happen at the same element as in Redis.

use super::compact::CompactBytes;
use super::pack::ListPack;
use resp::numfmt;
use std::collections::VecDeque;

/// `list-max-listpack-size`: negative is a byte limit per node
/// (-1 = 4 KiB ... -5 = 64 KiB), positive an entry count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    /// The directive's value.
    pub fill: i64,
}

/// Redis's `SIZE_SAFETY_LIMIT`: a count-limited node still stops at 8 KiB.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Bytes of an empty listpack (header and end marker).
const LP_EMPTY: usize = 7;

impl ListLimits {
    /// (byte limit, count limit) of one node, as `quicklistNodeLimit`.
    fn node_limit(self) -> (usize, usize) {
        if self.fill < 0 {
            let level = usize::try_from(-self.fill - 1).unwrap_or(0).min(4);
            (4096 << level, usize::MAX)
        } else {
            (usize::MAX, usize::try_from(self.fill).unwrap_or(0))
        }
    }

    /// `quicklistNodeExceedsLimit`.
    fn exceeds(self, bytes: usize, count: usize) -> bool {
        let (sz, cnt) = self.node_limit();
        if sz != usize::MAX {
            bytes > sz
        } else {
            bytes > SIZE_SAFETY_LIMIT || count > cnt
        }
    }
}

/// Bytes `item` takes as one entry of a Redis listpack (encoding, data,
/// back-length), integers in their compact encodings.
pub fn lp_entry_bytes(item: &[u8]) -> usize {
    if let Some(v) = numfmt::parse_i64(item) {
        let body = if (0..=127).contains(&v) {
            1
        } else if (-4096..=4095).contains(&v) {
            2
        } else if i16::try_from(v).is_ok() {
            3
        } else if (-8_388_608..=8_388_607).contains(&v) {
            4
        } else if i32::try_from(v).is_ok() {
            5
        } else {
            9
        };
        return body + 1;
    }
    let l = item.len();
    let hdr = if l < 64 {
        1
    } else if l < 4096 {
        2
    } else {
        5
    };
    let entry = hdr + l;
    let back = match entry {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    };
    entry + back
}

/// The ring-buffer `quicklist` and its listpack-size estimate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quick {
    items: VecDeque<CompactBytes>,
    lp_bytes: usize,
}

/// A list value.
#[derive(Clone, Debug, PartialEq)]
pub enum ListVal {
    /// `listpack`; the pack's header holds its size in Redis listpack bytes.
    Pack(ListPack),
    /// `quicklist`.
    Quick(Box<Quick>),
}

impl Default for ListVal {
    fn default() -> Self {
        let mut p = ListPack::new();
        p.set_aux(LP_EMPTY as u32);
        ListVal::Pack(p)
    }
}

impl ListVal {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ListVal::Pack(p) => p.len(),
            ListVal::Quick(q) => q.items.len(),
        }
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ListVal::Pack(_) => "listpack",
            ListVal::Quick(_) => "quicklist",
        }
    }

    /// All elements, head to tail.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        match self {
            ListVal::Pack(p) => p.iter().map(<[u8]>::to_vec).collect(),
            ListVal::Quick(q) => q.items.iter().map(|c| c.to_vec()).collect(),
        }
    }

    fn rebuild(items: Vec<Vec<u8>>, quick: bool) -> ListVal {
        let bytes = LP_EMPTY + items.iter().map(|i| lp_entry_bytes(i)).sum::<usize>();
        if quick {
            ListVal::Quick(Box::new(Quick {
                items: items.iter().map(|i| CompactBytes::new(i)).collect(),
                lp_bytes: bytes,
            }))
        } else {
            let mut p = ListPack::from_items(items.iter().map(Vec::as_slice));
            p.set_aux(u32::try_from(bytes).unwrap_or(u32::MAX));
            ListVal::Pack(p)
        }
    }

    /// Convert to `quicklist` before adding `adding` (Redis's
    /// `listTypeTryConvertListpack`, which counts raw argument bytes).
    fn grow_check(&mut self, add_bytes: usize, add_count: usize, lim: ListLimits) {
        if let ListVal::Pack(p) = self {
            if lim.exceeds(p.aux() as usize + add_bytes, p.len() + add_count) {
                *self = Self::rebuild(self.to_vec(), true);
            }
        }
    }

    /// After a removal: back to `listpack` under half the limits.
    fn shrink_check(&mut self, lim: ListLimits) {
        if let ListVal::Quick(q) = self {
            let (sz, cnt) = lim.node_limit();
            let (sz, cnt) = (sz / 2, cnt / 2);
            // One quicklist node (Redis converts only then) holds at most the limit.
            if q.lp_bytes <= sz && q.items.len() <= cnt && !lim.exceeds(q.lp_bytes, q.items.len()) {
                *self = Self::rebuild(self.to_vec(), false);
            }
        }
    }

    /// Push `items` one by one at the head (`left`) or the tail.
    pub fn push(&mut self, items: &[&[u8]], left: bool, lim: ListLimits) {
        let raw: usize = items.iter().map(|i| i.len()).sum();
        self.grow_check(raw, items.len(), lim);
        let added: usize = items.iter().map(|i| lp_entry_bytes(i)).sum();
        match self {
            ListVal::Pack(p) => {
                if left {
                    let rev: Vec<&[u8]> = items.iter().rev().copied().collect();
                    p.push_front(&rev);
                } else {
                    p.push_back(items);
                }
                p.set_aux(u32::try_from(p.aux() as usize + added).unwrap_or(u32::MAX));
            }
            ListVal::Quick(q) => {
                for i in items {
                    let c = CompactBytes::new(i);
                    if left {
                        q.items.push_front(c);
                    } else {
                        q.items.push_back(c);
                    }
                }
                q.lp_bytes += added;
            }
        }
    }

    /// Pop up to `n` elements from the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool, n: usize, lim: ListLimits) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(n.min(self.len()));
        match self {
            ListVal::Pack(p) => {
                let offs = p.offsets();
                let take = n.min(offs.len());
                if take == 0 {
                    return out;
                }
                let (from, picked): (usize, Vec<usize>) = if left {
                    (p.first(), offs.iter().take(take).copied().collect())
                } else {
                    let start = offs.get(offs.len() - take).copied().unwrap_or(p.first());
                    (start, offs.iter().rev().take(take).copied().collect())
                };
                for off in picked {
                    if let Some((e, _)) = p.get(off) {
                        out.push(e.to_vec());
                    }
                }
                p.remove(from, take);
                let gone: usize = out.iter().map(|e| lp_entry_bytes(e)).sum();
                p.set_aux(u32::try_from((p.aux() as usize).saturating_sub(gone)).unwrap_or(0));
            }
            ListVal::Quick(q) => {
                for _ in 0..n {
                    let e = if left {
                        q.items.pop_front()
                    } else {
                        q.items.pop_back()
                    };
                    let Some(e) = e else { break };
                    q.lp_bytes = q.lp_bytes.saturating_sub(lp_entry_bytes(&e));
                    out.push(e.to_vec());
                }
            }
        }
        self.shrink_check(lim);
        out
    }

    /// Normalize a Redis index (negative from the tail).
    pub fn index(&self, idx: i64) -> Option<usize> {
        let len = i64::try_from(self.len()).ok()?;
        let i = if idx < 0 { len + idx } else { idx };
        (0..len)
            .contains(&i)
            .then(|| usize::try_from(i).ok())
            .flatten()
    }

    /// The element at position `i` (already normalized).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            ListVal::Pack(p) => p.get(p.offset_of(i)?).map(|(e, _)| e),
            ListVal::Quick(q) => q.items.get(i).map(|c| c.as_slice()),
        }
    }

    /// Elements `from..=to` (normalized, in range).
    pub fn range(&self, from: usize, to: usize) -> Vec<&[u8]> {
        match self {
            ListVal::Pack(p) => p.iter().skip(from).take(to + 1 - from).collect(),
            ListVal::Quick(q) => q.items.range(from..=to).map(|c| c.as_slice()).collect(),
        }
    }

    /// Replace the element at `i` (normalized).
    pub fn set(&mut self, i: usize, value: &[u8], lim: ListLimits) {
        self.grow_check(value.len(), 0, lim);
        match self {
            ListVal::Pack(p) => {
                let Some(off) = p.offset_of(i) else { return };
                let old = p.get(off).map_or(0, |(e, _)| lp_entry_bytes(e));
                p.replace(off, 1, &[value]);
                let b = (p.aux() as usize).saturating_sub(old) + lp_entry_bytes(value);
                p.set_aux(u32::try_from(b).unwrap_or(u32::MAX));
            }
            ListVal::Quick(q) => {
                if let Some(slot) = q.items.get_mut(i) {
                    q.lp_bytes = q.lp_bytes - lp_entry_bytes(slot) + lp_entry_bytes(value);
                    *slot = CompactBytes::new(value);
                }
            }
        }
    }

    /// Edit as a plain vector (LINSERT, LREM, LTRIM: linear anyway), then
    /// re-encode by the size rules.
    pub fn edit<R>(&mut self, lim: ListLimits, f: impl FnOnce(&mut Vec<Vec<u8>>) -> R) -> R {
        let mut items = self.to_vec();
        let r = f(&mut items);
        let was_quick = matches!(self, ListVal::Quick(_));
        let bytes = LP_EMPTY + items.iter().map(|i| lp_entry_bytes(i)).sum::<usize>();
        let quick = if was_quick {
            let (sz, cnt) = lim.node_limit();
            !(bytes <= sz / 2 && items.len() <= cnt / 2)
        } else {
            lim.exceeds(bytes, items.len())
        };
        *self = Self::rebuild(items, quick);
        r
    }

    /// Bytes the value occupies (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            ListVal::Pack(p) => p.bytes() + 16,
            ListVal::Quick(q) => {
                q.items.capacity() * std::mem::size_of::<CompactBytes>()
                    + q.items.iter().map(CompactBytes::heap_bytes).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: ListLimits = ListLimits { fill: -2 };

    #[test]
    fn entry_sizes_match_redis_listpack() {
        assert_eq!(lp_entry_bytes(b"7"), 2);
        assert_eq!(lp_entry_bytes(b"-70000"), 5);
        assert_eq!(lp_entry_bytes(b"hello"), 7);
        assert_eq!(lp_entry_bytes(&[b'x'; 100]), 2 + 100 + 1);
        assert_eq!(lp_entry_bytes(&[b'x'; 200]), 2 + 200 + 2);
    }

    #[test]
    fn push_pop_and_conversions() {
        let mut l = ListVal::default();
        l.push(&[b"a", b"b"], true, LIM);
        l.push(&[b"c"], false, LIM);
        assert_eq!(
            l.to_vec(),
            vec![b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]
        );
        assert_eq!(l.pop(false, 1, LIM), vec![b"c".to_vec()]);
        assert_eq!(l.pop(true, 5, LIM), vec![b"b".to_vec(), b"a".to_vec()]);
        assert!(l.is_empty());
        let big = vec![b'x'; 100];
        for _ in 0..80 {
            l.push(&[&big], false, LIM);
        }
        assert_eq!(l.encoding(), "quicklist", "past 8 KiB");
        assert_eq!(l.len(), 80);
        l.pop(true, 45, LIM);
        assert_eq!(l.encoding(), "listpack", "under half the limit again");
        assert_eq!(l.get(l.index(-1).unwrap()), Some(&big[..]));
        let mut c = ListVal::default();
        let lim = ListLimits { fill: 3 };
        c.push(&[b"1", b"2", b"3"], false, lim);
        assert_eq!(c.encoding(), "listpack");
        c.push(&[b"4"], false, lim);
        assert_eq!(c.encoding(), "quicklist");
    }
}
