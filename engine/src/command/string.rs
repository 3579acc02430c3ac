//! String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX APPEND
//! STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS.
//! (MGET, MSET and MSETNX span shards and live in [`super::multikey`].)
//!
//! Layout: parse structs and parsers, then `op_*` functions over a `Db`
//! (synchronous, on the owning shard), then handlers, then the table.

use super::args::{is, long_double_add, parse_i64, Args, LdError};
use super::ctx::Ctx;
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use crate::keyspace::events::{GENERIC, STRING};
use crate::keyspace::{Db, Entry, ExpirePolicy, RStr, Value};
use bytes::Bytes;
use resp::{ReplyWriter, Request};

// ---- shared helpers ----

/// The string stored at `e`, or WRONGTYPE.
pub fn as_str(e: &Entry) -> CmdResult<&RStr> {
    match e.value() {
        Value::Str(s) => Ok(s),
        _ => Err(errors::WRONGTYPE),
    }
}

/// Reply with a string value as a bulk string.
pub fn reply_str(w: &mut ReplyWriter<'_>, s: &RStr) {
    match s {
        RStr::Int(i) => w.bulk_int(*i),
        RStr::Emb(c) => w.bulk(c),
        RStr::Long(b) => w.bulk(b),
        RStr::Raw(v) => w.bulk(v),
    }
}

/// Redis's `checkStringLength`: a string may not grow past proto-max-bulk-len.
pub fn check_len(max: i64, size: usize, append: usize) -> CmdResult {
    let total = (size as u128) + (append as u128);
    if total > u128::try_from(max.max(0)).unwrap_or(0) {
        return Err(errors::STRING_TOO_LONG);
    }
    Ok(())
}

// ---- parse structs ----

/// When SET (or GETEX) makes the key expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// No expiry option: SET clears the TTL, GETEX leaves it.
    None,
    /// Absolute Unix ms.
    At(i64),
    /// KEEPTTL.
    Keep,
    /// PERSIST (GETEX only).
    Persist,
}

/// SET's NX / XX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetCondition {
    Always,
    IfAbsent,
    IfPresent,
}

/// Parsed SET options.
#[derive(Clone, Copy, Debug)]
pub struct SetOpts {
    pub cond: SetCondition,
    pub get: bool,
    pub expiry: Expiry,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Secs,
    Ms,
}

/// Turn an EX/PX/EXAT/PXAT argument into absolute Unix ms, with Redis's checks.
fn expire_at(arg: &[u8], unit: Unit, absolute: bool, now: i64, cmd: &str) -> CmdResult<i64> {
    let v = parse_i64(arg)?;
    if v <= 0 || (unit == Unit::Secs && v > i64::MAX / 1000) {
        return Err(errors::invalid_expire(cmd));
    }
    let ms = if unit == Unit::Secs { v * 1000 } else { v };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now).unwrap_or(-1)
    };
    if at <= 0 {
        return Err(errors::invalid_expire(cmd));
    }
    Ok(at)
}

/// Parse SET/GETEX options from `a` (Redis's `parseExtendedStringArgumentsOrReply`).
fn parse_ext(a: &mut Args<'_>, for_set: bool, now: i64, cmd: &str) -> CmdResult<SetOpts> {
    let mut o = SetOpts {
        cond: SetCondition::Always,
        get: false,
        expiry: Expiry::None,
    };
    let mut pending: Option<(&[u8], Unit, bool)> = None;
    while !a.is_empty() {
        let opt = a.next()?;
        let has_next = !a.is_empty();
        let no_expiry = pending.is_none() && o.expiry == Expiry::None;
        if for_set && is(opt, "NX") && o.cond != SetCondition::IfPresent {
            o.cond = SetCondition::IfAbsent;
        } else if for_set && is(opt, "XX") && o.cond != SetCondition::IfAbsent {
            o.cond = SetCondition::IfPresent;
        } else if for_set && is(opt, "GET") {
            o.get = true;
        } else if for_set && is(opt, "KEEPTTL") && pending.is_none() && o.expiry != Expiry::Persist
        {
            o.expiry = Expiry::Keep;
        } else if !for_set && is(opt, "PERSIST") && no_expiry {
            o.expiry = Expiry::Persist;
        } else if has_next && o.expiry == Expiry::None {
            let spec = if is(opt, "EX") {
                Some((Unit::Secs, false))
            } else if is(opt, "PX") {
                Some((Unit::Ms, false))
            } else if is(opt, "EXAT") {
                Some((Unit::Secs, true))
            } else if is(opt, "PXAT") {
                Some((Unit::Ms, true))
            } else {
                None
            };
            let Some((unit, abs)) = spec else {
                return Err(errors::SYNTAX);
            };
            // The same option may repeat (the last one wins); different ones may not mix.
            if let Some((_, u, b)) = pending {
                if (u, b) != (unit, abs) {
                    return Err(errors::SYNTAX);
                }
            }
            pending = Some((a.next()?, unit, abs));
        } else {
            return Err(errors::SYNTAX);
        }
    }
    if let Some((arg, unit, abs)) = pending {
        o.expiry = Expiry::At(expire_at(arg, unit, abs, now, cmd)?);
    }
    Ok(o)
}

