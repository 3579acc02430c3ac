//! Hashes, sets and lists in RDB form. We write the plain encodings (every Redis
//! version reads them, and it picks its own in-memory encoding on load);
//! we read those plus the compact blobs Redis 7 writes: `intset` (type 11),
//! hash `listpack` (16), `quicklist` lists of listpack nodes (18) and,
//! from 7.2, set `listpack` (20); older files' ziplists and zipmaps are
//! decoded by [`super::legacy`].
//!
//! Format facts (Redis `listpack.c`, `intset.c`):
//! - intset blob: u32 LE width (2/4/8), u32 LE count, the integers LE;
//! - listpack blob: u32 LE total bytes, u16 LE count, entries, `0xFF`. An
//!   entry is an encoding byte (7-bit uint `0xxxxxxx`; 6-bit string length
//!   `10xxxxxx`; 13-bit int `110xxxxx`+1; 12-bit string length `1110xxxx`+1;
//!   `F0` + u32 string length; `F1..F4` int16/24/32/64), the data, then the
//!   entry's length as a 1-5 byte "backlen" we skip.
//!
//! Payloads come from clients: every length is checked against the bytes
//! actually there before anything is allocated, and duplicates or empty
//! aggregates are refused, as Redis refuses them.

use super::{legacy, write_len, write_string, RdbError, Reader};
use crate::keyspace::{set, HashVal, Limits, ListVal, SetMut, SetRef, Value, ZSetVal};

/// Plain list: length, then elements.
pub const TYPE_LIST: u8 = 1;
/// List as quicklist nodes (container kind, then a listpack or plain string).
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Sorted set, scores as text (old format, still read).
pub const TYPE_ZSET: u8 = 3;
/// Sorted set, scores as binary doubles.
pub const TYPE_ZSET_2: u8 = 5;
/// Sorted set as a listpack blob.
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// Plain set: length, then members.
pub const TYPE_SET: u8 = 2;
/// Plain hash: length, then field, value pairs.
pub const TYPE_HASH: u8 = 4;
/// Set as an intset blob.
pub const TYPE_SET_INTSET: u8 = 11;
/// Hash as a listpack blob.
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// Set as a listpack blob (Redis 7.2).
pub const TYPE_SET_LISTPACK: u8 = 20;

/// Append a hash in the plain encoding.
pub fn write_hash(out: &mut Vec<u8>, h: &HashVal, compress: bool) {
    out.push(TYPE_HASH);
    write_len(out, h.len() as u64);
    for (f, v) in h.iter() {
        write_string(out, f, compress);
        write_string(out, v, compress);
    }
}

/// Append a set in the plain encoding.
pub fn write_set(out: &mut Vec<u8>, s: SetRef<'_>, compress: bool) {
    out.push(TYPE_SET);
    write_len(out, s.len() as u64);
    for m in s.members() {
        write_string(out, &m, compress);
    }
}

/// Append a list in the plain encoding.
pub fn write_list(out: &mut Vec<u8>, l: &ListVal, compress: bool) {
    out.push(TYPE_LIST);
    write_len(out, l.len() as u64);
    for e in l.to_vec() {
        write_string(out, &e, compress);
    }
}

/// Append a sorted set as `ZSET_2` (binary double scores).
pub fn write_zset(out: &mut Vec<u8>, z: &ZSetVal, compress: bool) {
    out.push(TYPE_ZSET_2);
    write_len(out, z.len() as u64);
    for (m, s) in z.all() {
        write_string(out, &m, compress);
        out.extend_from_slice(&s.to_le_bytes());
    }
}

fn zset_from(pairs: Vec<(Vec<u8>, f64)>, lim: &Limits) -> Result<Value, RdbError> {
    if pairs.is_empty() || pairs.iter().any(|(_, s)| s.is_nan()) {
        return Err(RdbError::Bad);
    }
    let max = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSetVal::create(pairs.len(), max, lim.zset);
    for (m, s) in &pairs {
        if !z.insert(m, *s, lim.zset) {
            return Err(RdbError::Bad);
        }
    }
    Ok(Value::ZSet(z))
}

/// A score in the old text form: length byte (253 NaN, 254 +inf, 255 -inf), digits.
fn text_score(r: &mut Reader<'_>) -> Result<f64, RdbError> {
    match r.byte()? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => {
            let mut digits = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                digits.push(r.byte()?);
            }
            parse_f64(&digits)
        }
    }
}

fn parse_f64(b: &[u8]) -> Result<f64, RdbError> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RdbError::Bad)
}

/// Alternating members and scores (as text) into pairs.
fn zset_pairs(items: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, f64)>, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(RdbError::Bad);
    }
    items
        .chunks_exact(2)
        .map(|c| match c {
            [m, s] => Ok((m.clone(), parse_f64(s)?)),
            _ => Err(RdbError::Bad),
        })
        .collect()
}

