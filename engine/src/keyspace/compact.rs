//! `CompactBytes`: a 24-byte byte string that keeps up to 22 bytes inline.
//!
//! Keys in the keyspace are mostly short (`user:1234`, `key:000000012345`),
//! so storing them inline saves one allocation and one pointer chase per
//! lookup. Longer strings live in a boxed slice.

use std::fmt;

const INLINE: usize = 22;

/// A byte string, inline when short.
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to 22 bytes stored in place.
    Inline {
        /// Valid bytes in `data`.
        len: u8,
        /// The bytes; only `..len` are meaningful.
        data: [u8; INLINE],
    },
    /// Anything longer.
    Heap(Box<[u8]>),
}

impl CompactBytes {
    /// Copy `b` into a new compact string.
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE {
            let mut data = [0u8; INLINE];
            if let Some(dst) = data.get_mut(..b.len()) {
                dst.copy_from_slice(b);
            }
            CompactBytes::Inline {
                len: b.len() as u8,
                data,
            }
        } else {
            CompactBytes::Heap(b.into())
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => data.get(..usize::from(*len)).unwrap_or(&[]),
            CompactBytes::Heap(b) => b,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            CompactBytes::Inline { len, .. } => usize::from(*len),
            CompactBytes::Heap(b) => b.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 24 inline bytes (for MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl std::ops::Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        for n in [0, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let c = CompactBytes::new(&v);
            assert_eq!(c.as_slice(), &v[..]);
            assert_eq!(c.len(), n);
        }
    }
}
