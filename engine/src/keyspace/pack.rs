//! `Pack`: the compact encoding of small hashes, sets, sorted sets and
//! lists — one contiguous allocation holding a sequence of byte strings,
//! in the spirit of Redis's listpack (OBJECT ENCODING says `listpack`).
//!
//! Layout: a 4-byte little-endian entry count, `AUX` bytes its owner may
//! use (lists keep their Redis listpack size there, see [`ListPack`]; for
//! every other pack `AUX` is 0), then each entry as a LEB128
//! length followed by its bytes. A 20-byte field costs 21 bytes; the whole
//! value is one thin allocation behind a 16-byte boxed slice, sized exactly
//! (every change reallocates, which the allocator does in place while the
//! size class holds). Positions are byte offsets into the buffer; walking
//! is forward-only, which is fine at the sizes the thresholds allow.

/// Bytes of the entry count.
const COUNT: usize = 4;

/// A packed sequence of byte strings, with `AUX` header bytes for its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Pack<const AUX: usize = 0> {
    buf: Box<[u8]>,
}

/// A pack whose header also holds a `u32` (a list's listpack size): the
/// owner needs no field beside the 16-byte pack, which keeps
/// [`super::value::Value`] at 24 bytes.
pub type ListPack = Pack<4>;

impl<const AUX: usize> Default for Pack<AUX> {
    fn default() -> Self {
        Pack::new()
    }
}

impl<const AUX: usize> std::fmt::Debug for Pack<AUX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

fn varint_len(n: usize) -> usize {
    let mut n = n >> 7;
    let mut len = 1;
    while n != 0 {
        n >>= 7;
        len += 1;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl ListPack {
    /// The header's `u32`.
    pub fn aux(&self) -> u32 {
        match self.buf.get(COUNT..COUNT + 4) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// Set the header's `u32`.
    pub fn set_aux(&mut self, v: u32) {
        if let Some(h) = self.buf.get_mut(COUNT..COUNT + 4) {
            h.copy_from_slice(&v.to_le_bytes());
        }
    }
}

impl<const AUX: usize> Pack<AUX> {
    /// Bytes before the first entry.
    const HDR: usize = COUNT + AUX;

    /// An empty pack.
    pub fn new() -> Self {
        Pack {
            buf: vec![0u8; Self::HDR].into_boxed_slice(),
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        match self.buf.get(..COUNT) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
            _ => 0,
        }
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the buffer (MEMORY USAGE, INFO accounting).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Offset of the first entry (equal to [`Pack::end`] when empty).
    #[inline]
    pub fn first(&self) -> usize {
        Self::HDR
    }

    /// Offset just past the last entry.
    #[inline]
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// The entry at `off` and the offset of the next one; `None` at the end.
    #[inline]
    pub fn get(&self, off: usize) -> Option<(&[u8], usize)> {
        let mut len = 0usize;
        let mut shift = 0;
        let mut p = off;
        loop {
            let b = *self.buf.get(p)?;
            p += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let data = self.buf.get(p..p + len)?;
        Some((data, p + len))
    }

    /// All entries, first to last.
    pub fn iter(&self) -> PackIter<'_, AUX> {
        PackIter {
            pack: self,
            off: Self::HDR,
        }
    }

    /// Offsets of all entries (for backward walks and random access).
    pub fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.len());
        let mut off = Self::HDR;
        while let Some((_, next)) = self.get(off) {
            v.push(off);
            off = next;
        }
        v
    }

    /// The offset of entry number `idx`, walking from the front.
    pub fn offset_of(&self, idx: usize) -> Option<usize> {
        let mut off = Self::HDR;
        for _ in 0..idx {
            off = self.get(off)?.1;
        }
        (off < self.end()).then_some(off)
    }

    fn set_count(buf: &mut [u8], n: usize) {
        if let Some(h) = buf.get_mut(..COUNT) {
            h.copy_from_slice(&(n as u32).to_le_bytes());
        }
    }

    /// Rebuild the buffer: keep `..from`, put `items`, keep `to..`.
    fn splice(&mut self, from: usize, to: usize, items: &[&[u8]], removed: usize) {
        let added: usize = items.iter().map(|i| varint_len(i.len()) + i.len()).sum();
        let old = std::mem::take(&mut self.buf);
        let mut v = Vec::with_capacity(old.len() - (to - from) + added);
        v.extend_from_slice(old.get(..from).unwrap_or(&[]));
        for i in items {
            put_varint(&mut v, i.len());
            v.extend_from_slice(i);
        }
        v.extend_from_slice(old.get(to..).unwrap_or(&[]));
        let n = (u32::from_le_bytes([
            old.first().copied().unwrap_or(0),
            old.get(1).copied().unwrap_or(0),
            old.get(2).copied().unwrap_or(0),
            old.get(3).copied().unwrap_or(0),
        ]) as usize
            + items.len())
        .saturating_sub(removed);
        Self::set_count(&mut v, n);
        self.buf = v.into_boxed_slice();
    }

    /// Append `items`.
    pub fn push_back(&mut self, items: &[&[u8]]) {
        self.splice(self.end(), self.end(), items, 0);
    }

    /// Prepend `items` (in the given order).
    pub fn push_front(&mut self, items: &[&[u8]]) {
        self.splice(Self::HDR, Self::HDR, items, 0);
    }

    /// Remove `n` entries starting at `off`.
    pub fn remove(&mut self, off: usize, n: usize) {
        self.replace(off, n, &[]);
    }

    /// Replace the `n` entries at `off` by `items`.
    pub fn replace(&mut self, off: usize, n: usize, items: &[&[u8]]) {
        let mut to = off;
        let mut removed = 0;
        while removed < n {
            let Some((_, next)) = self.get(to) else { break };
            to = next;
            removed += 1;
        }
        self.splice(off, to, items, removed);
    }

    /// Offset of the first entry equal to `item` at an even index when
    /// `stride` is 2 (hash fields, sorted-set members), or any index when 1.
    pub fn find(&self, item: &[u8], stride: usize) -> Option<usize> {
        let mut off = Self::HDR;
        let mut i = 0usize;
        while let Some((e, next)) = self.get(off) {
            if i.is_multiple_of(stride) && e == item {
                return Some(off);
            }
            off = next;
            i += 1;
        }
        None
    }

    /// Build from a sequence of entries.
    /// The buffer is allocated at its exact size: a grown-then-shrunk
    /// vector would keep its larger allocation (the allocator shrinks in
    /// place), which for small aggregates costs up to half their memory.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let items: Vec<&[u8]> = items.into_iter().collect();
        let size = Self::HDR
            + items
                .iter()
                .map(|i| varint_len(i.len()) + i.len())
                .sum::<usize>();
        let mut v = Vec::with_capacity(size);
        v.resize(Self::HDR, 0);
        let mut n = 0;
        for i in items {
            put_varint(&mut v, i.len());
            v.extend_from_slice(i);
            n += 1;
        }
        Self::set_count(&mut v, n);
        Pack {
            buf: v.into_boxed_slice(),
        }
    }
}

/// Iterator over a pack's entries.
pub struct PackIter<'a, const AUX: usize = 0> {
    pack: &'a Pack<AUX>,
    off: usize,
}

