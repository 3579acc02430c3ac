//! Set values in Redis 7.2's three encodings: `intset` (sorted integers at
//! the narrowest width that holds them all), `listpack` (a [`Pack`] of
//! members in insertion order) and `hashtable` (a [`Dict`]). The choice and
//! the one-way conversions follow Redis's `setTypeCreate` / `setTypeAdd`:
//! integers stay in an intset up to `set-max-intset-entries`, then go to a
//! hashtable; a non-integer member moves a small intset to a listpack when
//! it fits `set-max-listpack-*`, else to a hashtable.
//!
//! Storage: an intset of up to 22 bytes (ten 16-bit members) lives inline
//! in the value, with no allocation of its own. To keep [`Value`] at 24
//! bytes that inline form is a `Value` variant of its own
//! ([`Value::SmallIntSet`]), beside [`Value::IntSet`] (a longer intset) and
//! [`Value::Set`] (listpack or hashtable, [`SetVal`]). Code reads a set
//! through [`SetRef`] and changes it through [`SetMut`], which hide the
//! split and move the value between variants as it grows or converts.

use super::compact::{CompactBytes, InlineBytes};
use super::dict::{Dict, Keyed};
use super::pack::Pack;
use super::value::Value;
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
/// the width), like Redis's intset: a view of the bytes, wherever they live.
#[derive(Clone, Copy, Debug)]
pub struct IntSet<'a>(&'a [u8]);

/// The bytes of an empty intset.
const EMPTY_INTS: [u8; 1] = [2];

fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl<'a> IntSet<'a> {
    fn width(self) -> usize {
        usize::from(self.0.first().copied().unwrap_or(2)).max(2)
    }

    /// Number of integers.
    pub fn len(self) -> usize {
        self.0.len().saturating_sub(1) / self.width()
    }

    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The integer at sorted position `i`.
    pub fn at(self, i: usize) -> Option<i64> {
        let w = self.width();
        let b = self.0.get(1 + i * w..1 + (i + 1) * w)?;
        Some(match *b {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => return None,
        })
    }

    fn search(self, v: i64) -> Result<usize, usize> {
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
    pub fn contains(self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    /// All integers, ascending.
    pub fn iter(self) -> impl Iterator<Item = i64> + 'a {
        (0..self.len()).filter_map(move |i| self.at(i))
    }

    /// Bytes used.
    pub fn bytes(self) -> usize {
        self.0.len()
    }

    fn build(vals: impl ExactSizeIterator<Item = i64>, width: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + vals.len() * width);
        out.push(width as u8);
        for v in vals {
            match width {
                2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
                4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        out
    }

    /// The bytes with `v` added (at the width that holds it), or `None`
    /// when it is already there.
    fn with(self, v: i64) -> Option<Vec<u8>> {
        let pos = self.search(v).err()?;
        let width = self.width().max(width_for(v));
        let vals = (0..pos)
            .filter_map(|i| self.at(i))
            .chain(std::iter::once(v))
            .chain((pos..self.len()).filter_map(|i| self.at(i)))
            .collect::<Vec<_>>();
        Some(Self::build(vals.into_iter(), width))
    }

    /// The bytes without `v` (like Redis, never narrower), or `None` when
    /// it is not there.
    fn without(self, v: i64) -> Option<Vec<u8>> {
        let pos = self.search(v).ok()?;
        let w = self.width();
        let mut b = self.0.to_vec();
        b.drain(1 + pos * w..1 + (pos + 1) * w);
        Some(b)
    }
}

/// An intset's bytes as a value: inline when they fit.
fn intset_value(bytes: Vec<u8>) -> Value {
    match InlineBytes::new(&bytes) {
        Some(i) => Value::SmallIntSet(i),
        None => Value::IntSet(bytes.into_boxed_slice()),
    }
}

/// An empty intset (inline: no allocation).
fn empty_intset() -> Value {
    match InlineBytes::new(&EMPTY_INTS) {
        Some(i) => Value::SmallIntSet(i),
        None => Value::IntSet(Box::new(EMPTY_INTS)),
    }
}

/// A set in the `listpack` or `hashtable` encoding (intsets are
/// [`Value::SmallIntSet`] and [`Value::IntSet`]; see the module docs).
#[derive(Clone, Debug)]
pub enum SetVal {
    /// `listpack`.
    Pack(Pack),
    /// `hashtable`.
    Table(Box<Dict<Member>>),
}

impl PartialEq for SetVal {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (SetRef::from(self), SetRef::from(other));
        a.len() == b.len() && a.members().iter().all(|m| b.contains(m))
    }
}

/// A member as bytes: borrowed from the encoding, or an integer's text.
pub type MemberBytes<'a> = std::borrow::Cow<'a, [u8]>;

fn int_text(i: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    numfmt::write_int(&mut v, i);
    v
}

/// An empty set fit for a first member `first` and about `hint` members
/// (Redis's `setTypeCreate`).
pub fn create(first: &[u8], hint: usize, lim: SetLimits) -> Value {
    if numfmt::parse_i64(first).is_some() && hint <= lim.intset {
        empty_intset()
    } else if hint <= lim.entries {
        Value::Set(SetVal::Pack(Pack::new()))
    } else {
        Value::Set(SetVal::Table(Box::default()))
    }
}

/// A set built by adding `members` to an empty intset, the way Redis
/// builds SINTERSTORE / SUNIONSTORE / SDIFFSTORE results.
pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>, lim: SetLimits) -> Value {
    let mut v = empty_intset();
    if let Some(mut s) = SetMut::of(&mut v) {
        for m in members {
            s.add(m, lim);
        }
    }
    v
}

