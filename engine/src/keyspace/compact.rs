//! `CompactBytes`: a 24-byte byte string that keeps up to 22 bytes inline,
//! and `InlineBytes`, its inline half on its own.
//!
//! Members, fields and short strings are mostly short, so storing them
//! inline saves one allocation and one pointer chase per lookup. Longer
//! strings live in a boxed slice. `InlineBytes` is 23 bytes with alignment
//! 1, so an enum can hold it beside a 1-byte tag in 24 bytes: that is how
//! [`super::value::Value`] keeps a small intset inline (see its module docs).
//! Keys have their own type, [`super::key::Key`], which also holds the
//! access clock.

use std::fmt;

/// Most bytes [`InlineBytes`] holds.
pub const INLINE: usize = 22;

/// Up to 22 bytes stored in place (23 bytes, alignment 1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineBytes {
    /// Valid bytes in `data`.
    len: u8,
    /// The bytes; only `..len` are meaningful.
    data: [u8; INLINE],
}

impl InlineBytes {
    /// `b` stored inline, or `None` when longer than [`INLINE`].
    pub fn new(b: &[u8]) -> Option<Self> {
        let mut data = [0u8; INLINE];
        data.get_mut(..b.len())?.copy_from_slice(b);
        Some(InlineBytes {
            len: b.len() as u8,
            data,
        })
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl fmt::Debug for InlineBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

/// A byte string, inline when short.
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to 22 bytes stored in place.
    Inline(InlineBytes),
    /// Anything longer.
    Heap(Box<[u8]>),
}

impl CompactBytes {
    /// Copy `b` into a new compact string.
    pub fn new(b: &[u8]) -> Self {
        match InlineBytes::new(b) {
            Some(i) => CompactBytes::Inline(i),
            None => CompactBytes::Heap(b.into()),
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline(i) => i.as_slice(),
            CompactBytes::Heap(b) => b,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            CompactBytes::Inline(i) => usize::from(i.len),
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
            CompactBytes::Inline(_) => 0,
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
        assert_eq!(std::mem::size_of::<InlineBytes>(), 23);
        assert_eq!(std::mem::align_of::<InlineBytes>(), 1);
        for n in [0, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let c = CompactBytes::new(&v);
            assert_eq!(c.as_slice(), &v[..]);
            assert_eq!(c.len(), n);
            assert_eq!(InlineBytes::new(&v).is_some(), n <= INLINE);
        }
    }
}