// ---- ops (run on the owning shard) ----

/// GET: the value, or None.
pub fn op_get<'d>(db: &'d mut Db, key: &[u8], now: i64) -> CmdResult<Option<&'d RStr>> {
    match db.read(key, now, true) {
        None => Ok(None),
        Some(e) => as_str(e).map(Some),
    }
}

/// What SET did.
pub enum SetOutcome {
    /// Stored (with the old value when GET was asked).
    Stored(Option<RStr>),
    /// Not stored because of NX/XX (with the old value when GET was asked).
    Skipped(Option<RStr>),
}

/// SET with options. The old value is returned only when `opts.get`.
pub fn op_set(
    db: &mut Db,
    key: &[u8],
    value: RStr,
    opts: &SetOpts,
    now: i64,
) -> CmdResult<SetOutcome> {
    let old = if opts.get {
        match db.read(key, now, true) {
            None => None,
            Some(e) => Some(as_str(e)?.clone()),
        }
    } else {
        None
    };
    let exists = db.contains(key, now);
    let skip = match opts.cond {
        SetCondition::Always => false,
        SetCondition::IfAbsent => exists,
        SetCondition::IfPresent => !exists,
    };
    if skip {
        return Ok(SetOutcome::Skipped(old));
    }
    let policy = match opts.expiry {
        Expiry::None | Expiry::Persist => ExpirePolicy::Clear,
        Expiry::Keep => ExpirePolicy::Keep,
        Expiry::At(t) => ExpirePolicy::At(t),
    };
    db.set(key, Value::Str(value), policy, now);
    db.notify(STRING, "set", key);
    if let Expiry::At(_) = opts.expiry {
        db.notify(GENERIC, "expire", key);
    }
    Ok(SetOutcome::Stored(old))
}

/// INCRBY and friends: the new value.
pub fn op_incr(db: &mut Db, key: &[u8], by: i64, now: i64) -> CmdResult<i64> {
    let Some(e) = db.write(key, now) else {
        db.set(key, Value::Str(RStr::Int(by)), ExpirePolicy::Keep, now);
        db.notify(STRING, "incrby", key);
        return Ok(by);
    };
    let cur = as_str(e)?.as_int().ok_or(errors::NOT_INTEGER)?;
    let new = cur.checked_add(by).ok_or(errors::OVERFLOW)?;
    *e.value_mut() = Value::Str(RStr::Int(new));
    db.notify(STRING, "incrby", key);
    Ok(new)
}

/// INCRBYFLOAT: the new value as text.
pub fn op_incrbyfloat(db: &mut Db, key: &[u8], by: &[u8], now: i64) -> CmdResult<Vec<u8>> {
    let current = match db.write(key, now) {
        None => None,
        Some(e) => Some(as_str(e)?.as_bytes().into_owned()),
    };
    let new = long_double_add(current.as_deref(), by).map_err(|e| match e {
        LdError::BadCurrent | LdError::BadIncrement => errors::NOT_FLOAT,
        LdError::NanOrInf => errors::INCR_NAN_INF,
    })?;
    match db.write(key, now) {
        Some(e) => *e.value_mut() = Value::Str(RStr::from_text(&new)),
        None => db.set(
            key,
            Value::Str(RStr::from_text(&new)),
            ExpirePolicy::Keep,
            now,
        ),
    }
    db.notify(STRING, "incrbyfloat", key);
    Ok(new)
}

