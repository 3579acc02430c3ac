//! Redis's RDB value encoding: lengths, strings (integer-encoded and
//! LZF-compressed), CRC-64, and the DUMP payload framing, used by
//! DUMP/RESTORE; [`file`](mod@file) builds RDB files (SAVE, start-up loading) on the
//! same primitives.
//!
//! Format facts (Redis `rdb.h`/`rdb.c`, checked against real payloads):
//! - length: `00xxxxxx` 6 bits, `01xxxxxx xxxxxxxx` 14 bits big-endian,
//!   `0x80` + u32 BE, `0x81` + u64 BE; `11xxxxxx` marks a special encoding:
//!   0 int8, 1 int16 LE, 2 int32 LE, 3 LZF (`clen`, `len`, data);
//! - a string that is the canonical form of an int32 and at most 11 bytes
//!   is written as an integer; longer than 20 bytes may be LZF-compressed
//!   when that saves at least 4 bytes;
//! - DUMP payload: `type byte, value, RDB version u16 LE, CRC-64 u64 LE`,
//!   the CRC (Jones polynomial, "CRC-64/REDIS") covering everything before it.

pub mod aggregate;
pub mod file;
pub mod legacy;

use crate::keyspace::{Limits, RStr, SetRef, Value};

/// RDB version we write (Redis 7.0 reads up to 10).
pub const RDB_VERSION: u16 = 10;
/// Highest RDB version we read in DUMP payloads (Redis 7.4 writes 12).
pub const RDB_VERSION_MAX_READ: u16 = 12;

/// Object type byte of a plain string.
pub const TYPE_STRING: u8 = 0;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Slice-by-16 tables (32 KB): snapshot files are checksummed whole at
/// save and at start-up, where the one-table default cost ~60 ms per 23 MB.
static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// CRC-64/REDIS of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// A malformed or unsupported payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RdbError {
    /// Truncated or inconsistent bytes.
    Bad,
    /// A value type this build cannot load yet.
    UnsupportedType(u8),
}

/// Append an RDB length.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn write_int_encoded(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(v) = i8::try_from(v) {
        out.push(0xC0 | ENC_INT8);
        out.push(v as u8);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xC0 | ENC_INT16);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xC0 | ENC_INT32);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Append a string, integer-encoded or compressed when Redis would do so.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = resp::numfmt::parse_i64(s) {
            if write_int_encoded(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Ok(c) = lzf::compress(s) {
            // Redis gives LZF an output buffer of len-4 bytes: smaller gains are not worth it.
            if !c.is_empty() && c.len() <= s.len() - 4 {
                out.push(0xC0 | ENC_LZF);
                write_len(out, c.len() as u64);
                write_len(out, s.len() as u64);
                out.extend_from_slice(&c);
                return;
            }
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Append a value with its type byte.
pub fn write_value(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Str(RStr::Int(i)) => {
            out.push(TYPE_STRING);
            if !write_int_encoded(out, *i) {
                let mut digits = Vec::with_capacity(20);
                resp::numfmt::write_int(&mut digits, *i);
                write_string(out, &digits, compress);
            }
        }
        Value::Str(s) => {
            out.push(TYPE_STRING);
            write_string(out, &s.as_bytes(), compress);
        }
        Value::Hash(h) => aggregate::write_hash(out, h, compress),
        Value::SmallIntSet(_) | Value::IntSet(_) | Value::Set(_) => {
            if let Some(s) = SetRef::of(v) {
                aggregate::write_set(out, s, compress);
            }
        }
        Value::List(l) => aggregate::write_list(out, l, compress),
        Value::ZSet(z) => aggregate::write_zset(out, z, compress),
    }
}

/// A DUMP payload for `v`.
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, compress);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check a DUMP payload's footer: RDB version and CRC (0 means "not checked").
/// Returns the body (type byte and value).
pub fn verify_payload(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let (body_ver, crc) = p.split_at(p.len() - 8);
    let (body, ver) = body_ver.split_at(body_ver.len() - 2);
    let ver = u16::from_le_bytes([*ver.first()?, *ver.get(1)?]);
    if ver > RDB_VERSION_MAX_READ {
        return None;
    }
    let crc = u64::from_le_bytes(crc.try_into().ok()?);
    if crc != 0 && crc != crc64(body_ver) {
        return None;
    }
    Some(body)
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max_string: usize,
}

enum Len {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    /// Read from `buf`; strings longer than `max_string` are refused.
    pub fn new(buf: &'a [u8], max_string: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            max_string,
        }
    }

    /// True when every byte was consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Bytes consumed so far (error messages name the offset).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Exactly `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        self.take(n)
    }

    /// Step over a string in any encoding without decoding it.
    pub fn skip_string(&mut self) -> Result<(), RdbError> {
        match self.len_or_special()? {
            Len::Plain(n) => {
                self.take(usize::try_from(n).map_err(|_| RdbError::Bad)?)?;
            }
            Len::Special(ENC_INT8) => {
                self.take(1)?;
            }
            Len::Special(ENC_INT16) => {
                self.take(2)?;
            }
            Len::Special(ENC_INT32) => {
                self.take(4)?;
            }
            Len::Special(ENC_LZF) => {
                let clen = usize::try_from(self.len()?).map_err(|_| RdbError::Bad)?;
                self.len()?;
                self.take(clen)?;
            }
            Len::Special(_) => return Err(RdbError::Bad),
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self.pos.checked_add(n).ok_or(RdbError::Bad)?;
        let s = self.buf.get(self.pos..end).ok_or(RdbError::Bad)?;
        self.pos = end;
        Ok(s)
    }

    /// One byte.
    pub fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(*self.take(1)?.first().ok_or(RdbError::Bad)?)
    }

    fn len_or_special(&mut self) -> Result<Len, RdbError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3f)),
            1 => Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            2 => match b {
                0x80 => Len::Plain(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().map_err(|_| RdbError::Bad)?,
                ))),
                0x81 => Len::Plain(u64::from_be_bytes(
                    self.take(8)?.try_into().map_err(|_| RdbError::Bad)?,
                )),
                _ => return Err(RdbError::Bad),
            },
            _ => Len::Special(b & 0x3f),
        })
    }

    /// A plain length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::Bad),
        }
    }

    fn size(&mut self) -> Result<usize, RdbError> {
        let n = usize::try_from(self.len()?).map_err(|_| RdbError::Bad)?;
        if n > self.max_string {
            return Err(RdbError::Bad);
        }
        Ok(n)
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        match self.len_or_special()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Bad)?;
                if n > self.max_string {
                    return Err(RdbError::Bad);
                }
                Ok(self.take(n)?.to_vec())
            }
            Len::Special(ENC_INT8) => Ok((self.byte()? as i8).to_string().into_bytes()),
            Len::Special(ENC_INT16) => {
                let b = self.take(2)?;
                Ok(i16::from_le_bytes(b.try_into().map_err(|_| RdbError::Bad)?)
                    .to_string()
                    .into_bytes())
            }
            Len::Special(ENC_INT32) => {
                let b = self.take(4)?;
                Ok(i32::from_le_bytes(b.try_into().map_err(|_| RdbError::Bad)?)
                    .to_string()
                    .into_bytes())
            }
            Len::Special(ENC_LZF) => {
                let clen = self.size()?;
                let len = self.size()?;
                // LZF cannot expand data by more than ~90x (a 3-byte back
                // reference covers at most 264 bytes): refuse claims beyond
                // that before allocating.
                if len > clen.saturating_mul(128).saturating_add(64) || clen == 0 {
                    return Err(RdbError::Bad);
                }
                let data = self.take(clen)?;
                let out = std::panic::catch_unwind(|| lzf::decompress(data, len))
                    .map_err(|_| RdbError::Bad)?
                    .map_err(|_| RdbError::Bad)?;
                if out.len() != len {
                    return Err(RdbError::Bad);
                }
                Ok(out)
            }
            Len::Special(_) => Err(RdbError::Bad),
        }
    }
}

