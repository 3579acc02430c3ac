//! Hash values in Redis's two encodings: `listpack` (a [`Pack`] of
//! field, value, field, value ... in insertion order) while small, and
//! `hashtable` (a [`Dict`] of fields, with SCAN cursors and fair random
//! picks) past `hash-max-listpack-entries` / `hash-max-listpack-value`.
//! Conversion is one-way, as in Redis.

use super::compact::CompactBytes;
use super::dict::{Dict, Keyed};
use super::pack::Pack;

/// When a small encoding must give way (from the `*-max-listpack-*` directives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackLimits {
    /// Most entries (fields, members) a compact value may hold.
    pub entries: usize,
    /// Longest field or value (bytes) a compact value may hold.
    pub value: usize,
}

/// A field and its value in a `hashtable`-encoded hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: CompactBytes,
    /// Its value.
    pub value: CompactBytes,
}

impl Keyed for Field {
    #[inline]
    fn key(&self) -> &[u8] {
        self.name.as_slice()
    }
}

/// A hash value.
#[derive(Clone, Debug)]
pub enum HashVal {
    /// `listpack`: fields and values alternate, in insertion order.
    Pack(Pack),
    /// `hashtable`.
    Table(Box<Dict<Field>>),
}

impl PartialEq for HashVal {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Default for HashVal {
    fn default() -> Self {
        HashVal::Pack(Pack::new())
    }
}

impl HashVal {
    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashVal::Pack(p) => p.len() / 2,
            HashVal::Table(d) => d.len(),
        }
    }

    /// True with no fields (such a hash is deleted by the caller).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashVal::Pack(_) => "listpack",
            HashVal::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            HashVal::Pack(p) => {
                let off = p.find(field, 2)?;
                let (_, next) = p.get(off)?;
                Some(p.get(next)?.0)
            }
            HashVal::Table(d) => d.get(field).map(|f| f.value.as_slice()),
        }
    }

    /// Convert to `hashtable` now.
    pub fn convert(&mut self) {
        if let HashVal::Pack(p) = self {
            let mut d: Dict<Field> = Dict::new();
            let mut it = p.iter();
            while let (Some(name), Some(value)) = (it.next(), it.next()) {
                d.insert_new(Field {
                    name: CompactBytes::new(name),
                    value: CompactBytes::new(value),
                });
            }
            *self = HashVal::Table(Box::new(d));
        }
    }

    /// Convert before writing fields or values longer than the limit
    /// (Redis's `hashTypeTryConversion`, run over all the arguments first).
    pub fn prepare(&mut self, lengths: impl IntoIterator<Item = usize>, lim: PackLimits) {
        if matches!(self, HashVal::Pack(_)) && lengths.into_iter().any(|l| l > lim.value) {
            self.convert();
        }
    }

    /// Set `field` to `value`; true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: PackLimits) -> bool {
        self.prepare([field.len(), value.len()], lim);
        let new = match self {
            HashVal::Pack(p) => match p.find(field, 2) {
                Some(off) => {
                    let voff = p.get(off).map_or(off, |(_, n)| n);
                    p.replace(voff, 1, &[value]);
                    false
                }
                None => {
                    p.push_back(&[field, value]);
                    true
                }
            },
            HashVal::Table(d) => match d.get_mut(field) {
                Some(f) => {
                    f.value = CompactBytes::new(value);
                    false
                }
                None => {
                    d.insert_new(Field {
                        name: CompactBytes::new(field),
                        value: CompactBytes::new(value),
                    });
                    true
                }
            },
        };
        if self.len() > lim.entries {
            self.convert();
        }
        new
    }

    /// Remove `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashVal::Pack(p) => match p.find(field, 2) {
                Some(off) => {
                    p.remove(off, 2);
                    true
                }
                None => false,
            },
            HashVal::Table(d) => d.remove(field).is_some(),
        }
    }

    /// All (field, value) pairs: insertion order for `listpack`, table order
    /// otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            HashVal::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashVal::Table(d) => {
                Box::new(d.iter().map(|f| (f.name.as_slice(), f.value.as_slice())))
            }
        }
    }

    /// The pair at position `idx` of [`HashVal::iter`] for `listpack`, or a
    /// fair random pair for `hashtable` (`rand` supplies randomness).
    pub fn random(&self, rand: &mut dyn FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        match self {
            HashVal::Pack(p) => {
                let n = p.len() / 2;
                if n == 0 {
                    return None;
                }
                let idx = (rand() as usize) % n;
                let off = p.offset_of(idx * 2)?;
                let (f, next) = p.get(off)?;
                Some((f, p.get(next)?.0))
            }
            HashVal::Table(d) => d
                .random(rand)
                .map(|f| (f.name.as_slice(), f.value.as_slice())),
        }
    }

    /// Bytes the value occupies (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            HashVal::Pack(p) => p.bytes() + 16,
            HashVal::Table(d) => {
                let node = std::mem::size_of::<Field>();
                d.overhead_bytes()
                    + d.iter()
                        .map(|f| node + f.name.heap_bytes() + f.value.heap_bytes())
                        .sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: PackLimits = PackLimits {
        entries: 4,
        value: 8,
    };

    #[test]
    fn converts_past_the_limits_and_keeps_contents() {
        let mut h = HashVal::default();
        assert!(h.set(b"a", b"1", LIM));
        assert!(!h.set(b"a", b"2", LIM));
        for f in [&b"b"[..], b"c", b"d"] {
            assert!(h.set(f, b"x", LIM));
        }
        assert_eq!(h.encoding(), "listpack");
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, vec![&b"a"[..], b"b", b"c", b"d"]);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        h.set(b"e", b"x", LIM);
        h.set(b"f", b"x", LIM);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        let mut small = HashVal::default();
        small.set(b"k", b"123456789", LIM);
        assert_eq!(small.encoding(), "hashtable");
        // A value equal to a field name is not mistaken for a field.
        let mut h = HashVal::default();
        h.set(b"f", b"g", LIM);
        assert_eq!(h.get(b"g"), None);
    }
}
