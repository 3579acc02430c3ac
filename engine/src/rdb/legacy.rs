//! The compact encodings older Redis versions wrote, still found in dump.rdb
//! files users migrate: `zipmap` hashes (type 9, Redis < 2.6), `ziplist`
//! lists, sorted sets and hashes (types 10, 12, 13, Redis < 7.0) and
//! quicklists of ziplists (type 14, Redis 3.2 – 6.2). Redis 7 still loads
//! them (converting on the fly); so does Shoal. We never write them.
//!
//! Format facts (Redis `ziplist.c`, `zipmap.c`):
//! - ziplist blob: u32 LE total bytes, u32 LE offset of the last entry,
//!   u16 LE count (65535: count it), entries, `0xFF`. An entry is the previous
//!   entry's length (1 byte if < 254, else `0xFE` + u32 LE), an encoding,
//!   the data. Encodings: `00llllll` string of 6-bit length; `01llllll` +1
//!   byte, 14-bit big-endian length; `0x80` + u32 big-endian length;
//!   `0xC0` int16, `0xD0` int32, `0xE0` int64, `0xF0` int24, `0xFE` int8
//!   (little-endian); `0xF1..=0xFD` the integers 0..12 inline.
//! - zipmap blob: a count byte, then per pair a length (1 byte if < 254,
//!   else `0xFE` + u32 LE), the field, a length, a "free" byte, the value,
//!   that many free bytes; `0xFF` ends it.

use super::RdbError;

/// Redis < 7.0 hash as a zipmap blob.
pub const TYPE_HASH_ZIPMAP: u8 = 9;
/// Redis < 7.0 list as one ziplist blob.
pub const TYPE_LIST_ZIPLIST: u8 = 10;
/// Redis < 7.0 sorted set as a ziplist blob (member, score, ...).
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
/// Redis < 7.0 hash as a ziplist blob (field, value, ...).
pub const TYPE_HASH_ZIPLIST: u8 = 13;
/// Redis 3.2 – 6.2 list: a count of ziplist blobs.
pub const TYPE_LIST_QUICKLIST: u8 = 14;

fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// The entries of a ziplist blob, integers as their decimal text.
pub fn ziplist_entries(blob: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    let total = usize::try_from(le(blob.get(..4).ok_or(RdbError::Bad)?)).unwrap_or(0);
    if total != blob.len() || total < 11 || blob.last() != Some(&0xFF) {
        return Err(RdbError::Bad);
    }
    let take = |from: usize, n: usize| {
        from.checked_add(n)
            .and_then(|end| blob.get(from..end))
            .ok_or(RdbError::Bad)
    };
    let mut p = 10;
    let mut out = Vec::new();
    loop {
        let first = *blob.get(p).ok_or(RdbError::Bad)?;
        if first == 0xFF {
            break;
        }
        p += if first < 0xFE { 1 } else { 5 };
        let e = *blob.get(p).ok_or(RdbError::Bad)?;
        let (item, len) = match e >> 6 {
            0 => {
                let n = usize::from(e & 0x3f);
                (take(p + 1, n)?.to_vec(), 1 + n)
            }
            1 => {
                let n = (usize::from(e & 0x3f) << 8)
                    | usize::from(*take(p + 1, 1)?.first().unwrap_or(&0));
                (take(p + 2, n)?.to_vec(), 2 + n)
            }
            2 => {
                if e != 0x80 {
                    return Err(RdbError::Bad);
                }
                let b = take(p + 1, 4)?;
                let n = usize::try_from(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
                    .map_err(|_| RdbError::Bad)?;
                (take(p + 5, n)?.to_vec(), 5 + n)
            }
            _ => {
                let (v, n) = match e {
                    0xC0 => (sign_extend(le(take(p + 1, 2)?), 16), 2),
                    0xD0 => (sign_extend(le(take(p + 1, 4)?), 32), 4),
                    0xE0 => (sign_extend(le(take(p + 1, 8)?), 64), 8),
                    0xF0 => (sign_extend(le(take(p + 1, 3)?), 24), 3),
                    0xFE => (sign_extend(le(take(p + 1, 1)?), 8), 1),
                    0xF1..=0xFD => (i64::from(e & 0x0f) - 1, 0),
                    _ => return Err(RdbError::Bad),
                };
                (v.to_string().into_bytes(), 1 + n)
            }
        };
        p += len;
        out.push(item);
    }
    if p + 1 != blob.len() {
        return Err(RdbError::Bad);
    }
    let declared = usize::try_from(le(blob.get(8..10).ok_or(RdbError::Bad)?)).unwrap_or(0);
    if declared != 65535 && declared != out.len() {
        return Err(RdbError::Bad);
    }
    Ok(out)
}

/// The fields and values of a zipmap blob, alternating.
pub fn zipmap_entries(blob: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    let mut p = 1;
    let mut out = Vec::new();
    let len_at = |p: &mut usize| -> Result<Option<usize>, RdbError> {
        let b = *blob.get(*p).ok_or(RdbError::Bad)?;
        match b {
            0xFF => Ok(None),
            0xFE => {
                let v = blob.get(*p + 1..*p + 5).ok_or(RdbError::Bad)?;
                *p += 5;
                Ok(Some(usize::try_from(le(v)).map_err(|_| RdbError::Bad)?))
            }
            n => {
                *p += 1;
                Ok(Some(usize::from(n)))
            }
        }
    };
    let take = |from: usize, n: usize| {
        from.checked_add(n)
            .and_then(|end| blob.get(from..end))
            .ok_or(RdbError::Bad)
    };
    while let Some(flen) = len_at(&mut p)? {
        out.push(take(p, flen)?.to_vec());
        p += flen;
        let vlen = len_at(&mut p)?.ok_or(RdbError::Bad)?;
        let free = usize::from(*blob.get(p).ok_or(RdbError::Bad)?);
        p += 1;
        out.push(take(p, vlen)?.to_vec());
        p += vlen + free;
    }
    if p + 1 != blob.len() {
        return Err(RdbError::Bad);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist as Redis 6 writes it for RPUSH l a 7 -300 100000 (bytes
    /// built from the format description above).
    fn sample_ziplist() -> Vec<u8> {
        let entries: Vec<Vec<u8>> = vec![
            vec![0x01, b'a'],
            vec![0xF8],
            {
                let mut e = vec![0xC0];
                e.extend_from_slice(&(-300i16).to_le_bytes());
                e
            },
            {
                let mut e = vec![0xF0];
                e.extend_from_slice(&100000i32.to_le_bytes()[..3]);
                e
            },
        ];
        let mut body = Vec::new();
        let mut prev = 0usize;
        for e in &entries {
            body.push(prev as u8);
            body.extend_from_slice(e);
            prev = 1 + e.len();
        }
        let total = 10 + body.len() + 1;
        let mut blob = (total as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xFF);
        blob
    }

    #[test]
    fn ziplist_decodes() {
        let items = ziplist_entries(&sample_ziplist()).unwrap();
        assert_eq!(
            items,
            vec![
                b"a".to_vec(),
                b"7".to_vec(),
                b"-300".to_vec(),
                b"100000".to_vec()
            ]
        );
        let mut bad = sample_ziplist();
        bad.truncate(bad.len() - 2);
        assert!(ziplist_entries(&bad).is_err());
    }

    /// A ziplist of `items` (strings under 64 bytes).
    fn ziplist_of(items: &[&str]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        for it in items {
            body.push(prev as u8);
            body.push(it.len() as u8);
            body.extend_from_slice(it.as_bytes());
            prev = 2 + it.len();
        }
        let mut blob = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&(items.len() as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xFF);
        blob
    }

    #[test]
    fn old_typed_values_load() {
        use crate::keyspace::{Limits, Value};
        let lim = Limits::default();
        let load = |ty: u8, payload: Vec<u8>| {
            let mut r = super::super::Reader::new(&payload, usize::MAX);
            let v = super::super::read_value(ty, &mut r, &lim).unwrap();
            assert!(r.at_end());
            v
        };
        let blob = |b: Vec<u8>| {
            let mut out = Vec::new();
            super::super::write_string(&mut out, &b, false);
            out
        };
        let list = load(TYPE_LIST_ZIPLIST, blob(ziplist_of(&["a", "b"])));
        assert!(matches!(&list, Value::List(l) if l.len() == 2));
        let hash = load(TYPE_HASH_ZIPLIST, blob(ziplist_of(&["f", "v", "g", "w"])));
        assert!(matches!(&hash, Value::Hash(h) if h.len() == 2));
        let zset = load(
            TYPE_ZSET_ZIPLIST,
            blob(ziplist_of(&["m", "1.5", "n", "-2"])),
        );
        assert!(matches!(&zset, Value::ZSet(z) if z.len() == 2));
        let mut quick = Vec::new();
        super::super::write_len(&mut quick, 2);
        quick.extend(blob(ziplist_of(&["a", "b"])));
        quick.extend(blob(ziplist_of(&["c"])));
        let quick = load(TYPE_LIST_QUICKLIST, quick);
        assert!(matches!(&quick, Value::List(l) if l.len() == 3));
        let zipmap = vec![1u8, 1, b'f', 1, 0, b'v', 0xFF];
        let zipmap = load(TYPE_HASH_ZIPMAP, blob(zipmap));
        assert!(matches!(&zipmap, Value::Hash(h) if h.len() == 1));
        // A zset score that is not a number is refused.
        let bad = blob(ziplist_of(&["m", "x"]));
        let mut r = super::super::Reader::new(&bad, usize::MAX);
        assert!(super::super::read_value(TYPE_ZSET_ZIPLIST, &mut r, &lim).is_err());
    }

    #[test]
    fn zipmap_decodes() {
        // {"foo" => "bar", "k" => "hello"} with 2 free bytes after "bar".
        let mut blob = vec![2u8, 3, b'f', b'o', b'o', 3, 2, b'b', b'a', b'r', 0, 0];
        blob.extend_from_slice(&[1, b'k', 5, 0, b'h', b'e', b'l', b'l', b'o', 0xFF]);
        let items = zipmap_entries(&blob).unwrap();
        assert_eq!(
            items,
            vec![
                b"foo".to_vec(),
                b"bar".to_vec(),
                b"k".to_vec(),
                b"hello".to_vec()
            ]
        );
        blob.pop();
        assert!(zipmap_entries(&blob).is_err());
    }
}
