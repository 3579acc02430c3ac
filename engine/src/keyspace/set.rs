//! Set values in Redis 7.2's three encodings: `intset` (sorted integers at
//! the narrowest width that holds them all), `listpack` (a [`Pack`] of
//! members in insertion order) and `hashtable` (a [`Dict`]). The choice and
//! the one-way conversions follow Redis's `setTypeCreate` / `setTypeAdd`:
//! integers stay in an intset up to `set-max-intset-entries`, then go to a
//! hashtable; a non-integer member moves a small intset to a listpack when
//! it fits `set-max-listpack-*`, else to a hashtable.

use super::compact::CompactBytes;
use super::dict::{Dict, Keyed};
use super::pack::Pack;
use resp::numfmt;

/// A member of a `hashtable`-encoded set.
#[derive(Clone, Debug, PartialEq)]
pub struct Member(pub CompactBytes);

impl Keyed for Member {
    #[inline]
    fn key(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// Thresholds from `set-max-intset-entries` and `set-max-listpack-*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLimits {
    /// `set-max-intset-entries`.
    pub intset: usize,
    /// `set-max-listpack-entries`.
    pub entries: usize,
    /// `set-max-listpack-value`.
    pub value: usize,
}

/// Sorted distinct integers, stored at 2, 4 or 8 bytes each (byte 0 holds
/// the width), like Redis's intset. Up to 22 bytes (ten 16-bit members)
/// live inline in the value, with no allocation of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntSet {
    buf: CompactBytes,
}

fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet {
            buf: CompactBytes::new(&[2u8]),
        }
    }
}

impl IntSet {
    fn width(&self) -> usize {
        usize::from(self.buf.first().copied().unwrap_or(2)).max(2)
    }