/// A set, read-only, in whichever encoding and storage.
#[derive(Clone, Copy, Debug)]
pub enum SetRef<'a> {
    /// `intset`.
    Ints(IntSet<'a>),
    /// `listpack`.
    Pack(&'a Pack),
    /// `hashtable`.
    Table(&'a Dict<Member>),
}

impl<'a> From<&'a SetVal> for SetRef<'a> {
    fn from(s: &'a SetVal) -> Self {
        match s {
            SetVal::Pack(p) => SetRef::Pack(p),
            SetVal::Table(d) => SetRef::Table(d),
        }
    }
}

impl<'a> SetRef<'a> {
    /// The set `v` holds, if it holds one.
    pub fn of(v: &'a Value) -> Option<Self> {
        match v {
            Value::SmallIntSet(b) => Some(SetRef::Ints(IntSet(b.as_slice()))),
            Value::IntSet(b) => Some(SetRef::Ints(IntSet(b))),
            Value::Set(s) => Some(SetRef::from(s)),
            _ => None,
        }
    }

    /// Number of members.
    pub fn len(self) -> usize {
        match self {
            SetRef::Ints(s) => s.len(),
            SetRef::Pack(p) => p.len(),
            SetRef::Table(d) => d.len(),
        }
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(self) -> &'static str {
        match self {
            SetRef::Ints(_) => "intset",
            SetRef::Pack(_) => "listpack",
            SetRef::Table(_) => "hashtable",
        }
    }

    /// True when `m` is a member.
    pub fn contains(self, m: &[u8]) -> bool {
        match self {
            SetRef::Ints(s) => numfmt::parse_i64(m).is_some_and(|i| s.contains(i)),
            SetRef::Pack(p) => p.find(m, 1).is_some(),
            SetRef::Table(d) => d.contains(m),
        }
    }

    /// Every member (intset ascending, listpack in insertion order,
    /// hashtable in table order).
    pub fn members(self) -> Vec<MemberBytes<'a>> {
        match self {
            SetRef::Ints(s) => s.iter().map(|i| MemberBytes::Owned(int_text(i))).collect(),
            SetRef::Pack(p) => p.iter().map(MemberBytes::Borrowed).collect(),
            SetRef::Table(d) => d.iter().map(|m| MemberBytes::Borrowed(&m.0[..])).collect(),
        }
    }

    /// A random member (uniform for intset and listpack, Redis's fair pick
    /// for hashtable).
    pub fn random(self, rand: &mut dyn FnMut() -> u64) -> Option<MemberBytes<'a>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match self {
            SetRef::Ints(s) => s
                .at((rand() as usize) % n)
                .map(|i| MemberBytes::Owned(int_text(i))),
            SetRef::Pack(p) => {
                let off = p.offset_of((rand() as usize) % n)?;
                p.get(off).map(|(m, _)| MemberBytes::Borrowed(m))
            }
            SetRef::Table(d) => d.random(rand).map(|m| MemberBytes::Borrowed(&m.0[..])),
        }
    }

    /// Bytes the value occupies (MEMORY USAGE).
    pub fn mem_usage(self) -> usize {
        match self {
            SetRef::Ints(s) => s.bytes() + 16,
            SetRef::Pack(p) => p.bytes() + 16,
            SetRef::Table(d) => {
                d.overhead_bytes()
                    + d.iter()
                        .map(|m| std::mem::size_of::<Member>() + m.0.heap_bytes())
                        .sum::<usize>()
            }
        }
    }
}

