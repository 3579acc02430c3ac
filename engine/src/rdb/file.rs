//! The RDB file format: what SAVE writes and start-up loads. Pure bytes in,
//! bytes out: no I/O, no runtime (the server's `snapshot` module reads and
//! writes the files and decides which shard keeps which key).
//!
//! Format facts (Redis `rdb.h`/`rdb.c`, checked with `redis-check-rdb` and
//! redis-server 7.0 loading our files):
//! - `REDIS` + the version as 4 ASCII digits (`0010`);
//! - then opcodes: `0xFA` AUX (two strings: name, value), `0xF5` FUNCTION2
//!   (a library's code), `0xFE` SELECTDB (length), `0xFB` RESIZEDB (key and
//!   expire counts, lengths), `0xFC` EXPIRETIME_MS (u64 LE, applies to the
//!   next key), `0xFD` EXPIRETIME (u32 LE seconds, old files), `0xF8` IDLE
//!   (length, seconds), `0xF9` FREQ (one byte), `0xF4` SLOT_INFO (three
//!   lengths, Redis 7.4+), `0xFF` EOF; any other byte is a value type
//!   followed by the key (a string) and the value;
//! - after EOF, from version 5 on: CRC-64 (u64 LE) of everything before
//!   it, 0 when the writer had `rdbchecksum no`.
//!
//! We write RDB 10 (what redis-server 7.0 reads): the aux fields Redis
//! writes (`redis-ver`, `redis-bits`, `ctime`, `used-mem`, `aof-base`),
//! function libraries, then per non-empty database SELECTDB, RESIZEDB and
//! its live keys in the plain encodings of [`super::write_value`].
//!
//! Files come from disk and may be damaged: every length is checked
//! against the bytes actually there, and errors carry the offset.

use super::{read_value, write_len, write_string, write_value, RdbError, Reader};
use crate::keyspace::{Db, Limits, Value};

// Opcodes (Redis `rdb.h` names).
const OP_SLOT_INFO: u8 = 244;
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

/// What the header says about the writer.
pub struct Header<'a> {
    /// `redis-ver`.
    pub redis_ver: &'a str,
    /// `ctime`: Unix seconds when the snapshot was taken.
    pub ctime: i64,
    /// `used-mem`: bytes in use when the snapshot was taken.
    pub used_mem: u64,
    /// Function libraries' code (FUNCTION LOAD bodies).
    pub functions: &'a [bytes::Bytes],
}

fn aux(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(OP_AUX);
    write_string(out, name.as_bytes(), false);
    write_string(out, value, false);
}

/// Append the magic, the aux fields and the function libraries.
pub fn write_header(out: &mut Vec<u8>, h: &Header<'_>, compress: bool) {
    out.extend_from_slice(format!("REDIS{:04}", super::RDB_VERSION).as_bytes());
    aux(out, "redis-ver", h.redis_ver.as_bytes());
    aux(out, "redis-bits", b"64");
    aux(out, "ctime", h.ctime.to_string().as_bytes());
    aux(out, "used-mem", h.used_mem.to_string().as_bytes());
    aux(out, "aof-base", b"0");
    for code in h.functions {
        out.push(OP_FUNCTION2);
        write_string(out, code, compress);
    }
}

/// One shard's share of one database, serialized.
#[derive(Debug, Default)]
pub struct DbPart {
    /// Keys written.
    pub keys: u64,
    /// Of which with a TTL.
    pub expires: u64,
    /// Their bytes (EXPIRETIME_MS, type, key, value per key).
    pub bytes: Vec<u8>,
}

/// Serialize the live keys of `db` at `now` (expired keys are left out).
pub fn write_db_entries(db: &Db, now: i64, compress: bool) -> DbPart {
    let mut part = DbPart::default();
    for e in db.iter(now) {
        if write_entry(&mut part.bytes, e, compress) {
            part.keys += 1;
            part.expires += u64::from(e.expire_at().is_some());
        }
    }
    part
}

/// Append one key (its expiry, type, key and value). False when the value
/// could not be encoded (nothing appended then).
pub fn write_entry(out: &mut Vec<u8>, e: &crate::keyspace::Entry, compress: bool) -> bool {
    // The type byte comes before the key: write the value to learn it.
    let mut v = Vec::new();
    write_value(&mut v, e.value(), compress);
    let Some((ty, body)) = v.split_first() else {
        return false;
    };
    if let Some(at) = e.expire_at() {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&at.to_le_bytes());
    }
    out.push(*ty);
    write_string(out, e.key_bytes(), compress);
    out.extend_from_slice(body);
    true
}

/// Append SELECTDB for database `index` (entries that follow go there).
pub fn write_select(out: &mut Vec<u8>, index: usize) {
    out.push(OP_SELECTDB);
    write_len(out, index as u64);
}