fn list_from(items: Vec<Vec<u8>>, lim: &Limits) -> Result<Value, RdbError> {
    if items.is_empty() {
        return Err(RdbError::Bad);
    }
    let mut l = ListVal::default();
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    l.push(&refs, false, lim.list);
    Ok(Value::List(l))
}

fn hash_from(items: Vec<Vec<u8>>, lim: &Limits) -> Result<Value, RdbError> {
    if items.is_empty() || !items.len().is_multiple_of(2) {
        return Err(RdbError::Bad);
    }
    let mut h = HashVal::default();
    h.prepare(items.iter().map(Vec::len), lim.hash);
    if items.len() / 2 > lim.hash.entries {
        h.convert();
    }
    for pair in items.chunks_exact(2) {
        if let [f, v] = pair {
            if !h.set(f, v, lim.hash) {
                return Err(RdbError::Bad);
            }
        }
    }
    Ok(Value::Hash(h))
}

fn set_from(items: Vec<Vec<u8>>, lim: &Limits) -> Result<Value, RdbError> {
    let first = items.first().ok_or(RdbError::Bad)?;
    let mut v = set::create(first, items.len(), lim.set);
    let mut s = SetMut::of(&mut v).ok_or(RdbError::Bad)?;
    for m in &items {
        if !s.add(m, lim.set) {
            return Err(RdbError::Bad);
        }
    }
    Ok(v)
}

/// Read an aggregate of RDB type `ty`; `None` when `ty` is not one of ours.
pub fn read(ty: u8, r: &mut Reader<'_>, lim: &Limits) -> Option<Result<Value, RdbError>> {
    let v = match ty {
        TYPE_SET | TYPE_HASH => (|| {
            let n = r.len()?;
            let per = if ty == TYPE_HASH { 2 } else { 1 };
            let mut items = Vec::new();
            for _ in 0..n.saturating_mul(per) {
                items.push(r.string()?);
            }
            if ty == TYPE_HASH {
                hash_from(items, lim)
            } else {
                set_from(items, lim)
            }
        })(),
        TYPE_LIST => (|| {
            let n = r.len()?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(r.string()?);
            }
            list_from(items, lim)
        })(),
        TYPE_LIST_QUICKLIST_2 => (|| {
            let nodes = r.len()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = r.len()?;
                let blob = r.string()?;
                match container {
                    1 => items.push(blob),
                    2 => items.extend(listpack_entries(&blob)?),
                    _ => return Err(RdbError::Bad),
                }
            }
            list_from(items, lim)
        })(),
        TYPE_ZSET | TYPE_ZSET_2 => (|| {
            let n = r.len()?;
            let mut pairs = Vec::new();
            for _ in 0..n {
                let m = r.string()?;
                let s = if ty == TYPE_ZSET_2 {
                    let mut b = [0u8; 8];
                    for x in &mut b {
                        *x = r.byte()?;
                    }
                    f64::from_le_bytes(b)
                } else {
                    text_score(r)?
                };
                pairs.push((m, s));
            }
            zset_from(pairs, lim)
        })(),
        TYPE_ZSET_LISTPACK => r
            .string()
            .and_then(|b| zset_from(zset_pairs(listpack_entries(&b)?)?, lim)),
        TYPE_SET_INTSET => (|| {
            let blob = r.string()?;
            let ints = intset_entries(&blob)?;
            let items = ints.iter().map(|i| i.to_string().into_bytes()).collect();
            set_from(items, lim)
        })(),
        TYPE_HASH_LISTPACK => r
            .string()
            .and_then(|b| hash_from(listpack_entries(&b)?, lim)),
        TYPE_SET_LISTPACK => r
            .string()
            .and_then(|b| set_from(listpack_entries(&b)?, lim)),
        legacy::TYPE_HASH_ZIPMAP => r
            .string()
            .and_then(|b| hash_from(legacy::zipmap_entries(&b)?, lim)),
        legacy::TYPE_LIST_ZIPLIST => r
            .string()
            .and_then(|b| list_from(legacy::ziplist_entries(&b)?, lim)),
        legacy::TYPE_HASH_ZIPLIST => r
            .string()
            .and_then(|b| hash_from(legacy::ziplist_entries(&b)?, lim)),
        legacy::TYPE_ZSET_ZIPLIST => r.string().and_then(|b| {
            let items = legacy::ziplist_entries(&b)?;
            zset_pairs(items).and_then(|p| zset_from(p, lim))
        }),
        legacy::TYPE_LIST_QUICKLIST => (|| {
            let nodes = r.len()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                items.extend(legacy::ziplist_entries(&r.string()?)?);
            }
            list_from(items, lim)
        })(),
        _ => return None,
    };
    Some(v)
}

fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// The integers of an intset blob.
pub fn intset_entries(blob: &[u8]) -> Result<Vec<i64>, RdbError> {
    let width = usize::try_from(le(blob.get(..4).ok_or(RdbError::Bad)?)).unwrap_or(0);
    let count = usize::try_from(le(blob.get(4..8).ok_or(RdbError::Bad)?)).unwrap_or(0);
    if ![2, 4, 8].contains(&width) || blob.len() != 8 + count.saturating_mul(width) {
        return Err(RdbError::Bad);
    }
    let body = blob.get(8..).ok_or(RdbError::Bad)?;
    Ok(body
        .chunks_exact(width)
        .map(|c| {
            let raw = le(c);
            let shift = 64 - 8 * width as u32;
            ((raw << shift) as i64) >> shift
        })
        .collect())
}

fn backlen_size(entry_len: usize) -> usize {
    match entry_len {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2097151 => 3,
        2097152..=268435455 => 4,
        _ => 5,
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// The entries of a listpack blob, integers as their decimal text.
pub fn listpack_entries(blob: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    let total = usize::try_from(le(blob.get(..4).ok_or(RdbError::Bad)?)).unwrap_or(0);
    if total != blob.len() || blob.last() != Some(&0xFF) {
        return Err(RdbError::Bad);
    }
    let mut p = 6;
    let mut out = Vec::new();
    loop {
        let b = *blob.get(p).ok_or(RdbError::Bad)?;
        if b == 0xFF {
            break;
        }
        let take = |from: usize, n: usize| blob.get(from..from + n).ok_or(RdbError::Bad);
        let (item, hdr, data): (Vec<u8>, usize, usize) = if b & 0x80 == 0 {
            (u64::from(b & 0x7f).to_string().into_bytes(), 1, 0)
        } else if b & 0xC0 == 0x80 {
            let n = usize::from(b & 0x3f);
            (take(p + 1, n)?.to_vec(), 1, n)
        } else if b & 0xE0 == 0xC0 {
            let v = (u64::from(b & 0x1f) << 8) | u64::from(*take(p + 1, 1)?.first().unwrap_or(&0));
            (sign_extend(v, 13).to_string().into_bytes(), 2, 0)
        } else if b & 0xF0 == 0xE0 {
            let n =
                (usize::from(b & 0x0f) << 8) | usize::from(*take(p + 1, 1)?.first().unwrap_or(&0));
            (take(p + 2, n)?.to_vec(), 2, n)
        } else {
            match b {
                0xF0 => {
                    let n = usize::try_from(le(take(p + 1, 4)?)).map_err(|_| RdbError::Bad)?;
                    (take(p + 5, n)?.to_vec(), 5, n)
                }
                0xF1..=0xF4 => {
                    let bytes = [2usize, 3, 4, 8][usize::from(b - 0xF1)];
                    let v = sign_extend(le(take(p + 1, bytes)?), 8 * bytes as u32);
                    (v.to_string().into_bytes(), 1, bytes)
                }
                _ => return Err(RdbError::Bad),
            }
        };
        let entry = hdr + data;
        p += entry + backlen_size(entry);
        out.push(item);
    }
    if p + 1 != blob.len() {
        return Err(RdbError::Bad);
    }
    let declared = usize::try_from(le(blob.get(4..6).ok_or(RdbError::Bad)?)).unwrap_or(0);
    if declared != 65535 && declared != out.len() {
        return Err(RdbError::Bad);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listpack as Redis 7.0 writes it for HSET h name shoal n 7 big -70000.
    fn sample_listpack() -> Vec<u8> {
        let mut e: Vec<u8> = Vec::new();
        let mut put = |bytes: &[u8]| {
            e.extend_from_slice(bytes);
            e.push(bytes.len() as u8); // backlen (all entries < 128 bytes)
        };
        put(&[0x84, b'n', b'a', b'm', b'e']);
        put(&[0x85, b's', b'h', b'o', b'a', b'l']);
        put(&[0x81, b'n']);
        put(&[0x07]);
        put(&[0x83, b'b', b'i', b'g']);
        let v = (-70000i32).to_le_bytes();
        put(&[0xF2, v[0], v[1], v[2]]);
        let total = 6 + e.len() + 1;
        let mut blob = (total as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&6u16.to_le_bytes());
        blob.extend_from_slice(&e);
        blob.push(0xFF);
        blob
    }

    #[test]
    fn listpack_and_intset_blobs_decode() {
        let items = listpack_entries(&sample_listpack()).unwrap();
        let text: Vec<String> = items
            .iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect();
        assert_eq!(text, ["name", "shoal", "n", "7", "big", "-70000"]);
        let mut bad = sample_listpack();
        bad.truncate(bad.len() - 2);
        assert!(listpack_entries(&bad).is_err());
        let mut blob = 4u32.to_le_bytes().to_vec();
        blob.extend_from_slice(&2u32.to_le_bytes());
        blob.extend_from_slice(&(-5i32).to_le_bytes());
        blob.extend_from_slice(&100000i32.to_le_bytes());
        assert_eq!(intset_entries(&blob).unwrap(), vec![-5, 100000]);
        blob.pop();
        assert!(intset_entries(&blob).is_err());
    }
}