/// A set, for modification: holds the whole value, since adding or
/// removing may move it to another variant (see the module docs).
#[derive(Debug)]
pub struct SetMut<'a>(&'a mut Value);

impl<'a> SetMut<'a> {
    /// The set `v` holds, if it holds one.
    pub fn of(v: &'a mut Value) -> Option<Self> {
        SetRef::of(v).is_some().then_some(SetMut(v))
    }

    /// The set, read-only.
    pub fn get(&self) -> SetRef<'_> {
        match SetRef::of(self.0) {
            Some(s) => s,
            // `of` admits only set values.
            None => SetRef::Ints(IntSet(&EMPTY_INTS)),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.get().len()
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(&self) -> bool {
        self.get().is_empty()
    }

    /// A random member (see [`SetRef::random`]).
    pub fn random(&self, rand: &mut dyn FnMut() -> u64) -> Option<MemberBytes<'_>> {
        self.get().random(rand)
    }

    /// True when `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.get().contains(m)
    }

    /// Convert to `hashtable` holding the current members and `extra`.
    fn convert_to_table(&mut self, extra: Option<&[u8]>) {
        let mut d: Dict<Member> = Dict::new();
        for m in self.get().members() {
            d.insert_new(Member(CompactBytes::new(&m)));
        }
        if let Some(m) = extra {
            d.insert_new(Member(CompactBytes::new(m)));
        }
        *self.0 = Value::Set(SetVal::Table(Box::new(d)));
    }

    /// Add `m`; true when it is new.
    pub fn add(&mut self, m: &[u8], lim: SetLimits) -> bool {
        let ints = match self.get() {
            SetRef::Ints(s) => s,
            SetRef::Pack(_) | SetRef::Table(_) => return self.add_to_big(m, lim),
        };
        if let Some(i) = numfmt::parse_i64(m) {
            let Some(grown) = ints.with(i) else {
                return false;
            };
            let over = ints.len() + 1 > lim.intset.min(1 << 30);
            *self.0 = intset_value(grown);
            if over {
                self.convert_to_table(None);
            }
            return true;
        }
        let n = ints.len();
        let widest = [ints.at(0), n.checked_sub(1).and_then(|l| ints.at(l))]
            .into_iter()
            .flatten()
            .map(|i| int_text(i).len())
            .max()
            .unwrap_or(0);
        if n < lim.entries && m.len() <= lim.value && widest <= lim.value {
            let texts: Vec<Vec<u8>> = ints.iter().map(int_text).collect();
            let mut p = Pack::from_items(texts.iter().map(Vec::as_slice));
            p.push_back(&[m]);
            *self.0 = Value::Set(SetVal::Pack(p));
        } else {
            self.convert_to_table(Some(m));
        }
        true
    }

    fn add_to_big(&mut self, m: &[u8], lim: SetLimits) -> bool {
        match &mut *self.0 {
            Value::Set(SetVal::Pack(p)) => {
                if p.find(m, 1).is_some() {
                    return false;
                }
                if p.len() < lim.entries && m.len() <= lim.value {
                    p.push_back(&[m]);
                } else {
                    self.convert_to_table(Some(m));
                }
                true
            }
            Value::Set(SetVal::Table(d)) => {
                if d.contains(m) {
                    return false;
                }
                d.insert_new(Member(CompactBytes::new(m)));
                true
            }
            _ => false,
        }
    }

    /// Remove `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        if let SetRef::Ints(s) = self.get() {
            let shrunk = numfmt::parse_i64(m).and_then(|i| s.without(i));
            return match shrunk {
                Some(b) => {
                    *self.0 = intset_value(b);
                    true
                }
                None => false,
            };
        }
        match &mut *self.0 {
            Value::Set(SetVal::Pack(p)) => match p.find(m, 1) {
                Some(off) => {
                    p.remove(off, 1);
                    true
                }
                None => false,
            },
            Value::Set(SetVal::Table(d)) => d.remove(m).is_some(),
            _ => false,
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

    fn enc(v: &Value) -> &'static str {
        SetRef::of(v).map_or("none", SetRef::encoding)
    }

    fn members(v: &Value) -> Vec<Vec<u8>> {
        SetRef::of(v)
            .map(|s| s.members().into_iter().map(|m| m.into_owned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn intset_widens_and_stays_sorted() {
        let big = SetLimits { intset: 512, ..LIM };
        let mut v = create(b"5", 1, big);
        let mut s = SetMut::of(&mut v).unwrap();
        for x in [5i64, -3, 70000, 1 << 40, 5] {
            s.add(x.to_string().as_bytes(), big);
        }
        let SetRef::Ints(ints) = s.get() else {
            panic!("not an intset")
        };
        assert_eq!(ints.iter().collect::<Vec<_>>(), vec![-3, 5, 70000, 1 << 40]);
        assert_eq!(ints.bytes(), 1 + 4 * 8);
        assert!(s.remove(b"70000"));
        assert!(!s.contains(b"70000"));
        assert_eq!(s.len(), 3);
        assert!(matches!(v, Value::IntSet(_)), "33 bytes live on the heap");
        // Ten 16-bit members (21 bytes) stay inline; the eleventh moves out.
        let mut v = from_members([&b"1"[..]], big);
        let mut s = SetMut::of(&mut v).unwrap();
        for x in 2..=10 {
            s.add(x.to_string().as_bytes(), big);
        }
        assert!(matches!(v, Value::SmallIntSet(_)));
        let mut s = SetMut::of(&mut v).unwrap();
        s.add(b"11", big);
        assert!(matches!(v, Value::IntSet(_)));
        let mut s = SetMut::of(&mut v).unwrap();
        assert!(s.remove(b"11") && !s.remove(b"11"));
        assert!(matches!(v, Value::SmallIntSet(_)));
        assert_eq!(members(&v).len(), 10);
    }

    fn add(v: &mut Value, m: &[u8]) -> bool {
        SetMut::of(v).is_some_and(|mut s| s.add(m, LIM))
    }

    #[test]
    fn conversions_follow_redis_7_2() {
        let mut v = create(b"1", 1, LIM);
        for m in [&b"1"[..], b"2", b"3"] {
            add(&mut v, m);
        }
        assert_eq!(enc(&v), "intset");
        add(&mut v, b"a");
        assert_eq!(enc(&v), "hashtable", "3 ints + 1 string exceeds entries=3");
        let mut v = create(b"1", 1, LIM);
        add(&mut v, b"1");
        add(&mut v, b"abc");
        assert_eq!(enc(&v), "listpack");
        assert_eq!(members(&v), vec![b"1".to_vec(), b"abc".to_vec()]);
        add(&mut v, b"toolong");
        assert_eq!(enc(&v), "hashtable");
        let mut v = create(b"1", 1, LIM);
        for i in 0..5 {
            add(&mut v, i.to_string().as_bytes());
        }
        assert_eq!(enc(&v), "hashtable", "past set-max-intset-entries");
        let s = SetRef::of(&v).unwrap();
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"4") && !s.contains(b"04"));
        assert!(!add(&mut v, b"4"));
        assert!(SetMut::of(&mut Value::Str(crate::keyspace::RStr::Int(1))).is_none());
    }
}