/// Append SELECTDB and RESIZEDB for database `index`.
pub fn write_db_start(out: &mut Vec<u8>, index: usize, keys: u64, expires: u64) {
    out.push(OP_SELECTDB);
    write_len(out, index as u64);
    out.push(OP_RESIZEDB);
    write_len(out, keys);
    write_len(out, expires);
}

/// Append the EOF opcode (the caller appends the checksum of everything).
pub fn write_eof(out: &mut Vec<u8>) {
    out.push(OP_EOF);
}

/// A running CRC-64 over the bytes of a file being written.
pub struct Checksum(crc::Digest<'static, u64, crc::Table<16>>);

impl Checksum {
    /// Nothing summed yet.
    pub fn new() -> Self {
        Checksum(super::CRC64.digest())
    }

    /// Add bytes.
    pub fn update(&mut self, b: &[u8]) {
        self.0.update(b);
    }

    /// The trailer to append (zero when checksums are off, as Redis writes).
    pub fn trailer(self, enabled: bool) -> [u8; 8] {
        if enabled {
            self.0.finalize().to_le_bytes()
        } else {
            [0; 8]
        }
    }
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum::new()
    }
}

/// Why a file cannot be loaded, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Byte offset of the item that failed.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte offset {})", self.what, self.offset)
    }
}

fn bad(offset: usize, what: impl Into<String>) -> LoadError {
    LoadError {
        offset,
        what: what.into(),
    }
}

/// The file's RDB version, after checking the signature.
fn version(buf: &[u8]) -> Result<u16, LoadError> {
    let magic = buf.get(..9).ok_or_else(|| bad(0, "File too short"))?;
    if magic.get(..5) != Some(b"REDIS".as_slice()) {
        return Err(bad(0, "Wrong signature trying to load DB from file"));
    }
    std::str::from_utf8(magic.get(5..9).unwrap_or_default())
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|v| (1..=super::RDB_VERSION_MAX_READ).contains(v))
        .ok_or_else(|| bad(5, "Can't handle RDB format version"))
}

/// Check the signature, the version and the checksum of a whole file;
/// returns the version. Run once, before any shard [`parse`]s it.
pub fn check(buf: &[u8]) -> Result<u16, LoadError> {
    let version = version(buf)?;
    if version >= 5 {
        let end = buf
            .len()
            .checked_sub(8)
            .filter(|&e| e >= 10)
            .ok_or_else(|| bad(buf.len(), "Unexpected EOF reading RDB file"))?;
        let (body, trailer) = buf.split_at(end);
        let stored = u64::from_le_bytes(trailer.try_into().unwrap_or_default());
        if stored != 0 {
            let actual = super::crc64(body);
            if actual != stored {
                return Err(bad(
                    end,
                    format!("Wrong RDB checksum expected: ({stored:x}) got: ({actual:x})"),
                ));
            }
        }
    }
    Ok(version)
}

/// Where parsed items go. The parser asks [`Sink::owns`] before building a
/// value, so a shard keeping a fraction of the keys steps over the rest.
pub trait Sink {
    /// True when this sink keeps `key`.
    fn owns(&self, key: &[u8]) -> bool;
    /// A live key it owns: database, key, value, expiry (Unix ms, 0 none),
    /// idle seconds if the file recorded them.
    fn entry(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at: i64,
        idle: Option<i64>,
    ) -> Result<(), String>;
    /// A function library's code.
    fn function(&mut self, code: &[u8]) -> Result<(), String>;
    /// An aux field.
    fn aux(&mut self, name: &[u8], value: &[u8]);
}

/// What one parse kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Owned keys handed to the sink.
    pub keys: u64,
    /// Owned keys skipped because their TTL had passed.
    pub expired: u64,
}

fn type_name(ty: u8) -> &'static str {
    match ty {
        6 | 7 => "module",
        15 | 19 | 21 => "stream",
        22..=25 => "hash with field expiry",
        _ => "unknown",
    }
}

/// Step over a value of type `ty` without building it.
fn skip_value(ty: u8, r: &mut Reader<'_>) -> Result<(), RdbError> {
    use super::aggregate::*;
    use super::legacy::*;
    match ty {
        super::TYPE_STRING
        | TYPE_HASH_ZIPMAP
        | TYPE_LIST_ZIPLIST
        | TYPE_SET_INTSET
        | TYPE_ZSET_ZIPLIST
        | TYPE_HASH_ZIPLIST
        | TYPE_HASH_LISTPACK
        | TYPE_ZSET_LISTPACK
        | TYPE_SET_LISTPACK => r.skip_string(),
        TYPE_LIST | TYPE_SET | TYPE_HASH | TYPE_LIST_QUICKLIST => {
            let n = r.len()?;
            let n = if ty == TYPE_HASH {
                n.saturating_mul(2)
            } else {
                n
            };
            for _ in 0..n {
                r.skip_string()?;
            }
            Ok(())
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            for _ in 0..r.len()? {
                r.skip_string()?;
                if ty == TYPE_ZSET_2 {
                    r.bytes(8)?;
                } else {
                    let n = r.byte()?;
                    if n < 253 {
                        r.bytes(usize::from(n))?;
                    }
                }
            }
            Ok(())
        }
        TYPE_LIST_QUICKLIST_2 => {
            for _ in 0..r.len()? {
                r.len()?;
                r.skip_string()?;
            }
            Ok(())
        }
        other => Err(RdbError::UnsupportedType(other)),
    }
}