/// APPEND: the new length.
pub fn op_append(db: &mut Db, key: &[u8], data: &[u8], now: i64, max: i64) -> CmdResult<usize> {
    let len = append_value(db, key, data, now, max)?;
    db.notify(STRING, "append", key);
    Ok(len)
}

fn append_value(db: &mut Db, key: &[u8], data: &[u8], now: i64, max: i64) -> CmdResult<usize> {
    match db.write(key, now) {
        None => {
            check_len(max, 0, data.len())?;
            db.set(
                key,
                Value::Str(RStr::from_bytes(data)),
                ExpirePolicy::Keep,
                now,
            );
            Ok(data.len())
        }
        Some(e) => {
            let len = as_str(e)?.len();
            check_len(max, len, data.len())?;
            let Value::Str(s) = e.value_mut() else {
                return Err(errors::WRONGTYPE);
            };
            let raw = s.make_raw();
            raw.extend_from_slice(data);
            Ok(raw.len())
        }
    }
}

/// SETRANGE: the new length.
pub fn op_setrange(
    db: &mut Db,
    key: &[u8],
    offset: usize,
    data: &[u8],
    now: i64,
    max: i64,
) -> CmdResult<usize> {
    match db.write(key, now) {
        None => {
            if data.is_empty() {
                return Ok(0);
            }
            check_len(max, offset, data.len())?;
            let mut v = vec![0u8; offset + data.len()];
            if let Some(dst) = v.get_mut(offset..) {
                dst.copy_from_slice(data);
            }
            let len = v.len();
            db.set(key, Value::Str(RStr::raw(v)), ExpirePolicy::Keep, now);
            db.notify(STRING, "setrange", key);
            Ok(len)
        }
        Some(e) => {
            let len = as_str(e)?.len();
            if data.is_empty() {
                return Ok(len);
            }
            check_len(max, offset, data.len())?;
            let Value::Str(s) = e.value_mut() else {
                return Err(errors::WRONGTYPE);
            };
            let raw = s.make_raw();
            if raw.len() < offset + data.len() {
                raw.resize(offset + data.len(), 0);
            }
            if let Some(dst) = raw.get_mut(offset..offset + data.len()) {
                dst.copy_from_slice(data);
            }
            let len = raw.len();
            db.notify(STRING, "setrange", key);
            Ok(len)
        }
    }
}

/// The byte range GETRANGE returns for a string of `len` bytes.
pub fn range_of(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return None;
    }
    Some((usize::try_from(s).ok()?, usize::try_from(e).ok()?))
}

// ---- handlers ----

fn get(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_get(db, key, now) {
            Ok(Some(s)) => reply_str(w, s),
            Ok(None) => w.null(),
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
    Ok(())
}

/// What a SET-family command logs to the AOF when it stored (see
/// docs/design/aof-propagation.md §2.1). With an expiry option the record is
/// always `SET k v PXAT <ms>`, whatever this says.
enum SetRecord {
    /// The request as it came in (SET, SETNX).
    AsIs,
    /// The request without its GET token (SET … GET).
    WithoutGet(Request),
    /// `SET k v` (GETSET).
    PlainSet,
}

fn set_generic(
    ctx: &mut Ctx<'_>,
    key: Bytes,
    value: Bytes,
    opts: SetOpts,
    reply_int: bool,
    record: SetRecord,
) {
    ctx.run_key(key, move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let stored = match op_set(db, key, RStr::from_bytes(&value), &opts, now) {
            Err(e) => {
                w.error(e.text().as_bytes());
                return;
            }
            Ok(out) => {
                let (stored, old) = match out {
                    SetOutcome::Stored(o) => (true, o),
                    SetOutcome::Skipped(o) => (false, o),
                };
                if reply_int {
                    w.int(i64::from(stored));
                } else if opts.get {
                    match old {
                        Some(s) => reply_str(w, &s),
                        None => w.null(),
                    }
                } else if stored {
                    w.ok();
                } else {
                    w.null();
                }
                stored
            }
        };
        let aof = &mut x.st.aof;
        if !stored {
            // NX/XX kept it from happening: nothing changed.
            aof.suppress();
            return;
        }
        if !aof.on() {
            return;
        }
        match (opts.expiry, &record) {
            (Expiry::At(at), _) => {
                let ms = at.to_string();
                aof.replace(x.db, &[b"SET", key, &value, b"PXAT", ms.as_bytes()]);
            }
            (_, SetRecord::PlainSet) => aof.replace(x.db, &[b"SET", key, &value]),
            (_, SetRecord::WithoutGet(req)) => {
                // Without an expiry option every GET past the value is the flag.
                let args: Vec<&[u8]> = req
                    .iter()
                    .enumerate()
                    .filter(|&(i, a)| i < 3 || !is(a, "GET"))
                    .map(|(_, a)| a)
                    .collect();
                aof.replace(x.db, &args);
            }
            (_, SetRecord::AsIs) => {}
        }
    });
}

