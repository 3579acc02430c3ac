//! `Key`: a keyspace key and its access clock (OBJECT IDLETIME) in 24 bytes.
//!
//! Every key costs one dict node (`super::dict`): an 8-byte chain link and
//! an [`super::db::Entry`] of key, value and expiry. mimalloc's size classes
//! step 48, 64, 80, so the entry must stay within 56 bytes for the node to
//! take 64: `Key` 24 + `Value` 24 + expiry 8. The access clock has to live
//! inside one of those, and this type is where it fits:
//!
//! - The clock is Redis's own LRU clock ([`LruClock`]): Unix seconds modulo
//!   2^24 (`LRU_BITS`, 1-second resolution), idle times computed as
//!   `estimateObjectIdleTime` does, so they wrap after 194 days exactly as
//!   Redis's do. Three bytes.
//! - A key of up to 20 bytes is stored inline after a length byte and the
//!   clock. The length is an enum of 0..=20, so its remaining values tag
//!   the other variant (a niche) and no separate tag byte is needed.
//! - A longer key is a boxed slice holding the clock's three bytes and then
//!   the key; the box sits at offset 8, clear of the length byte.
//!
//! Rejected: folding the clock into the expiry word (PEXPIREAT accepts any
//! positive 64-bit time and PEXPIRETIME must echo it exactly, and a 16-bit
//! clock left beside 48 bits of expiry wraps in 18 hours); a 16-byte key
//! with 15 bytes inline (common keys of 16 to 22 bytes, such as
//! `session:00000001`, would need an allocation each). The price of this
//! layout is that keys of 21 or 22 bytes are no longer inline.
//! Safe Rust: the layout comes from rustc's niche filling, and the tests
//! below fail if it ever stops fitting in 24 bytes.

use std::fmt;

/// Largest key stored inline.
pub const KEY_INLINE: usize = 20;
/// Bytes of the stored clock.
pub const CLOCK_BYTES: usize = 3;

/// Redis's `LRU_CLOCK_MAX`.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// Redis's LRU clock: Unix seconds modulo 2^24.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LruClock(u32);

impl LruClock {
    /// The clock at `now_ms` (Unix milliseconds), as `LRU_CLOCK()`.
    pub fn at(now_ms: i64) -> Self {
        LruClock(((now_ms / 1000) as u64 & u64::from(LRU_CLOCK_MAX)) as u32)
    }

    /// The clock of a key last accessed `idle` seconds before `now_ms`
    /// (RESTORE ... IDLETIME, Redis's `objectSetLRUOrLFU`, including its
    /// handling of a clock that wrapped).
    pub fn idle_since(now_ms: i64, idle: i64) -> Self {
        let mut abs = i64::from(Self::at(now_ms).0).saturating_sub(idle);
        if abs < 0 {
            abs = abs.saturating_add(i64::from(LRU_CLOCK_MAX));
        }
        // The 24-bit field keeps the low bits, as Redis's bitfield does.
        LruClock((abs as u64 & u64::from(LRU_CLOCK_MAX)) as u32)
    }

    /// Seconds between this clock and `now_ms`, as `estimateObjectIdleTime`.
    pub fn idle_secs(self, now_ms: i64) -> u64 {
        let now = Self::at(now_ms).0;
        let idle = if now >= self.0 {
            now - self.0
        } else {
            now + (LRU_CLOCK_MAX - self.0)
        };
        u64::from(idle)
    }

    /// The raw 24-bit value (DEBUG OBJECT's `lru:`).
    pub fn get(self) -> u32 {
        self.0
    }

    fn to_bytes(self) -> [u8; CLOCK_BYTES] {
        let [a, b, c, _] = self.0.to_le_bytes();
        [a, b, c]
    }

    fn from_bytes([a, b, c]: [u8; CLOCK_BYTES]) -> Self {
        LruClock(u32::from_le_bytes([a, b, c, 0]))
    }
}

/// Length of an inline key; its unused values tag [`Key::Heap`].
#[derive(Clone, Copy)]
#[repr(u8)]
#[rustfmt::skip]
enum Len {
    L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10,
    L11, L12, L13, L14, L15, L16, L17, L18, L19, L20,
}

