//! Bitmap commands over string values: SETBIT GETBIT BITCOUNT BITPOS BITOP
//! BITFIELD BITFIELD_RO. Bits are numbered from the most significant bit
//! of the first byte, as in Redis; writes grow the string with zero bytes
//! (and leave it `raw`). BITOP over keys on several shards goes through
//! [`super::multikey::gather`].

use super::access::{err, store_result};
use super::args::{is, parse_i64};
use super::ctx::Ctx;
use super::errors::{self, CmdError, CmdResult};
use super::multikey::{gather, Combined};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use super::string::{check_len, op_get};
use crate::keyspace::events::STRING;
use crate::keyspace::{Db, RStr, Value};
use crate::shard::ShardState;
use resp::Request;

const BAD_OFFSET: CmdError = CmdError::fixed("ERR bit offset is not an integer or out of range");

// ---- access ----

/// The bytes of the string at `key` (None when missing), or WRONGTYPE.
fn read_bytes(db: &mut Db, key: &[u8], now: i64) -> CmdResult<Option<Vec<u8>>> {
    op_get(db, key, now).map(|s| s.map(|s| s.as_bytes().into_owned()))
}

/// The raw buffer of the string at `key` for writing, grown with zero
/// bytes to at least `len` (created when missing); WRONGTYPE otherwise.
fn write_bytes<'d>(db: &'d mut Db, key: &[u8], len: usize, now: i64) -> CmdResult<&'d mut Vec<u8>> {
    if db
        .get(key, now)
        .is_some_and(|e| !matches!(e.value(), Value::Str(_)))
    {
        return Err(errors::WRONGTYPE);
    }
    let e = db.write_or_insert(key, now, || Value::Str(RStr::raw(Vec::new())));
    let Value::Str(s) = e.value_mut() else {
        return Err(errors::WRONGTYPE);
    };
    let raw = s.make_raw();
    if raw.len() < len {
        raw.resize(len, 0);
    }
    Ok(raw)
}

/// A bit offset argument (`#N` counts in units of `bits` when allowed),
/// bounded like Redis by proto-max-bulk-len bytes.
fn parse_offset(arg: &[u8], bits: Option<u32>, max_bulk: i64) -> CmdResult<u64> {
    let (hash, body) = match (arg.split_first(), bits) {
        (Some((b'#', rest)), Some(_)) => (true, rest),
        _ => (false, arg),
    };
    let v = parse_i64(body).map_err(|_| BAD_OFFSET)?;
    let v = if hash {
        v.checked_mul(i64::from(bits.unwrap_or(1)))
            .ok_or(BAD_OFFSET)?
    } else {
        v
    };
    if v < 0 || (!hash && (v >> 3) >= max_bulk) {
        return Err(BAD_OFFSET);
    }
    u64::try_from(v).map_err(|_| BAD_OFFSET)
}

fn get_bit(bytes: &[u8], bit: u64) -> bool {
    let byte = usize::try_from(bit >> 3).unwrap_or(usize::MAX);
    bytes
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (bit & 7)) != 0)
}

fn set_bit(bytes: &mut [u8], bit: u64, on: bool) {
    let byte = usize::try_from(bit >> 3).unwrap_or(usize::MAX);
    if let Some(b) = bytes.get_mut(byte) {
        let m = 0x80u8 >> (bit & 7);
        if on {
            *b |= m;
        } else {
            *b &= !m;
        }
    }
}

fn byte_len(bit_end_exclusive: u64) -> usize {
    usize::try_from(bit_end_exclusive.div_ceil(8)).unwrap_or(usize::MAX)
}

// ---- SETBIT / GETBIT ----