fn set(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut a = Args::new(req, 3);
    let opts = parse_ext(&mut a, true, ctx.now_ms(), "set")?;
    let record = if opts.get {
        SetRecord::WithoutGet(req.clone())
    } else {
        SetRecord::AsIs
    };
    set_generic(ctx, req.arg_bytes(1), req.arg_bytes(2), opts, false, record);
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let opts = SetOpts {
        cond: SetCondition::IfAbsent,
        get: false,
        expiry: Expiry::None,
    };
    set_generic(
        ctx,
        req.arg_bytes(1),
        req.arg_bytes(2),
        opts,
        true,
        SetRecord::AsIs,
    );
    Ok(())
}

fn setex_generic(ctx: &mut Ctx<'_>, req: &Request, unit: Unit, name: &str) -> CmdResult {
    let at = expire_at(req.arg(2), unit, false, ctx.now_ms(), name)?;
    let opts = SetOpts {
        cond: SetCondition::Always,
        get: false,
        expiry: Expiry::At(at),
    };
    set_generic(
        ctx,
        req.arg_bytes(1),
        req.arg_bytes(3),
        opts,
        false,
        SetRecord::AsIs,
    );
    Ok(())
}

fn setex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    setex_generic(ctx, req, Unit::Secs, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    setex_generic(ctx, req, Unit::Ms, "psetex")
}

fn getset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let opts = SetOpts {
        cond: SetCondition::Always,
        get: true,
        expiry: Expiry::None,
    };
    set_generic(
        ctx,
        req.arg_bytes(1),
        req.arg_bytes(2),
        opts,
        false,
        SetRecord::PlainSet,
    );
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_get(db, key, now) {
            Err(e) => w.error(e.text().as_bytes()),
            Ok(None) => w.null(),
            Ok(Some(s)) => {
                reply_str(w, s);
                db.remove(key);
                db.notify(GENERIC, "del", key);
                x.st.aof.replace(x.db, &[b"DEL", key]);
                return;
            }
        }
        x.st.aof.suppress();
    });
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut a = Args::new(req, 2);
    let opts = parse_ext(&mut a, false, ctx.now_ms(), "getex")?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        // What changed, for the AOF: Redis logs the absolute form.
        let changed = match op_get(db, key, now) {
            Err(e) => {
                w.error(e.text().as_bytes());
                None
            }
            Ok(None) => {
                w.null();
                None
            }
            Ok(Some(s)) => {
                reply_str(w, s);
                match opts.expiry {
                    Expiry::At(t) if t <= now => {
                        db.remove(key);
                        db.notify(GENERIC, "del", key);
                        Some(Expiry::At(t))
                    }
                    Expiry::At(t) => {
                        db.set_expire(key, Some(t));
                        db.notify(GENERIC, "expire", key);
                        Some(Expiry::At(t))
                    }
                    Expiry::Persist => {
                        let had = db.peek(key).and_then(Entry::expire_at).is_some();
                        if had {
                            db.set_expire(key, None);
                            db.notify(GENERIC, "persist", key);
                        }
                        had.then_some(Expiry::Persist)
                    }
                    Expiry::None | Expiry::Keep => None,
                }
            }
        };
        let aof = &mut x.st.aof;
        match changed {
            None => aof.suppress(),
            Some(Expiry::At(t)) if t <= now => aof.replace(x.db, &[b"DEL", key]),
            Some(Expiry::At(t)) => {
                if aof.on() {
                    let ms = t.to_string();
                    aof.replace(x.db, &[b"PEXPIREAT", key, ms.as_bytes()]);
                }
            }
            Some(_) => aof.replace(x.db, &[b"PERSIST", key]),
        }
    });
    Ok(())
}