#[rustfmt::skip]
const LENS: [Len; KEY_INLINE + 1] = [
    Len::L0, Len::L1, Len::L2, Len::L3, Len::L4, Len::L5, Len::L6, Len::L7,
    Len::L8, Len::L9, Len::L10, Len::L11, Len::L12, Len::L13, Len::L14,
    Len::L15, Len::L16, Len::L17, Len::L18, Len::L19, Len::L20,
];

/// An inline key: length, clock, bytes (24 bytes, alignment 1).
#[derive(Clone, Copy)]
struct Inline {
    len: Len,
    clock: [u8; CLOCK_BYTES],
    data: [u8; KEY_INLINE],
}

/// A key with its access clock.
#[derive(Clone)]
pub struct Key(Repr);

#[derive(Clone)]
enum Repr {
    /// Up to [`KEY_INLINE`] bytes in place.
    Inline(Inline),
    /// The clock's bytes, then the key.
    Heap(Box<[u8]>),
}

impl Key {
    /// Copy `b` into a key last accessed at `clock`.
    pub fn new(b: &[u8], clock: LruClock) -> Self {
        if let Some(&len) = LENS.get(b.len()) {
            let mut data = [0u8; KEY_INLINE];
            if let Some(dst) = data.get_mut(..b.len()) {
                dst.copy_from_slice(b);
            }
            return Key(Repr::Inline(Inline {
                len,
                clock: clock.to_bytes(),
                data,
            }));
        }
        let mut v = Vec::with_capacity(CLOCK_BYTES + b.len());
        v.extend_from_slice(&clock.to_bytes());
        v.extend_from_slice(b);
        Key(Repr::Heap(v.into_boxed_slice()))
    }

    /// The key's bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => i.data.get(..i.len as usize).unwrap_or(&[]),
            Repr::Heap(b) => b.get(CLOCK_BYTES..).unwrap_or(&[]),
        }
    }

    /// The last access.
    pub fn clock(&self) -> LruClock {
        match &self.0 {
            Repr::Inline(i) => LruClock::from_bytes(i.clock),
            Repr::Heap(b) => match **b {
                [a, b, c, ..] => LruClock::from_bytes([a, b, c]),
                _ => LruClock(0),
            },
        }
    }

    /// Record an access.
    #[inline]
    pub fn set_clock(&mut self, clock: LruClock) {
        let bytes = clock.to_bytes();
        match &mut self.0 {
            Repr::Inline(i) => i.clock = bytes,
            Repr::Heap(b) => {
                if let Some(dst) = b.get_mut(..CLOCK_BYTES) {
                    dst.copy_from_slice(&bytes);
                }
            }
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_24_bytes_and_roundtrips() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let c = LruClock::at(1_700_000_123_456);
        for n in [0, 1, 19, 20, 21, 22, 100] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut k = Key::new(&v, c);
            assert_eq!(k.as_slice(), &v[..]);
            assert_eq!(k.clock(), c);
            k.set_clock(LruClock(LRU_CLOCK_MAX));
            assert_eq!(k.clock().get(), LRU_CLOCK_MAX);
            assert_eq!(k.as_slice(), &v[..]);
        }
    }

    #[test]
    fn idle_time_follows_redis() {
        let now = 1_700_000_000_000i64;
        assert_eq!(LruClock::at(now - 5_000).idle_secs(now), 5);
        assert_eq!(LruClock::at(now).idle_secs(now + 999), 0);
        assert_eq!(LruClock::idle_since(now, 1000).idle_secs(now), 1000);
        // Across the clock's wrap (Redis's formula loses one second there).
        let wrap = i64::from(LRU_CLOCK_MAX + 1) * 1000;
        assert_eq!(LruClock::at(wrap - 10_000).idle_secs(wrap + 5_000), 14);
        assert_eq!(
            LruClock::idle_since(wrap + 5_000, 100).idle_secs(wrap + 5_000),
            100
        );
        assert_eq!(LruClock::idle_since(now, 0).idle_secs(now), 0);
    }
}