/// Read a value of RDB type `ty`.
/// Aggregates get the encoding `lim` calls for.
pub fn read_value(ty: u8, r: &mut Reader<'_>, lim: &Limits) -> Result<Value, RdbError> {
    match ty {
        TYPE_STRING => Ok(Value::Str(RStr::from_bytes(&r.string()?))),
        other => aggregate::read(other, r, lim).unwrap_or(Err(RdbError::UnsupportedType(other))),
    }
}

/// Decode a verified DUMP body (type byte + value) into a value.
pub fn load_payload_body(body: &[u8], max_string: usize, lim: &Limits) -> Result<Value, RdbError> {
    let mut r = Reader::new(body, max_string);
    let ty = r.byte()?;
    let v = read_value(ty, &mut r, lim)?;
    if !r.at_end() {
        return Err(RdbError::Bad);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn lengths_roundtrip() {
        for n in [
            0u64,
            63,
            64,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
        ] {
            let mut v = Vec::new();
            write_len(&mut v, n);
            assert_eq!(Reader::new(&v, usize::MAX).len().unwrap(), n);
        }
    }

    #[test]
    fn strings_roundtrip_in_every_encoding() {
        let long = "abcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
        for s in [
            "",
            "x",
            "12",
            "-129",
            "40000",
            "-2147483648",
            "12345678901",
            "012",
            &long,
        ] {
            for compress in [false, true] {
                let mut v = Vec::new();
                write_string(&mut v, s.as_bytes(), compress);
                assert_eq!(
                    Reader::new(&v, 1 << 20).string().unwrap(),
                    s.as_bytes(),
                    "{s} {compress}"
                );
            }
        }
        let mut v = Vec::new();
        write_string(&mut v, long.as_bytes(), true);
        assert_eq!(v[0], 0xC3, "compressible strings are LZF-encoded");
    }

    #[test]
    fn payload_matches_redis_bytes() {
        // DUMP of the value "bar" on redis-server 7.0 (RDB 10).
        let p = dump_payload(&Value::Str(RStr::from_bytes(b"bar")), true);
        assert_eq!(p, b"\x00\x03bar\x0a\x00\xe6\xbe\x49\x60\xee\x66\xfd\x17");
        assert!(verify_payload(&p).is_some());
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert!(verify_payload(&bad).is_none());
        let body = verify_payload(&p).unwrap();
        assert_eq!(
            load_payload_body(body, 1 << 20, &Limits::default()).unwrap(),
            Value::Str(RStr::from_bytes(b"bar"))
        );
    }

    #[test]
    fn hostile_payloads_are_refused() {
        // LZF claiming a 1 GB output from 3 bytes.
        let mut v = vec![TYPE_STRING, 0xC3];
        write_len(&mut v, 3);
        write_len(&mut v, 1 << 30);
        v.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            load_payload_body(&v, usize::MAX, &Limits::default()),
            Err(RdbError::Bad)
        );
        assert!(load_payload_body(
            &[TYPE_STRING, 0x80, 0xff, 0xff, 0xff, 0xff],
            1 << 20,
            &Limits::default()
        )
        .is_err());
        assert!(load_payload_body(&[200], 1 << 20, &Limits::default()).is_err());
    }
}