fn rdb_err(offset: usize, e: RdbError) -> LoadError {
    match e {
        RdbError::Bad => bad(offset, "Bad data format (truncated or corrupt value)"),
        RdbError::UnsupportedType(t) => bad(
            offset,
            format!("Value type {t} ({}) is not supported", type_name(t)),
        ),
    }
}

/// Parse a file that passed [`check`] (the checksum is not verified again
/// here): hand every live key `sink` owns to it (with `databases`
/// databases, aggregates encoded per `lim`), every function library and aux
/// field. Damage the checksum did not catch (files written without one) is
/// still an error, never a panic.
pub fn parse(
    buf: &[u8],
    now: i64,
    databases: usize,
    lim: &Limits,
    sink: &mut impl Sink,
) -> Result<Loaded, LoadError> {
    let version = version(buf)?;
    let mut r = Reader::new(buf, usize::MAX);
    r.bytes(9).map_err(|e| rdb_err(0, e))?;
    let mut loaded = Loaded::default();
    let mut db = 0usize;
    let mut expire_at = 0i64;
    let mut idle = None;
    loop {
        let at = r.pos();
        let e = |e| rdb_err(at, e);
        let op = r.byte().map_err(e)?;
        match op {
            OP_EOF => break,
            OP_SELECTDB => {
                let i = r.len().map_err(e)?;
                db = usize::try_from(i)
                    .ok()
                    .filter(|&i| i < databases)
                    .ok_or_else(|| {
                        bad(
                            at,
                            format!(
                                "Data file was created with a server configured to handle more than {databases} databases"
                            ),
                        )
                    })?;
            }
            OP_RESIZEDB => {
                r.len().map_err(e)?;
                r.len().map_err(e)?;
            }
            OP_SLOT_INFO => {
                for _ in 0..3 {
                    r.len().map_err(e)?;
                }
            }
            OP_AUX => {
                let name = r.string().map_err(e)?;
                let value = r.string().map_err(e)?;
                sink.aux(&name, &value);
            }
            OP_FUNCTION2 => {
                let code = r.string().map_err(e)?;
                sink.function(&code)
                    .map_err(|why| bad(at, format!("Failed loading library: {why}")))?;
            }
            OP_FUNCTION_PRE_GA | OP_MODULE_AUX => {
                return Err(bad(
                    at,
                    format!("Opcode {op} (pre-release functions or module data) is not supported"),
                ));
            }
            OP_EXPIRETIME_MS => {
                let b = r.bytes(8).map_err(e)?;
                expire_at = i64::from_le_bytes(b.try_into().unwrap_or_default());
            }
            OP_EXPIRETIME => {
                let b = r.bytes(4).map_err(e)?;
                let secs = i32::from_le_bytes(b.try_into().unwrap_or_default());
                expire_at = i64::from(secs).saturating_mul(1000);
            }
            OP_IDLE => idle = Some(i64::try_from(r.len().map_err(e)?).unwrap_or(i64::MAX)),
            OP_FREQ => {
                r.byte().map_err(e)?;
            }
            ty => {
                let key = r.string().map_err(e)?;
                if sink.owns(&key) {
                    let vat = r.pos();
                    let value = read_value(ty, &mut r, lim).map_err(|e| rdb_err(vat, e))?;
                    // A TTL of 0 or less cannot be told from "none" in Shoal's
                    // entries; such keys are long expired anyway.
                    if expire_at != 0 && expire_at <= now {
                        loaded.expired += 1;
                    } else {
                        sink.entry(db, &key, value, expire_at.max(0), idle)
                            .map_err(|why| bad(at, why))?;
                        loaded.keys += 1;
                    }
                } else {
                    skip_value(ty, &mut r).map_err(e)?;
                }
                expire_at = 0;
                idle = None;
            }
        }
    }
    if version >= 5 && buf.len().saturating_sub(r.pos()) != 8 {
        return Err(bad(r.pos(), "Unexpected bytes after the EOF opcode"));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Entry, LruClock, RStr};

    #[derive(Default)]
    struct Keep {
        keys: Vec<(usize, Vec<u8>, Value, i64)>,
        funcs: Vec<Vec<u8>>,
        aux: Vec<(Vec<u8>, Vec<u8>)>,
        only: Option<Vec<u8>>,
    }

    impl Sink for Keep {
        fn owns(&self, key: &[u8]) -> bool {
            self.only.as_deref().is_none_or(|o| o == key)
        }
        fn entry(
            &mut self,
            db: usize,
            key: &[u8],
            value: Value,
            at: i64,
            _idle: Option<i64>,
        ) -> Result<(), String> {
            self.keys.push((db, key.to_vec(), value, at));
            Ok(())
        }
        fn function(&mut self, code: &[u8]) -> Result<(), String> {
            self.funcs.push(code.to_vec());
            Ok(())
        }
        fn aux(&mut self, name: &[u8], value: &[u8]) {
            self.aux.push((name.to_vec(), value.to_vec()));
        }
    }

    fn sample(now: i64) -> Vec<u8> {
        let mut db = Db::default();
        let s = |v: &str| Value::Str(RStr::from_bytes(v.as_bytes()));
        db.insert_entry(Entry::new(b"a", s("1"), 0, LruClock::at(now)));
        db.insert_entry(Entry::new(b"b", s("two"), now + 60_000, LruClock::at(now)));
        db.insert_entry(Entry::new(b"gone", s("x"), now - 1, LruClock::at(now)));
        let libs = [bytes::Bytes::from_static(b"#!lua name=l\n")];
        let mut out = Vec::new();
        write_header(
            &mut out,
            &Header {
                redis_ver: "7.2.4",
                ctime: now / 1000,
                used_mem: 1 << 40,
                functions: &libs,
            },
            true,
        );
        let part = write_db_entries(&db, now, true);
        assert_eq!((part.keys, part.expires), (2, 1));
        write_db_start(&mut out, 3, part.keys, part.expires);
        out.extend_from_slice(&part.bytes);
        write_eof(&mut out);
        let mut c = Checksum::new();
        c.update(&out);
        out.extend_from_slice(&c.trailer(true));
        out
    }

    #[test]
    fn roundtrip_keeps_keys_ttls_functions_aux() {
        let now = 1_700_000_000_000;
        let file = sample(now);
        assert_eq!(&file[..9], b"REDIS0010");
        let mut k = Keep::default();
        let n = parse(&file, now, 16, &Limits::default(), &mut k).unwrap();
        assert_eq!(
            n,
            Loaded {
                keys: 2,
                expired: 0
            }
        );
        let mut keys: Vec<_> = k
            .keys
            .iter()
            .map(|(d, k, _, t)| (*d, k.clone(), *t))
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![(3, b"a".to_vec(), 0), (3, b"b".to_vec(), now + 60_000)]
        );
        assert_eq!(k.funcs, vec![b"#!lua name=l\n".to_vec()]);
        assert!(k
            .aux
            .contains(&(b"used-mem".to_vec(), (1u64 << 40).to_string().into_bytes())));
        // Later, "b" has expired; a sink owning only "a" skips "b" unparsed.
        let mut only = Keep {
            only: Some(b"a".to_vec()),
            ..Keep::default()
        };
        let n = parse(&file, now + 120_000, 16, &Limits::default(), &mut only).unwrap();
        assert_eq!(
            n,
            Loaded {
                keys: 1,
                expired: 0
            }
        );
        let n = parse(
            &file,
            now + 120_000,
            16,
            &Limits::default(),
            &mut Keep::default(),
        )
        .unwrap();
        assert_eq!(
            n,
            Loaded {
                keys: 1,
                expired: 1
            }
        );
        // Too few databases.
        assert!(parse(&file, now, 2, &Limits::default(), &mut Keep::default()).is_err());
    }

    #[test]
    fn damage_is_reported_not_panicked() {
        let now = 1_700_000_000_000;
        let file = sample(now);
        for cut in [0, 5, 9, 20, file.len() / 2, file.len() - 9, file.len() - 1] {
            assert!(check(&file[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = file.clone();
        flipped[40] ^= 0x55;
        assert!(check(&flipped).unwrap_err().what.contains("checksum"));
        // Without a checksum, the parser itself must catch every truncation.
        let mut unsummed = file.clone();
        let n = unsummed.len();
        unsummed[n - 8..].fill(0);
        assert!(parse(&unsummed, now, 16, &Limits::default(), &mut Keep::default()).is_ok());
        for cut in 10..n - 8 {
            let mut t = unsummed[..cut].to_vec();
            t.extend_from_slice(&[0; 8]);
            let _ = parse(&t, now, 16, &Limits::default(), &mut Keep::default());
        }
        let mut wrong = file.clone();
        wrong[..5].copy_from_slice(b"RADIS");
        assert!(check(&wrong).is_err());
    }
}