fn append(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let data = req.arg_bytes(2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, max) = (x.now, x.st.config.proto_max_bulk_len);
        let (db, w) = x.split();
        match op_append(db, key, &data, now, max) {
            Ok(n) => w.int(i64::try_from(n).unwrap_or(i64::MAX)),
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_get(db, key, now) {
            Ok(Some(s)) => w.int(i64::try_from(s.len()).unwrap_or(i64::MAX)),
            Ok(None) => w.int(0),
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
    Ok(())
}

fn getrange(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let start = parse_i64(req.arg(2))?;
    let end = parse_i64(req.arg(3))?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_get(db, key, now) {
            Ok(None) => w.bulk(b""),
            Ok(Some(s)) => {
                let bytes = s.as_bytes();
                match range_of(start, end, bytes.len()) {
                    Some((s, e)) => w.bulk(bytes.get(s..=e).unwrap_or(&[])),
                    None => w.bulk(b""),
                }
            }
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let offset = parse_i64(req.arg(2))?;
    let offset = usize::try_from(offset).map_err(|_| errors::OFFSET_OUT_OF_RANGE)?;
    let data = req.arg_bytes(3);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, max) = (x.now, x.st.config.proto_max_bulk_len);
        let (db, w) = x.split();
        match op_setrange(db, key, offset, &data, now, max) {
            Ok(n) => w.int(i64::try_from(n).unwrap_or(i64::MAX)),
            Err(e) => w.error(e.text().as_bytes()),
        }
        if data.is_empty() {
            // Redis leaves the value alone and logs nothing.
            x.st.aof.suppress();
        }
    });
    Ok(())
}