impl<'a, const AUX: usize> Iterator for PackIter<'a, AUX> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (e, next) = self.pack.get(self.off)?;
        self.off = next;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aux_header_survives_edits() {
        let mut p = ListPack::new();
        p.set_aux(77);
        p.push_back(&[b"a", b"b"]);
        p.push_front(&[b"z"]);
        let off = p.find(b"a", 1).unwrap();
        p.remove(off, 1);
        assert_eq!(p.aux(), 77);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![&b"z"[..], b"b"]);
        assert_eq!((p.len(), p.bytes()), (2, 8 + 4));
        let q = ListPack::from_items([&b"x"[..]]);
        assert_eq!((q.aux(), q.len()), (0, 1));
    }

    #[test]
    fn edits_keep_count_and_order() {
        let mut p: Pack = Pack::new();
        assert!(p.is_empty());
        p.push_back(&[b"b", b"c"]);
        p.push_front(&[b"a"]);
        let long = vec![b'x'; 300];
        p.push_back(&[&long]);
        assert_eq!(p.len(), 4);
        let all: Vec<&[u8]> = p.iter().collect();
        assert_eq!(all, vec![&b"a"[..], b"b", b"c", &long[..]]);
        let off = p.find(b"b", 1).unwrap();
        p.replace(off, 1, &[b"B", b"B2"]);
        assert_eq!(p.len(), 5);
        let off = p.find(b"c", 1).unwrap();
        p.remove(off, 2);
        let all: Vec<&[u8]> = p.iter().collect();
        assert_eq!(all, vec![&b"a"[..], b"B", b"B2"]);
        assert_eq!(p.offsets().len(), 3);
        assert_eq!(p.get(p.offset_of(2).unwrap()).unwrap().0, b"B2");
        assert!(p.offset_of(3).is_none());
        // Stride 2 only matches even positions.
        let q: Pack = Pack::from_items([&b"f"[..], b"v", b"v", b"x"]);
        assert_eq!(q.find(b"v", 2), q.offset_of(2));
        assert_eq!(q.bytes(), 4 + 8);
    }
}
