//! Values stored under keys, and their Redis encodings.
//!
//! Strings keep Redis's three encodings because `OBJECT ENCODING` reports
//! them and clients (and our differential tests) see the difference:
//! `int` (a canonical 64-bit integer of at most 20 characters), `embstr`
//! (at most 44 bytes, created whole by SET-like commands) and `raw`
//! (longer, or modified in place by APPEND/SETRANGE/SETBIT).
//! Aggregate types keep Redis's compact-then-full encodings: hashes in
//! [`super::hash`], sets in [`super::set`], lists in [`super::list`], sorted sets in [`super::zset`].
//!
//! Size: a `Value` is 24 bytes, a third of every key's 64-byte dict node
//! ([`super::key`] has the arithmetic). rustc makes that possible when one
//! variant carries a tag byte with spare values (a niche: here `RStr`'s,
//! from `CompactBytes`) and every other variant fits beside it: in 16
//! bytes at offset 8 (a boxed slice, or a tag-less enum of a boxed slice
//! and a box) or in 23 bytes of alignment 1 (`InlineBytes`). Hence a long
//! `raw` string is a boxed slice (`RStr::Long`) until modified in place,
//! when it becomes a boxed `Vec` with room to grow (`RStr::Raw`); and a set
//! spreads over three variants (inline intset, heap intset, listpack or
//! hashtable) that [`super::set::SetRef`] / [`super::set::SetMut`] unify.
//! `layout_tests` in [`super::db`] fail if the size grows.

use super::compact::{CompactBytes, InlineBytes};
use super::hash::HashVal;
use super::list::ListVal;
use super::set::{SetRef, SetVal};
use super::zset::ZSetVal;
use resp::numfmt;
use std::borrow::Cow;

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;

/// A string value in one of Redis's encodings.
#[derive(Clone, Debug, PartialEq)]
pub enum RStr {
    /// `int`: the value is the decimal form of this integer.
    Int(i64),
    /// `embstr`: short, immutable in place.
    Emb(CompactBytes),
    /// `raw` as written whole (longer than `embstr`): sized exactly.
    Long(Box<[u8]>),
    /// `raw` after an in-place change: spare capacity for appends.
    Raw(Box<Vec<u8>>),
}

impl RStr {
    /// Encode a freshly written value the way Redis's `tryObjectEncoding` does.
    pub fn from_bytes(b: &[u8]) -> RStr {
        if b.len() <= 20 {
            if let Some(i) = numfmt::parse_i64(b) {
                return RStr::Int(i);
            }
        }
        RStr::from_text(b)
    }

    /// A value computed as text (INCRBYFLOAT): `embstr` when short, else `raw`,
    /// never `int` (Redis's `createStringObject`).
    pub fn from_text(b: &[u8]) -> RStr {
        if b.len() <= EMBSTR_MAX {
            RStr::Emb(CompactBytes::new(b))
        } else {
            RStr::Long(b.into())
        }
    }

    /// A `raw` value built elsewhere (bitmap, HyperLogLog and SETRANGE
    /// results), kept growable for further in-place changes.
    pub fn raw(v: Vec<u8>) -> RStr {
        RStr::Raw(Box::new(v))
    }