fn setbit(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let max = ctx.shard.state.borrow().config.proto_max_bulk_len;
    let off = parse_offset(req.arg(2), None, max)?;
    let on = match req.arg(3) {
        b"1" => true,
        b"0" => false,
        _ => return Err(CmdError::fixed("ERR bit is not an integer or out of range")),
    };
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let need = byte_len(off + 1);
        // Redis raises `setbit` only when the string was created or grown,
        // or the bit changed.
        let grows = match db.get(key, now).map(|e| e.value()) {
            Some(Value::Str(s)) => s.len() < need,
            _ => true,
        };
        match write_bytes(db, key, need, now) {
            Ok(raw) => {
                let old = get_bit(raw, off);
                set_bit(raw, off, on);
                w.int(i64::from(old));
                if grows || old != on {
                    db.notify(STRING, "setbit", key);
                } else {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let max = ctx.shard.state.borrow().config.proto_max_bulk_len;
    let off = parse_offset(req.arg(2), None, max)?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match read_bytes(db, key, now) {
            Ok(b) => w.int(i64::from(b.is_some_and(|b| get_bit(&b, off)))),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

// ---- BITCOUNT / BITPOS ----

/// A `start end [BYTE|BIT]` range normalized to inclusive bit positions
/// over `len` bytes; `None` when empty.
fn bit_range(start: i64, end: i64, bit_unit: bool, len: usize) -> Option<(u64, u64)> {
    let total = i64::try_from(len).ok()? * if bit_unit { 8 } else { 1 };
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s += total;
    }
    if e < 0 {
        e += total;
    }
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e {
        return None;
    }
    let (s, e) = (u64::try_from(s).ok()?, u64::try_from(e).ok()?);
    Some(if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) })
}

fn unit(arg: Option<&[u8]>) -> CmdResult<bool> {
    match arg {
        None => Ok(false),
        Some(a) if is(a, "BIT") => Ok(true),
        Some(a) if is(a, "BYTE") => Ok(false),
        Some(_) => Err(errors::SYNTAX),
    }
}

fn count_ones(bytes: &[u8], from: u64, to: u64) -> u64 {
    let (fb, tb) = (from / 8, to / 8);
    let mut n = 0u64;
    for (i, b) in bytes
        .iter()
        .enumerate()
        .skip(usize::try_from(fb).unwrap_or(usize::MAX))
        .take(usize::try_from(tb - fb + 1).unwrap_or(0))
    {
        let i = i as u64;
        let mut v = *b;
        if i == fb {
            v &= 0xFFu8 >> (from & 7);
        }
        if i == tb {
            v &= 0xFFu8 << (7 - (to & 7));
        }
        n += u64::from(v.count_ones());
    }
    n
}

fn bitcount(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let args: Vec<Vec<u8>> = (2..req.len()).map(|i| req.arg(i).to_vec()).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        // Redis looks the key up before it parses the range.
        let bytes = match read_bytes(db, key, now) {
            Ok(Some(b)) => b,
            Ok(None) => return w.int(0),
            Err(e) => return err(w, &e),
        };
        let r = (|| -> CmdResult<u64> {
            let range = match args.as_slice() {
                [] => bit_range(0, -1, false, bytes.len()),
                [s, e] | [s, e, _] => {
                    let (s, e) = (parse_i64(s)?, parse_i64(e)?);
                    let bit_unit = unit(args.get(2).map(Vec::as_slice))?;
                    if s < 0 && e < 0 && s > e {
                        return Ok(0);
                    }
                    bit_range(s, e, bit_unit, bytes.len())
                }
                _ => return Err(errors::SYNTAX),
            };
            Ok(range.map_or(0, |(f, t)| count_ones(&bytes, f, t)))
        })();
        match r {
            Ok(n) => w.int(n as i64),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn bitpos(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let bit = parse_i64(req.arg(2))?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::fixed("ERR The bit argument must be 1 or 0."));
    }
    let want = bit == 1;
    let args: Vec<Vec<u8>> = (3..req.len()).map(|i| req.arg(i).to_vec()).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let bytes = match read_bytes(db, key, now) {
            Ok(Some(b)) => b,
            Ok(None) => return w.int(if want { -1 } else { 0 }),
            Err(e) => return err(w, &e),
        };
        let r = (|| -> CmdResult<i64> {
            if args.len() > 3 {
                return Err(errors::SYNTAX);
            }
            let start = args.first().map(|a| parse_i64(a)).transpose()?.unwrap_or(0);
            let bit_unit = unit(args.get(2).map(Vec::as_slice))?;
            let end_given = args.len() >= 2;
            let end = args.get(1).map(|a| parse_i64(a)).transpose()?.unwrap_or(-1);
            let Some((from, to)) = bit_range(start, end, bit_unit, bytes.len()) else {
                return Ok(-1);
            };
            if let Some(pos) = (from..=to).find(|&b| get_bit(&bytes, b) == want) {
                return Ok(pos as i64);
            }
            // Past an implicit end, a string is an endless run of zeros.
            Ok(if !want && !end_given {
                ((to / 8 + 1) * 8) as i64
            } else {
                -1
            })
        })();
        match r {
            Ok(n) => w.int(n),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

// ---- BITOP ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let op = match req.arg(1) {
        a if is(a, "AND") => BitOp::And,
        a if is(a, "OR") => BitOp::Or,
        a if is(a, "XOR") => BitOp::Xor,
        a if is(a, "NOT") => BitOp::Not,
        _ => return Err(errors::SYNTAX),
    };
    if op == BitOp::Not && req.len() != 4 {
        return Err(CmdError::fixed(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let dst = req.arg_bytes(2);
    let srcs = (3..req.len()).map(|i| req.arg_bytes(i)).collect();
    let read = |st: &mut ShardState, db: usize, k: &[u8], now: i64| read_bytes(st.db(db), k, now);
    gather(ctx, srcs, Some(dst), read, move |snaps| {
        let vals: Vec<Vec<u8>> = match snaps.into_iter().collect::<CmdResult<Vec<_>>>() {
            Err(e) => {
                return Combined {
                    reply: Box::new(move |w| err(w, &e)),
                    store: None,
                }
            }
            Ok(v) => v.into_iter().map(Option::unwrap_or_default).collect(),
        };
        let len = vals.iter().map(Vec::len).max().unwrap_or(0);
        let byte = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
        let out: Vec<u8> = (0..len)
            .map(|i| {
                let mut it = vals.iter();
                let first = it.next().map_or(0, |v| byte(v, i));
                match op {
                    BitOp::Not => !first,
                    BitOp::And => it.fold(first, |a, v| a & byte(v, i)),
                    BitOp::Or => it.fold(first, |a, v| a | byte(v, i)),
                    BitOp::Xor => it.fold(first, |a, v| a ^ byte(v, i)),
                }
            })
            .collect();
        let n = out.len() as i64;
        Combined {
            reply: Box::new(move |w| w.int(n)),
            store: Some(Box::new(move |st, db, k, now| {
                let value = (!out.is_empty()).then(|| Value::Str(RStr::raw(out)));
                store_result(st.db(db), k, value, STRING, "set", now);
            })),
        }
    });
    Ok(())
}

// ---- BITFIELD ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
    offset: u64,
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get(Field),
    Set(Field, i64, Overflow),
    Incr(Field, i64, Overflow),
}

fn parse_type(arg: &[u8]) -> CmdResult<(bool, u32)> {
    let bad = CmdError::fixed(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
    );
    let (signed, rest) = match arg.split_first() {
        Some((b'i' | b'I', r)) => (true, r),
        Some((b'u' | b'U', r)) => (false, r),
        _ => return Err(bad),
    };
    let bits = std::str::from_utf8(rest)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&b| b >= 1 && ((signed && b <= 64) || (!signed && b <= 63)))
        .ok_or(bad)?;
    Ok((signed, bits))
}

fn parse_bitfield(req: &Request, read_only: bool, max_bulk: i64) -> CmdResult<Vec<FieldOp>> {
    let mut ops = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut i = 2;
    while i < req.len() {
        let sub = req.arg(i);
        let left = req.len() - i - 1;
        let field = |at: usize| -> CmdResult<Field> {
            let (signed, bits) = parse_type(req.arg(at))?;
            let offset = parse_offset(req.arg(at + 1), Some(bits), max_bulk)?;
            Ok(Field {
                signed,
                bits,
                offset,
            })
        };
        if is(sub, "GET") && left >= 2 {
            ops.push(FieldOp::Get(field(i + 1)?));
            i += 3;
        } else if (is(sub, "SET") || is(sub, "INCRBY")) && left >= 3 {
            if read_only {
                return Err(CmdError::fixed(
                    "ERR BITFIELD_RO only supports the GET subcommand",
                ));
            }
            let f = field(i + 1)?;
            let v = parse_i64(req.arg(i + 3))?;
            ops.push(if is(sub, "SET") {
                FieldOp::Set(f, v, ow)
            } else {
                FieldOp::Incr(f, v, ow)
            });
            i += 4;
        } else if is(sub, "OVERFLOW") && left >= 1 {
            let v = req.arg(i + 1);
            ow = if is(v, "WRAP") {
                Overflow::Wrap
            } else if is(v, "SAT") {
                Overflow::Sat
            } else if is(v, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::fixed("ERR Invalid OVERFLOW type specified"));
            };
            i += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(ops)
}

fn read_field(bytes: &[u8], f: Field) -> i64 {
    let mut v: u64 = 0;
    for b in 0..u64::from(f.bits) {
        v = (v << 1) | u64::from(get_bit(bytes, f.offset + b));
    }
    if f.signed && f.bits < 64 && v & (1 << (f.bits - 1)) != 0 {
        v |= u64::MAX << f.bits;
    }
    v as i64
}

fn write_field(bytes: &mut [u8], f: Field, v: i64) {
    let v = v as u64;
    for b in 0..u64::from(f.bits) {
        let shift = u64::from(f.bits) - 1 - b;
        set_bit(bytes, f.offset + b, (v >> shift) & 1 == 1);
    }
}

/// Redis's overflow rules: `value + incr` in `f`'s range, or its wrapped
/// or saturated form, or None when FAIL refuses it. For unsigned fields
/// `value` is taken as unsigned (so SET u8 -1 overflows).
fn apply(f: Field, value: i64, incr: i64, ow: Overflow) -> Option<i64> {
    let bits = f.bits;
    let (min, max, exact): (i128, i128, i128) = if f.signed {
        let max = (1i128 << (bits - 1)) - 1;
        (-max - 1, max, i128::from(value) + i128::from(incr))
    } else {
        let max = (1i128 << bits) - 1;
        (0, max, i128::from(value as u64) + i128::from(incr))
    };
    if exact >= min && exact <= max {
        return Some(exact as i64);
    }
    match ow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if exact > max { max } else { min } as i64),
        Overflow::Wrap => {
            let c = (value as u64).wrapping_add(incr as u64);
            Some(if bits >= 64 {
                c as i64
            } else if f.signed {
                let msb = 1u64 << (bits - 1);
                let mask = u64::MAX << bits;
                (if c & msb != 0 { c | mask } else { c & !mask }) as i64
            } else {
                (c & !(u64::MAX << bits)) as i64
            })
        }
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_>, req: &Request, read_only: bool) -> CmdResult {
    let max = ctx.shard.state.borrow().config.proto_max_bulk_len;
    let ops = parse_bitfield(req, read_only, max)?;
    let writes = ops.iter().any(|o| !matches!(o, FieldOp::Get(_)));
    // Like Redis, a writing BITFIELD grows the string to its highest write
    // offset up front, whatever the overflow policy then decides.
    let need = ops
        .iter()
        .filter_map(|o| match o {
            FieldOp::Get(_) => None,
            FieldOp::Set(f, ..) | FieldOp::Incr(f, ..) => Some(f.offset + u64::from(f.bits)),
        })
        .max()
        .unwrap_or(0);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let mut owned;
        let bytes: &mut Vec<u8> = if writes {
            if let Err(e) = check_len(max, byte_len(need), 0) {
                return err(w, &e);
            }
            match write_bytes(db, key, byte_len(need), now) {
                Ok(b) => b,
                Err(e) => return err(w, &e),
            }
        } else {
            owned = match read_bytes(db, key, now) {
                Ok(b) => b.unwrap_or_default(),
                Err(e) => return err(w, &e),
            };
            &mut owned
        };
        w.array(ops.len());
        let mut changed = false;
        for op in &ops {
            match *op {
                FieldOp::Get(f) => w.int(read_field(bytes, f)),
                FieldOp::Set(f, v, ow) => {
                    let old = read_field(bytes, f);
                    match apply(f, v, 0, ow) {
                        Some(nv) => {
                            write_field(bytes, f, nv);
                            changed = true;
                            w.int(old);
                        }
                        None => w.null(),
                    }
                }
                FieldOp::Incr(f, by, ow) => {
                    let old = read_field(bytes, f);
                    match apply(f, old, by, ow) {
                        Some(nv) => {
                            write_field(bytes, f, nv);
                            changed = true;
                            w.int(nv);
                        }
                        None => w.null(),
                    }
                }
            }
        }
        // Every SET and INCRBY that wrote counts (not one OVERFLOW FAIL
        // turned down), whether or not the bits changed.
        if changed {
            db.notify(STRING, "setbit", key);
        }
    });
    Ok(())
}

fn bitfield(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bitfield_generic(ctx, req, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bitfield_generic(ctx, req, true)
}

// ---- table ----

const B: u32 = acl::BITMAP;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", 4, setbit)
        .flags(WRITE | DENYOOM)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "bitmap",
            "2.2.0",
            "Sets or clears the bit at offset of the string value.",
        ),
    CommandSpec::new("getbit", 3, getbit)
        .flags(READONLY | FAST)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc("bitmap", "2.2.0", "Returns a bit value by offset."),
    CommandSpec::new("bitcount", -2, bitcount)
        .flags(READONLY)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "bitmap",
            "2.6.0",
            "Counts the number of set bits (population counting) in a string.",
        ),
    CommandSpec::new("bitpos", -3, bitpos)
        .flags(READONLY)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "bitmap",
            "2.8.7",
            "Finds the first set (1) or clear (0) bit in a string.",
        ),
    CommandSpec::new("bitop", -4, bitop)
        .flags(WRITE | DENYOOM)
        .acl(B)
        .keys(2, -1, 1)
        .key_specs(&[
            KeySpecDef::range(&["OW", "UPDATE"], 2, 0, 1, 0),
            KeySpecDef::range(&["RO", "ACCESS"], 3, -1, 1, 0),
        ])
        .doc(
            "bitmap",
            "2.6.0",
            "Performs bitwise operations on multiple strings, and stores the result.",
        ),
    CommandSpec::new("bitfield", -2, bitfield)
        .flags(WRITE | DENYOOM)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(
            &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
            1,
            0,
            1,
            0,
        )])
        .doc(
            "bitmap",
            "3.2.0",
            "Performs arbitrary bitfield integer operations on strings.",
        ),
    CommandSpec::new("bitfield_ro", -2, bitfield_ro)
        .flags(READONLY | FAST)
        .acl(B)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "bitmap",
            "6.0.0",
            "Performs arbitrary read-only bitfield integer operations on strings.",
        ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn f(signed: bool, bits: u32) -> Field {
        Field {
            signed,
            bits,
            offset: 0,
        }
    }

    #[test]
    fn overflow_rules_match_redis() {
        assert_eq!(apply(f(false, 8), 250, 10, Overflow::Wrap), Some(4));
        assert_eq!(apply(f(false, 8), 250, 10, Overflow::Sat), Some(255));
        assert_eq!(apply(f(false, 8), 250, 10, Overflow::Fail), None);
        assert_eq!(apply(f(false, 8), 5, -10, Overflow::Sat), Some(0));
        assert_eq!(apply(f(false, 8), -1, 0, Overflow::Sat), Some(255));
        assert_eq!(apply(f(true, 8), 120, 10, Overflow::Wrap), Some(-126));
        assert_eq!(apply(f(true, 8), -120, -10, Overflow::Sat), Some(-128));
        assert_eq!(
            apply(f(true, 64), i64::MAX, 1, Overflow::Wrap),
            Some(i64::MIN)
        );
        let mut b = vec![0u8; 2];
        write_field(
            &mut b,
            Field {
                signed: true,
                bits: 5,
                offset: 3,
            },
            -3,
        );
        assert_eq!(
            read_field(
                &b,
                Field {
                    signed: true,
                    bits: 5,
                    offset: 3
                }
            ),
            -3
        );
        assert_eq!(
            read_field(
                &b,
                Field {
                    signed: false,
                    bits: 5,
                    offset: 3
                }
            ),
            29
        );
    }
}
