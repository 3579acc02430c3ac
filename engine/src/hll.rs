//! HyperLogLog in Redis's own string representation, so HLL keys move
//! between Shoal and Redis through DUMP/RESTORE (and RDB files) unchanged
//! in meaning, and PFCOUNT gives the same numbers.
//!
//! Format facts (Redis `hyperloglog.c`): a 16-byte header — `HYLL`, the
//! encoding byte (0 dense, 1 sparse), 3 zero bytes, 8 bytes of cached
//! cardinality (little endian; the top bit of the last byte set means
//! "stale") — then 16384 six-bit registers:
//! - dense: packed least significant bit first, 12288 bytes;
//! - sparse: run-length opcodes `00xxxxxx` (1..64 zero registers),
//!   `01xxxxxx yyyyyyyy` (1..16384 zero registers), `1vvvvvxx` (1..4
//!   registers of value 1..32).
//!
//! An element's register and run length come from MurmurHash64A (seed
//! `0xadc83b19`): the low 14 bits pick the register, the position of the
//! first set bit of the rest is the value. The estimate is Ertl's
//! improved estimator over the register histogram, as Redis 5+ computes.
//!
//! Sparse values are kept canonical (longest runs); Redis accepts any valid
//! run sequence, so this changes bytes, never meaning. A sparse HLL goes
//! dense when a register exceeds 32 or it would outgrow
//! `hll-sparse-max-bytes` (3000), as in Redis.

/// Registers (2^14).
pub const REGISTERS: usize = 1 << 14;
const P: u32 = 14;
const Q: u32 = 64 - P;
const HDR: usize = 16;
const DENSE_BYTES: usize = REGISTERS * 6 / 8;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_MAX_BYTES: usize = 3000;
const SPARSE_VAL_MAX: u8 = 32;

/// Why a value is not a usable HLL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HllError {
    /// Not an HLL string at all (WRONGTYPE-style reply).
    NotHll,
    /// The header is right but the body is corrupt (INVALIDOBJ).
    Corrupt,
}

fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate() {
            h ^= u64::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and its run length (1..=51).
pub fn register_of(elem: &[u8]) -> (usize, u8) {
    let hash = murmur64a(elem, 0xadc8_3b19);
    let index = (hash & ((1 << P) - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, (rest.trailing_zeros() + 1) as u8)
}

/// An empty HLL, as Redis creates one (sparse, one XZERO run, cache 0).
pub fn empty() -> Vec<u8> {
    let mut v = header(SPARSE);
    v.extend_from_slice(&[0x7f, 0xff]);
    v
}

fn header(enc: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(enc);
    v.extend_from_slice(&[0; 11]);
    v
}

/// Check that `v` is an HLL (Redis's `isHLLObjectOrReply`).
pub fn check(v: &[u8]) -> Result<(), HllError> {
    if v.len() < HDR || v.get(..4) != Some(b"HYLL") {
        return Err(HllError::NotHll);
    }
    match v.get(4) {
        Some(&DENSE) if v.len() == HDR + DENSE_BYTES => Ok(()),
        Some(&SPARSE) => Ok(()),
        _ => Err(HllError::NotHll),
    }
}

/// Every register's value.
pub fn registers(v: &[u8]) -> Result<Vec<u8>, HllError> {
    check(v)?;
    let body = v.get(HDR..).unwrap_or(&[]);
    let mut regs = vec![0u8; REGISTERS];
    if v.get(4) == Some(&DENSE) {
        for (i, r) in regs.iter_mut().enumerate() {
            *r = dense_get(body, i);
        }
        return Ok(regs);
    }
    let mut idx = 0usize;
    let mut p = 0usize;
    while let Some(&op) = body.get(p) {
        let (len, val, size) = if op & 0xC0 == 0 {
            (usize::from(op & 0x3f) + 1, 0, 1)
        } else if op & 0xC0 == 0x40 {
            let lo = *body.get(p + 1).ok_or(HllError::Corrupt)?;
            ((usize::from(op & 0x3f) << 8 | usize::from(lo)) + 1, 0, 2)
        } else {
            (usize::from(op & 0x3) + 1, ((op >> 2) & 0x1f) + 1, 1)
        };
        let end = idx + len;
        if end > REGISTERS {
            return Err(HllError::Corrupt);
        }
        if val != 0 {
            regs.get_mut(idx..end)
                .ok_or(HllError::Corrupt)?
                .iter_mut()
                .for_each(|r| *r = val);
        }
        idx = end;
        p += size;
    }
    if idx != REGISTERS {
        return Err(HllError::Corrupt);
    }
    Ok(regs)
}

fn dense_get(body: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = u16::from(body.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(body.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 0x3f) as u8
}

fn dense_set(body: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = u16::from(val);
    if let Some(b) = body.get_mut(byte) {
        *b &= !((0x3fu16 << fb) as u8);
        *b |= (v << fb) as u8;
    }
    if fb > 2 {
        if let Some(b) = body.get_mut(byte + 1) {
            *b &= !((0x3fu16 >> (8 - fb)) as u8);
            *b |= (v >> (8 - fb)) as u8;
        }
    }
}

/// The dense form of `regs` (cache marked stale).
fn encode_dense(regs: &[u8], card: [u8; 8]) -> Vec<u8> {
    let mut v = header(DENSE);
    v.resize(HDR + DENSE_BYTES, 0);
    if let Some(h) = v.get_mut(8..16) {
        h.copy_from_slice(&card);
    }
    if let Some(body) = v.get_mut(HDR..) {
        for (i, &r) in regs.iter().enumerate() {
            if r != 0 {
                dense_set(body, i, r);
            }
        }
    }
    v
}

/// The canonical sparse form of `regs`, or None when it cannot be sparse
/// (a register above 32, or longer than the sparse limit).
fn encode_sparse(regs: &[u8], card: [u8; 8]) -> Option<Vec<u8>> {
    let mut v = header(SPARSE);
    if let Some(h) = v.get_mut(8..16) {
        h.copy_from_slice(&card);
    }
    let mut i = 0;
    while i < regs.len() {
        let val = regs.get(i).copied().unwrap_or(0);
        let run = regs
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .take_while(|&&r| r == val)
            .count();
        if val == 0 {
            let mut left = run;
            while left > 0 {
                let n = left.min(REGISTERS);
                if n > 64 {
                    v.push(0x40 | ((n - 1) >> 8) as u8);
                    v.push(((n - 1) & 0xff) as u8);
                } else {
                    v.push((n - 1) as u8);
                }
                left -= n;
            }
        } else {
            if val > SPARSE_VAL_MAX {
                return None;
            }
            let mut left = run;
            while left > 0 {
                let n = left.min(4);
                v.push(0x80 | ((val - 1) << 2) | (n - 1) as u8);
                left -= n;
            }
        }
        i += run;
        if v.len() > SPARSE_MAX_BYTES {
            return None;
        }
    }
    Some(v)
}

fn card_bytes(v: &[u8]) -> [u8; 8] {
    let mut c = [0u8; 8];
    if let Some(src) = v.get(8..16) {
        c.copy_from_slice(src);
    }
    c
}

/// Mark the cached cardinality stale.
fn invalidate(card: &mut [u8; 8]) {
    card[7] |= 0x80;
}

/// Store `regs` in `v`'s current encoding (going dense when sparse cannot
/// hold them), with a stale cache.
fn store(v: &mut Vec<u8>, regs: &[u8]) {
    let mut card = card_bytes(v);
    invalidate(&mut card);
    let sparse = v.get(4) == Some(&SPARSE);
    *v = match sparse.then(|| encode_sparse(regs, card)).flatten() {
        Some(s) => s,
        None => encode_dense(regs, card),
    };
}

/// PFADD: add `elems` to the HLL in `v`; true when a register changed.
pub fn add(v: &mut Vec<u8>, elems: &[&[u8]]) -> Result<bool, HllError> {
    check(v)?;
    if v.get(4) == Some(&DENSE) {
        let mut changed = false;
        if let Some(body) = v.get_mut(HDR..) {
            for e in elems {
                let (i, c) = register_of(e);
                if dense_get(body, i) < c {
                    dense_set(body, i, c);
                    changed = true;
                }
            }
        }
        if changed {
            if let Some(b) = v.get_mut(15) {
                *b |= 0x80;
            }
        }
        return Ok(changed);
    }
    let mut regs = registers(v)?;
    let mut changed = false;
    for e in elems {
        let (i, c) = register_of(e);
        if let Some(r) = regs.get_mut(i) {
            if *r < c {
                *r = c;
                changed = true;
            }
        }
    }
    if changed {
        store(v, &regs);
    }
    Ok(changed)
}

/// Merge `regs` into the HLL in `v` (PFMERGE's destination): dense when
/// `dense` (some source was dense), as Redis does.
pub fn merge_into(v: &mut Vec<u8>, regs: &[u8], dense: bool) -> Result<(), HllError> {
    let mut cur = registers(v)?;
    for (c, r) in cur.iter_mut().zip(regs) {
        *c = (*c).max(*r);
    }
    let mut card = card_bytes(v);
    invalidate(&mut card);
    *v = if dense || v.get(4) == Some(&DENSE) {
        encode_dense(&cur, card)
    } else {
        encode_sparse(&cur, card).unwrap_or_else(|| encode_dense(&cur, card))
    };
    Ok(())
}

/// True when `v` is dense.
pub fn is_dense(v: &[u8]) -> bool {
    v.get(4) == Some(&DENSE)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate of a register array.
pub fn estimate(regs: &[u8]) -> u64 {
    let m = REGISTERS as f64;
    let mut histo = [0u32; 64];
    for &r in regs {
        if let Some(h) = histo.get_mut(usize::from(r)) {
            *h += 1;
        }
    }
    let q = Q as usize;
    let hq1 = f64::from(histo.get(q + 1).copied().unwrap_or(0));
    let mut z = m * tau((m - hq1) / m);
    for j in (1..=q).rev() {
        z += f64::from(histo.get(j).copied().unwrap_or(0));
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    (ALPHA_INF * m * m / z).round() as u64
}

/// PFCOUNT of one HLL: the cached value when fresh, else computed and
/// cached in `v` (as Redis does, PFCOUNT writes the cache).
pub fn count(v: &mut [u8]) -> Result<u64, HllError> {
    check(v)?;
    let card = card_bytes(v);
    if card[7] & 0x80 == 0 {
        return Ok(u64::from_le_bytes(card));
    }
    let n = estimate(&registers(v)?);
    if let Some(c) = v.get_mut(8..16) {
        c.copy_from_slice(&n.to_le_bytes());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_dense_round_trip_and_estimates() {
        let mut h = empty();
        assert_eq!(count(&mut h), Ok(0));
        let elems: Vec<Vec<u8>> = (0..1000).map(|i| format!("e{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = elems.iter().map(Vec::as_slice).collect();
        assert_eq!(add(&mut h, &refs), Ok(true));
        assert_eq!(add(&mut h, &refs), Ok(false));
        let n = count(&mut h).unwrap();
        assert!((950..=1050).contains(&n), "{n}");
        let regs = registers(&h).unwrap();
        let d = encode_dense(&regs, card_bytes(&h));
        assert_eq!(registers(&d).unwrap(), regs);
        assert!(check(b"HYLLx").is_err());
        assert!(check(b"not an hll at all").is_err());
    }
}