fn incr_generic(ctx: &mut Ctx<'_>, key: Bytes, by: i64) {
    ctx.run_key(key, move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_incr(db, key, by, now) {
            Ok(v) => w.int(v),
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
}

fn incr(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    incr_generic(ctx, req.arg_bytes(1), 1);
    Ok(())
}

fn decr(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    incr_generic(ctx, req.arg_bytes(1), -1);
    Ok(())
}

fn incrby(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let by = parse_i64(req.arg(2))?;
    incr_generic(ctx, req.arg_bytes(1), by);
    Ok(())
}

fn decrby(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let by = parse_i64(req.arg(2))?;
    let neg = by
        .checked_neg()
        .ok_or(CmdError::fixed("ERR decrement would overflow"))?;
    incr_generic(ctx, req.arg_bytes(1), neg);
    Ok(())
}

fn incrbyfloat(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let by = req.arg_bytes(2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_incrbyfloat(db, key, &by, now) {
            Ok(v) => {
                w.bulk(&v);
                // The result, so a reload never redoes the float arithmetic.
                x.st.aof.replace(x.db, &[b"SET", key, &v, b"KEEPTTL"]);
            }
            Err(e) => w.error(e.text().as_bytes()),
        }
    });
    Ok(())
}

fn lcs(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    super::lcs::handle(ctx, req)
}

// ---- table ----

const STR: u32 = acl::STRING;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, get)
        .flags(READONLY | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc("string", "1.0.0", "Returns the string value of a key."),
    CommandSpec::new("set", -3, set)
        .flags(WRITE | DENYOOM)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(
            &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
            1,
            0,
            1,
            0,
        )])
        .doc(
            "string",
            "1.0.0",
            "Sets a key to a string value, with optional expiry and conditions.",
        ),
    CommandSpec::new("setnx", 3, setnx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(OW_INSERT)
        .doc("string", "1.0.0", "Sets a key only when it does not exist."),
    CommandSpec::new("setex", 4, setex)
        .flags(WRITE | DENYOOM)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(OW_UPDATE)
        .doc("string", "2.0.0", "Sets a key with an expiry in seconds."),
    CommandSpec::new("psetex", 4, psetex)
        .flags(WRITE | DENYOOM)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(OW_UPDATE)
        .doc(
            "string",
            "2.6.0",
            "Sets a key with an expiry in milliseconds.",
        ),
    CommandSpec::new("getset", 3, getset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Sets a key and returns its previous value.",
        ),
    CommandSpec::new("getdel", 2, getdel)
        .flags(WRITE | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0)])
        .doc(
            "string",
            "6.2.0",
            "Returns a key's value and deletes the key.",
        ),
    CommandSpec::new("getex", -2, getex)
        .flags(WRITE | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "UPDATE"], 1, 0, 1, 0)])
        .doc(
            "string",
            "6.2.0",
            "Returns a key's value and optionally changes its expiry.",
        ),
    CommandSpec::new("append", 3, append)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc(
            "string",
            "2.0.0",
            "Appends to a string value, creating the key when missing.",
        ),
    CommandSpec::new("strlen", 2, strlen)
        .flags(READONLY | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RO"], 1, 0, 1, 0)])
        .doc("string", "2.2.0", "Returns the length of a string value."),
    CommandSpec::new("getrange", 4, getrange)
        .flags(READONLY)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc("string", "2.4.0", "Returns a substring of a string value."),
    CommandSpec::new("substr", 4, getrange)
        .flags(READONLY)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "string",
            "1.0.0",
            "Returns a substring of a string value (old name of GETRANGE).",
        ),
    CommandSpec::new("setrange", 4, setrange)
        .flags(WRITE | DENYOOM)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "string",
            "2.2.0",
            "Overwrites part of a string value at an offset.",
        ),
    CommandSpec::new("incr", 2, incr)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc("string", "1.0.0", "Increments an integer value by one."),
    CommandSpec::new("decr", 2, decr)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc("string", "1.0.0", "Decrements an integer value by one."),
    CommandSpec::new("incrby", 3, incrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Increments an integer value by a number.",
        ),
    CommandSpec::new("decrby", 3, decrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "string",
            "1.0.0",
            "Decrements an integer value by a number.",
        ),
    CommandSpec::new("incrbyfloat", 3, incrbyfloat)
        .flags(WRITE | DENYOOM | FAST)
        .acl(STR)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "string",
            "2.6.0",
            "Increments a value by a floating-point number.",
        ),
    CommandSpec::new("lcs", -3, lcs)
        .flags(READONLY)
        .acl(STR)
        .keys(1, 2, 1)
        .key_specs(&[KeySpecDef::range(&["RO", "ACCESS"], 1, 1, 1, 0)])
        .doc(
            "string",
            "7.0.0",
            "Finds the longest common subsequence of two string values.",
        ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getrange_like_redis() {
        assert_eq!(range_of(0, 3, 10), Some((0, 3)));
        assert_eq!(range_of(-3, -1, 10), Some((7, 9)));
        assert_eq!(range_of(5, 100, 10), Some((5, 9)));
        assert_eq!(range_of(-1, -5, 10), None);
        assert_eq!(range_of(0, -100, 10), Some((0, 0)));
        assert_eq!(range_of(0, 0, 0), None);
        assert_eq!(range_of(11, 20, 10), None);
    }

    #[test]
    fn set_options() {
        let req = Request::from_args(["SET", "k", "v", "NX", "GET", "PX", "100"]);
        let mut a = Args::new(&req, 3);
        let o = parse_ext(&mut a, true, 1000, "set").unwrap();
        assert_eq!(o.cond, SetCondition::IfAbsent);
        assert!(o.get);
        assert_eq!(o.expiry, Expiry::At(1100));
        for bad in [
            &["NX", "XX"][..],
            &["EX", "1", "PX", "2"],
            &["KEEPTTL", "EX", "1"],
            &["EX"],
            &["FOO"],
        ] {
            let mut args = vec!["SET", "k", "v"];
            args.extend_from_slice(bad);
            let req = Request::from_args(args);
            let mut a = Args::new(&req, 3);
            assert!(parse_ext(&mut a, true, 0, "set").is_err(), "{bad:?}");
        }
    }
}