    /// Number of integers.
    pub fn len(&self) -> usize {
        (self.buf.len() - 1) / self.width()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer at sorted position `i`.
    pub fn at(&self, i: usize) -> Option<i64> {
        let w = self.width();
        let b = self.buf.get(1 + i * w..1 + (i + 1) * w)?;
        Some(match *b {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => return None,
        })
    }

    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.at(mid).map(|m| m.cmp(&v)) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(std::cmp::Ordering::Greater) => hi = mid,
                _ => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// True when `v` is in the set.
    pub fn contains(&self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    fn rebuild(vals: impl ExactSizeIterator<Item = i64>, width: usize) -> CompactBytes {
        let mut out = Vec::with_capacity(1 + vals.len() * width);
        out.push(width as u8);
        for v in vals {
            match width {
                2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
                4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        CompactBytes::new(&out)
    }

    /// Add `v`; true when it was not there.
    pub fn insert(&mut self, v: i64) -> bool {
        let Err(pos) = self.search(v) else {
            return false;
        };
        let width = self.width().max(width_for(v));
        let n = self.len();
        let vals = (0..pos)
            .filter_map(|i| self.at(i))
            .chain(std::iter::once(v))
            .chain((pos..n).filter_map(|i| self.at(i)))
            .collect::<Vec<_>>();
        self.buf = Self::rebuild(vals.into_iter(), width);
        true
    }

    /// Remove `v`; true when it was there. (Like Redis, never narrows.)
    pub fn remove(&mut self, v: i64) -> bool {
        let Ok(pos) = self.search(v) else {
            return false;
        };
        let w = self.width();
        let mut b = self.buf.to_vec();
        b.drain(1 + pos * w..1 + (pos + 1) * w);
        self.buf = CompactBytes::new(&b);
        true
    }

    /// All integers, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).filter_map(|i| self.at(i))
    }

    /// Bytes used.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }
}

/// A set value.
#[derive(Clone, Debug)]
pub enum SetVal {
    /// `intset`.
    Ints(IntSet),
    /// `listpack`.
    Pack(Pack),
    /// `hashtable`.
    Table(Box<Dict<Member>>),
}

impl PartialEq for SetVal {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.members().iter().all(|m| other.contains(m))
    }
}

/// A member as bytes: borrowed from the encoding, or an integer's text.
pub type MemberBytes<'a> = std::borrow::Cow<'a, [u8]>;

fn int_text(i: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    numfmt::write_int(&mut v, i);
    v
}

impl SetVal {
    /// An empty set fit for a first member `first` and about `hint` members
    /// (Redis's `setTypeCreate`).
    pub fn create(first: &[u8], hint: usize, lim: SetLimits) -> SetVal {
        if numfmt::parse_i64(first).is_some() && hint <= lim.intset {
            SetVal::Ints(IntSet::default())
        } else if hint <= lim.entries {
            SetVal::Pack(Pack::new())
        } else {
            SetVal::Table(Box::default())
        }
    }

    /// A set built by adding `members` to an empty intset, the way Redis
    /// builds SINTERSTORE / SUNIONSTORE / SDIFFSTORE results.
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>, lim: SetLimits) -> SetVal {
        let mut s = SetVal::Ints(IntSet::default());
        for m in members {
            s.add(m, lim);
        }
        s
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetVal::Ints(s) => s.len(),
            SetVal::Pack(p) => p.len(),
            SetVal::Table(d) => d.len(),
        }
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetVal::Ints(_) => "intset",
            SetVal::Pack(_) => "listpack",
            SetVal::Table(_) => "hashtable",
        }
    }

    /// True when `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetVal::Ints(s) => numfmt::parse_i64(m).is_some_and(|i| s.contains(i)),
            SetVal::Pack(p) => p.find(m, 1).is_some(),
            SetVal::Table(d) => d.contains(m),
        }
    }

    /// Convert to `hashtable`, then insert `m` (known to be absent).
    fn insert_as_table(&mut self, m: &[u8]) {
        self.convert_to_table();
        if let SetVal::Table(d) = self {
            d.insert_new(Member(CompactBytes::new(m)));
        }
    }

    fn convert_to_table(&mut self) {
        let mut d: Dict<Member> = Dict::new();
        for m in self.members() {
            d.insert_new(Member(CompactBytes::new(&m)));
        }
        *self = SetVal::Table(Box::new(d));
    }

    /// Add `m`; true when it is new.
    pub fn add(&mut self, m: &[u8], lim: SetLimits) -> bool {
        match self {
            SetVal::Ints(s) => {
                if let Some(i) = numfmt::parse_i64(m) {
                    let added = s.insert(i);
                    if added && s.len() > lim.intset.min(1 << 30) {
                        self.convert_to_table();
                    }
                    return added;
                }
                let n = s.len();
                let widest = [s.at(0), n.checked_sub(1).and_then(|l| s.at(l))]
                    .into_iter()
                    .flatten()
                    .map(|i| int_text(i).len())
                    .max()
                    .unwrap_or(0);
                if n < lim.entries && m.len() <= lim.value && widest <= lim.value {
                    let texts: Vec<Vec<u8>> = s.iter().map(int_text).collect();
                    let mut p = Pack::from_items(texts.iter().map(Vec::as_slice));
                    p.push_back(&[m]);
                    *self = SetVal::Pack(p);
                } else {
                    self.insert_as_table(m);
                }
                true
            }
            SetVal::Pack(p) => {
                if p.find(m, 1).is_some() {
                    return false;
                }
                if p.len() < lim.entries && m.len() <= lim.value {
                    p.push_back(&[m]);
                } else {
                    self.insert_as_table(m);
                }
                true
            }
            SetVal::Table(d) => {
                if d.contains(m) {
                    return false;
                }
                d.insert_new(Member(CompactBytes::new(m)));
                true
            }
        }
    }

    /// Remove `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetVal::Ints(s) => numfmt::parse_i64(m).is_some_and(|i| s.remove(i)),
            SetVal::Pack(p) => match p.find(m, 1) {
                Some(off) => {
                    p.remove(off, 1);
                    true
                }
                None => false,
            },
            SetVal::Table(d) => d.remove(m).is_some(),
        }
    }

    /// Every member (intset ascending, listpack in insertion order,
    /// hashtable in table order).
    pub fn members(&self) -> Vec<MemberBytes<'_>> {
        match self {
            SetVal::Ints(s) => s.iter().map(|i| MemberBytes::Owned(int_text(i))).collect(),
            SetVal::Pack(p) => p.iter().map(MemberBytes::Borrowed).collect(),
            SetVal::Table(d) => d.iter().map(|m| MemberBytes::Borrowed(&m.0[..])).collect(),
        }
    }

    /// A random member (uniform for intset and listpack, Redis's fair pick
    /// for hashtable).
    pub fn random(&self, rand: &mut dyn FnMut() -> u64) -> Option<MemberBytes<'_>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match self {
            SetVal::Ints(s) => s
                .at((rand() as usize) % n)
                .map(|i| MemberBytes::Owned(int_text(i))),
            SetVal::Pack(p) => {
                let off = p.offset_of((rand() as usize) % n)?;
                p.get(off).map(|(m, _)| MemberBytes::Borrowed(m))
            }
            SetVal::Table(d) => d.random(rand).map(|m| MemberBytes::Borrowed(&m.0[..])),
        }
    }

    /// Bytes the value occupies (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            SetVal::Ints(s) => s.bytes() + 16,
            SetVal::Pack(p) => p.bytes() + 16,
            SetVal::Table(d) => {
                d.overhead_bytes()
                    + d.iter()
                        .map(|m| std::mem::size_of::<Member>() + m.0.heap_bytes())
                        .sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: SetLimits = SetLimits {
        intset: 4,
        entries: 3,
        value: 5,
    };

    #[test]
    fn intset_widens_and_stays_sorted() {
        let mut s = IntSet::default();
        for v in [5, -3, 70000, 1 << 40, 5] {
            s.insert(v);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-3, 5, 70000, 1 << 40]);
        assert_eq!(s.bytes(), 1 + 4 * 8);
        assert!(s.remove(70000));
        assert!(!s.contains(70000));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn conversions_follow_redis_7_2() {
        let mut s = SetVal::create(b"1", 1, LIM);
        for m in [&b"1"[..], b"2", b"3"] {
            s.add(m, LIM);
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"a", LIM);
        assert_eq!(
            s.encoding(),
            "hashtable",
            "3 ints + 1 string exceeds entries=3"
        );
        let mut s = SetVal::create(b"1", 1, LIM);
        s.add(b"1", LIM);
        s.add(b"abc", LIM);
        assert_eq!(s.encoding(), "listpack");
        assert_eq!(s.members(), vec![&b"1"[..], b"abc"]);
        s.add(b"toolong", LIM);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetVal::create(b"1", 1, LIM);
        for i in 0..5 {
            s.add(i.to_string().as_bytes(), LIM);
        }
        assert_eq!(s.encoding(), "hashtable", "past set-max-intset-entries");
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"4") && !s.contains(b"04"));
    }
}