    /// The bytes of the value (integers formatted on demand).
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            RStr::Int(i) => {
                let mut v = Vec::with_capacity(20);
                numfmt::write_int(&mut v, *i);
                Cow::Owned(v)
            }
            RStr::Emb(c) => Cow::Borrowed(c.as_slice()),
            RStr::Long(b) => Cow::Borrowed(b),
            RStr::Raw(v) => Cow::Borrowed(v),
        }
    }

    /// Append the value's bytes to `out` without an intermediate allocation.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            RStr::Int(i) => numfmt::write_int(out, *i),
            RStr::Emb(c) => out.extend_from_slice(c.as_slice()),
            RStr::Long(b) => out.extend_from_slice(b),
            RStr::Raw(v) => out.extend_from_slice(v),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            RStr::Int(i) => int_len(*i),
            RStr::Emb(c) => c.len(),
            RStr::Long(b) => b.len(),
            RStr::Raw(v) => v.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value if the bytes are a canonical integer (`string2ll`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            RStr::Int(i) => Some(*i),
            RStr::Emb(c) => numfmt::parse_i64(c),
            RStr::Long(b) => numfmt::parse_i64(b),
            RStr::Raw(v) => numfmt::parse_i64(v),
        }
    }

    /// Turn into the growable `raw` form (for in-place modification) and
    /// return the buffer. Once `Raw`, a value stays so: repeated appends
    /// grow the `Vec` geometrically.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, RStr::Raw(_)) {
            let bytes = match std::mem::replace(self, RStr::Int(0)) {
                // No copy: the boxed slice becomes the vector's buffer.
                RStr::Long(b) => b.into_vec(),
                other => other.as_bytes().into_owned(),
            };
            *self = RStr::raw(bytes);
        }
        match self {
            RStr::Raw(v) => v,
            // Just converted above.
            _ => unreachable_raw(),
        }
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            RStr::Int(_) => "int",
            RStr::Emb(_) => "embstr",
            RStr::Long(_) | RStr::Raw(_) => "raw",
        }
    }
}

fn unreachable_raw() -> ! {
    panic!("RStr::make_raw invariant broken")
}

/// Number of characters in the decimal form of `i`.
pub fn int_len(i: i64) -> usize {
    let mut n = i.unsigned_abs();
    let mut len = usize::from(i < 0);
    loop {
        len += 1;
        n /= 10;
        if n == 0 {
            return len;
        }
    }
}

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string.
    Str(RStr),
    /// A hash.
    Hash(HashVal),
    /// A set in the `intset` encoding, of at most 22 bytes, stored inline.
    SmallIntSet(InlineBytes),
    /// A set in the `intset` encoding, longer.
    IntSet(Box<[u8]>),
    /// A set in the `listpack` or `hashtable` encoding.
    Set(SetVal),
    /// A list.
    List(ListVal),
    /// A sorted set.
    ZSet(ZSetVal),
}

impl Value {
    /// `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::ZSet(_) => "zset",
        }
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_) => self.set_encoding(),
            Value::List(l) => l.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// True for a set, whichever variant holds it.
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_)
        )
    }

    fn set_encoding(&self) -> &'static str {
        SetRef::of(self).map_or("unknown", SetRef::encoding)
    }

    /// Approximate bytes used by the value (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(RStr::Int(_)) => 0,
            Value::Str(RStr::Emb(c)) => c.heap_bytes(),
            Value::Str(RStr::Long(b)) => b.len(),
            Value::Str(RStr::Raw(v)) => v.capacity(),
            Value::Hash(h) => h.mem_usage(),
            Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_) => {
                SetRef::of(self).map_or(0, SetRef::mem_usage)
            }
            Value::List(l) => l.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
        }
    }

    /// True for an aggregate with no elements left (its key must go).
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_) => {
                SetRef::of(self).is_some_and(SetRef::is_empty)
            }
            Value::List(l) => l.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(RStr::from_bytes(b"123").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"-9223372036854775808").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(
            RStr::from_bytes(b"12345678901234567890123").encoding(),
            "embstr"
        );
        assert_eq!(RStr::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(RStr::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(RStr::from_text(b"10.5").encoding(), "embstr");
        let mut s = RStr::from_bytes(b"12");
        s.make_raw().extend_from_slice(b"3");
        assert_eq!(s.encoding(), "raw");
        assert_eq!(&*s.as_bytes(), b"123");
        let mut s = RStr::from_bytes(&[b'a'; 50]);
        assert!(matches!(s, RStr::Long(_)));
        s.make_raw().push(b'b');
        assert!(matches!(s, RStr::Raw(_)));
        assert_eq!((s.len(), s.encoding()), (51, "raw"));
        for i in [0, 9, 10, -1, -10, i64::MIN, i64::MAX] {
            assert_eq!(int_len(i), i.to_string().len());
        }
    }
}
