//! The keyspace of one shard: databases, entries, values.
//!
//! | module | owns |
//! |---|---|
//! | [`dict`] | the hash table: incremental rehash, SCAN cursor, sweep |
//! | [`compact`] | `CompactBytes`, the inline-when-short byte string (members, fields) |
//! | [`key`] | `Key`: a key and its LRU clock in 24 bytes; why an entry is 56 |
//! | [`value`] | `Value` (24 bytes) and the string encodings (int/embstr/raw) |
//! | [`pack`] | `Pack`, the listpack-like compact encoding of small aggregates |
//! | [`hash`] | hash values: listpack / hashtable |
//! | [`set`] | set values: intset (inline or not) / listpack / hashtable |
//! | [`list`] | list values: listpack / quicklist |
//! | [`zset`] | sorted-set values: listpack / skiplist |
//! | [`ranked`] | the order-statistic sequence behind `skiplist` |
//! | [`db`] | `Db`: one SELECT-able database with lazy + active expiry |
//! | [`watch`] | WATCHed keys of a database and their change versions |
//! | [`events`] | keyspace-notification classes and the per-database event queue |
//!
//! Nothing here knows about threads, commands or the wire: the shard owns
//! its `Db`s and command `op_*` functions work on them synchronously.

pub mod compact;
pub mod db;
pub mod dict;
pub mod events;
pub mod hash;
pub mod key;
pub mod list;
pub mod pack;
pub mod ranked;
pub mod set;
pub mod snap;
pub mod value;
pub mod watch;
pub mod zset;

pub use compact::CompactBytes;
pub use db::{Db, Entry, ExpirePolicy, Touched};
pub use hash::{HashVal, PackLimits};
pub use key::LruClock;
pub use list::{ListLimits, ListVal};
pub use set::{SetLimits, SetMut, SetRef, SetVal};
pub use value::{RStr, Value};
pub use zset::ZSetVal;

/// Every compact-encoding threshold, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Hashes.
    pub hash: PackLimits,
    /// Sets.
    pub set: SetLimits,
    /// Lists.
    pub list: ListLimits,
    /// Sorted sets.
    pub zset: PackLimits,
}

impl Default for Limits {
    /// Redis's built-in defaults (its sample redis.conf lowers hashes to 128).
    fn default() -> Self {
        Limits {
            hash: PackLimits {
                entries: 512,
                value: 64,
            },
            set: SetLimits {
                intset: 512,
                entries: 128,
                value: 64,
            },
            list: ListLimits { fill: -2 },
            zset: PackLimits {
                entries: 128,
                value: 64,
            },
        }
    }
}

/// Redis Cluster's hash slot of a key: CRC16 (XMODEM) of the hash tag
/// (the part between the first `{` and the next `}`, if non-empty) or of the
/// whole key, modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = memchr::memchr(b'{', key).and_then(|open| {
        let rest = key.get(open + 1..)?;
        let close = memchr::memchr(b'}', rest)?;
        (close > 0).then(|| rest.get(..close)).flatten()
    });
    let data = tagged.unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(data) & 0x3fff
}

#[cfg(test)]
mod tests {
    use super::key_slot;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from CLUSTER KEYSLOT on redis-server 7.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"{}foo"), key_slot(b"{}foo"));
        assert_eq!(key_slot(b"123456789"), 12739);
    }
}
