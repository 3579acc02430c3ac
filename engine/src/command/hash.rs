//! Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HDEL HEXISTS HLEN
//! HKEYS HVALS HSTRLEN HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
//!
//! Layout: access helpers, `op_*` functions over a `Db` (run on the owning
//! shard), handlers, the table. Values: [`crate::keyspace::hash`].

use super::access::{err, modify, notify_change, read, with};
use super::args::{is, long_double_add, long_double_valid, parse_i64, LdError};
use super::ctx::Ctx;
use super::elemscan;
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use crate::keyspace::events::HASH;
use crate::keyspace::{Db, HashVal, PackLimits, Value};
use bytes::Bytes;
use resp::{numfmt, Proto, ReplyWriter, Request};

// ---- access helpers ----

/// The hash at `key` for writing, created empty when missing.
fn write_hash<'d>(db: &'d mut Db, key: &[u8], now: i64) -> CmdResult<&'d mut HashVal> {
    if db
        .get(key, now)
        .is_some_and(|e| !matches!(e.value(), Value::Hash(_)))
    {
        return Err(errors::WRONGTYPE);
    }
    match db
        .write_or_insert(key, now, || Value::Hash(HashVal::default()))
        .value_mut()
    {
        Value::Hash(h) => Ok(h),
        _ => Err(errors::WRONGTYPE),
    }
}

// ---- ops ----

/// HSET / HMSET: the number of new fields.
pub fn op_hset(
    db: &mut Db,
    key: &[u8],
    pairs: &[(Bytes, Bytes)],
    now: i64,
    lim: PackLimits,
) -> CmdResult<i64> {
    let h = write_hash(db, key, now)?;
    let mut added = 0;
    for (f, v) in pairs {
        added += i64::from(h.set(f, v, lim));
    }
    db.notify(HASH, "hset", key);
    Ok(added)
}

/// HINCRBY: the new value.
pub fn op_hincrby(
    db: &mut Db,
    key: &[u8],
    field: &[u8],
    by: i64,
    now: i64,
    lim: PackLimits,
) -> CmdResult<i64> {
    let h = write_hash(db, key, now)?;
    let cur = match h.get(field) {
        None => 0,
        Some(v) => {
            numfmt::parse_i64(v).ok_or(CmdError::fixed("ERR hash value is not an integer"))?
        }
    };
    let new = cur.checked_add(by).ok_or(errors::OVERFLOW)?;
    let mut text = Vec::with_capacity(20);
    numfmt::write_int(&mut text, new);
    h.set(field, &text, lim);
    db.notify(HASH, "hincrby", key);
    Ok(new)
}

/// HINCRBYFLOAT: the new value as text.
pub fn op_hincrbyfloat(
    db: &mut Db,
    key: &[u8],
    field: &[u8],
    by: &[u8],
    now: i64,
    lim: PackLimits,
) -> CmdResult<Vec<u8>> {
    let h = write_hash(db, key, now)?;
    let cur = h.get(field).map(<[u8]>::to_vec);
    let new = long_double_add(cur.as_deref(), by).map_err(|e| match e {
        LdError::BadCurrent => CmdError::fixed("ERR hash value is not a float"),
        LdError::BadIncrement => errors::NOT_FLOAT,
        LdError::NanOrInf => errors::INCR_NAN_INF,
    })?;
    h.set(field, &new, lim);
    db.notify(HASH, "hincrbyfloat", key);
    Ok(new)
}

// ---- handlers ----

fn collect_pairs(req: &Request, from: usize) -> Vec<(Bytes, Bytes)> {
    (from..req.len())
        .step_by(2)
        .map(|i| (req.arg_bytes(i), req.arg_bytes(i + 1)))
        .collect()
}

fn hset_generic(ctx: &mut Ctx<'_>, req: &Request, name: &str, reply_ok: bool) -> CmdResult {
    if !req.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(name));
    }
    let pairs = collect_pairs(req, 2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.hash);
        let (db, w) = x.split();
        match op_hset(db, key, &pairs, now, lim) {
            Ok(_) if reply_ok => w.ok(),
            Ok(n) => w.int(n),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn hset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    hset_generic(ctx, req, "hset", false)
}

fn hmset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    hset_generic(ctx, req, "hmset", true)
}

fn hsetnx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (field, value) = (req.arg_bytes(2), req.arg_bytes(3));
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.hash);
        let (db, w) = x.split();
        let r = write_hash(db, key, now).map(|h| {
            if h.get(&field).is_some() {
                false
            } else {
                h.set(&field, &value, lim)
            }
        });
        match r {
            Ok(set) => {
                if set {
                    db.notify(HASH, "hset", key);
                }
                w.int(i64::from(set));
                if !set {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let field = req.arg_bytes(2);
    with::<HashVal, _>(ctx, req, move |h, w| match h.and_then(|h| h.get(&field)) {
        Some(v) => w.bulk(v),
        None => w.null(),
    });
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let fields: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    with::<HashVal, _>(ctx, req, move |h, w| {
        w.array(fields.len());
        for f in &fields {
            match h.and_then(|h| h.get(f)) {
                Some(v) => w.bulk(v),
                None => w.null(),
            }
        }
    });
    Ok(())
}

#[derive(Clone, Copy)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn hgetall_generic(ctx: &mut Ctx<'_>, req: &Request, part: Part) {
    with::<HashVal, _>(ctx, req, move |h, w| {
        let n = h.map_or(0, HashVal::len);
        match part {
            Part::Both => w.map(n),
            _ => w.array(n),
        }
        for (f, v) in h.into_iter().flat_map(HashVal::iter) {
            match part {
                Part::Keys => w.bulk(f),
                Part::Vals => w.bulk(v),
                Part::Both => {
                    w.bulk(f);
                    w.bulk(v);
                }
            }
        }
    });
}

fn hgetall(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    hgetall_generic(ctx, req, Part::Both);
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    hgetall_generic(ctx, req, Part::Keys);
    Ok(())
}

fn hvals(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    hgetall_generic(ctx, req, Part::Vals);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    with::<HashVal, _>(ctx, req, |h, w| w.int(h.map_or(0, |h| h.len() as i64)));
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let field = req.arg_bytes(2);
    with::<HashVal, _>(ctx, req, move |h, w| {
        w.int(i64::from(h.is_some_and(|h| h.get(&field).is_some())))
    });
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let field = req.arg_bytes(2);
    with::<HashVal, _>(ctx, req, move |h, w| {
        w.int(h.and_then(|h| h.get(&field)).map_or(0, |v| v.len() as i64))
    });
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let fields: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let r = modify::<HashVal, _>(db, key, now, |h| {
            fields.iter().filter(|f| h.remove(f)).count() as i64
        });
        if matches!(r, Ok(Some(n)) if n > 0) {
            notify_change(db, key, HASH, "hdel");
        }
        match r {
            Ok(n) => {
                w.int(n.unwrap_or(0));
                if n.unwrap_or(0) == 0 {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn hincrby(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let by = parse_i64(req.arg(3))?;
    let field = req.arg_bytes(2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.hash);
        let (db, w) = x.split();
        match op_hincrby(db, key, &field, by, now, lim) {
            Ok(n) => w.int(n),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    // Redis rejects a bad or infinite increment before looking at the key.
    // (A valid long double that is infinite can only be spelled with "inf".)
    if !long_double_valid(req.arg(3)) {
        return Err(errors::NOT_FLOAT);
    }
    if req
        .arg(3)
        .to_ascii_lowercase()
        .windows(3)
        .any(|w| w == b"inf")
    {
        return Err(CmdError::fixed("ERR value is NaN or Infinity"));
    }
    let (field, by) = (req.arg_bytes(2), req.arg_bytes(3));
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.hash);
        let (db, w) = x.split();
        match op_hincrbyfloat(db, key, &field, &by, now, lim) {
            Ok(v) => {
                w.bulk(&v);
                // The result, so a reload never redoes the float arithmetic.
                x.st.aof.replace(x.db, &[b"HSET", key, &field, &v]);
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

/// Most picks one HRANDFIELD / SRANDMEMBER may ask for: the reply is built
/// in memory, so a client may not make it unbounded.
pub const MAX_RANDOM_PICKS: u64 = 1 << 24;

/// Parse a random-pick count (`-LONG_MAX..=LONG_MAX`, then our bound).
pub fn parse_pick_count(arg: &[u8]) -> CmdResult<i64> {
    let c = parse_i64(arg)?;
    if c == i64::MIN {
        return Err(CmdError::fixed(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if c.unsigned_abs() > MAX_RANDOM_PICKS {
        return Err(CmdError::fixed("ERR value is out of range"));
    }
    Ok(c)
}

/// The picks of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a count over
/// `n` elements: a negative count picks `|count|` times with repeats (each
/// by `random`), a count of at least `n` returns `all()`, a smaller one
/// distinct elements (by position, through `at`).
pub fn counted_picks<T>(
    n: usize,
    count: i64,
    rand: &mut dyn FnMut() -> u64,
    random: impl Fn(&mut dyn FnMut() -> u64) -> Option<T>,
    at: impl Fn(usize) -> Option<T>,
    all: impl FnOnce() -> Vec<T>,
) -> Vec<T> {
    if n == 0 || count == 0 {
        Vec::new()
    } else if count < 0 {
        (0..count.unsigned_abs())
            .filter_map(|_| random(rand))
            .collect()
    } else if count as usize >= n {
        all()
    } else {
        distinct_positions(n, count as usize, rand)
            .into_iter()
            .filter_map(at)
            .collect()
    }
}

/// Distinct random positions `count < n` of `0..n`, in ascending order.
pub fn distinct_positions(n: usize, count: usize, rand: &mut dyn FnMut() -> u64) -> Vec<usize> {
    let mut pos: Vec<usize> = (0..n).collect();
    // Partial Fisher-Yates: the first `count` slots become the sample.
    for i in 0..count.min(n) {
        let j = i + (rand() as usize) % (n - i);
        pos.swap(i, j);
    }
    pos.truncate(count);
    pos.sort_unstable();
    pos
}

fn hrandfield(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = match req.len() {
        2 => None,
        3 | 4 => {
            if req.len() == 4 && !is(req.arg(3), "WITHVALUES") {
                return Err(errors::SYNTAX);
            }
            Some(parse_pick_count(req.arg(2))?)
        }
        _ => return Err(errors::SYNTAX),
    };
    let withvalues = req.len() == 4;
    let proto = ctx.proto();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let st = &mut *x.st;
        let mut rand = st.rand_stream();
        let w = &mut x.w;
        let h = match read::<HashVal>(st.db(x.db), key, now) {
            Err(e) => return err(w, &e),
            Ok(h) => h,
        };
        let Some(count) = count else {
            match h.and_then(|h| h.random(&mut rand)) {
                Some((f, _)) => w.bulk(f),
                None => w.null(),
            }
            return;
        };
        let Some(h) = h.filter(|_| count != 0) else {
            w.array(0);
            return;
        };
        let all: Vec<(&[u8], &[u8])> = h.iter().collect();
        let pairs = counted_picks(
            all.len(),
            count,
            &mut rand,
            |r| h.random(r),
            |i| all.get(i).copied(),
            || all.clone(),
        );
        write_pairs(w, &pairs, withvalues, proto);
    });
    Ok(())
}

fn write_pairs(w: &mut ReplyWriter<'_>, pairs: &[(&[u8], &[u8])], withvalues: bool, proto: Proto) {
    if !withvalues {
        w.array(pairs.len());
        for (f, _) in pairs {
            w.bulk(f);
        }
    } else if proto == Proto::Resp3 {
        w.array(pairs.len());
        for (f, v) in pairs {
            w.array(2);
            w.bulk(f);
            w.bulk(v);
        }
    } else {
        w.array(pairs.len() * 2);
        for (f, v) in pairs {
            w.bulk(f);
            w.bulk(v);
        }
    }
}

fn hscan(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    elemscan::run::<HashVal, _>(
        ctx,
        req,
        elemscan::Extra::NoValues,
        |h: &HashVal, cursor, opts, out| {
            let mut push = |f: &[u8], v: &[u8]| {
                if opts.keep(f) {
                    out.push(f.to_vec());
                    if !opts.novalues {
                        out.push(v.to_vec());
                    }
                }
            };
            match h {
                HashVal::Pack(_) => {
                    h.iter().for_each(|(f, v)| push(f, v));
                    0
                }
                HashVal::Table(d) => {
                    elemscan::walk(d, cursor, opts.count, |e| push(&e.name, &e.value))
                }
            }
        },
    )
}

// ---- table ----

const H: u32 = acl::HASH;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, hset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "hash",
            "2.0.0",
            "Creates or modifies the value of a field in a hash.",
        ),
    CommandSpec::new("hsetnx", 4, hsetnx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "INSERT"], 1, 0, 1, 0)])
        .doc(
            "hash",
            "2.0.0",
            "Sets the value of a field in a hash only when the field doesn't exist.",
        ),
    CommandSpec::new("hmset", -4, hmset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc("hash", "2.0.0", "Sets the values of multiple fields."),
    CommandSpec::new("hget", 3, hget)
        .flags(READONLY | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc("hash", "2.0.0", "Returns the value of a field in a hash."),
    CommandSpec::new("hmget", -3, hmget)
        .flags(READONLY | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "hash",
            "2.0.0",
            "Returns the values of all fields in a hash.",
        ),
    CommandSpec::new("hgetall", 2, hgetall)
        .flags(READONLY)
        .acl(H)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all fields and values in a hash."),
    CommandSpec::new("hkeys", 2, hkeys)
        .flags(READONLY)
        .acl(H)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all fields in a hash."),
    CommandSpec::new("hvals", 2, hvals)
        .flags(READONLY)
        .acl(H)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS)
        .doc("hash", "2.0.0", "Returns all values in a hash."),
    CommandSpec::new("hlen", 2, hlen)
        .flags(READONLY | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc("hash", "2.0.0", "Returns the number of fields in a hash."),
    CommandSpec::new("hexists", 3, hexists)
        .flags(READONLY | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc(
            "hash",
            "2.0.0",
            "Determines whether a field exists in a hash.",
        ),
    CommandSpec::new("hstrlen", 3, hstrlen)
        .flags(READONLY | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc(
            "hash",
            "3.2.0",
            "Returns the length of the value of a field.",
        ),
    CommandSpec::new("hdel", -3, hdel)
        .flags(WRITE | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc(
            "hash",
            "2.0.0",
            "Deletes one or more fields and their values from a hash.",
        ),
    CommandSpec::new("hincrby", 4, hincrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "hash",
            "2.0.0",
            "Increments the integer value of a field in a hash by a number.",
        ),
    CommandSpec::new("hincrbyfloat", 4, hincrbyfloat)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "hash",
            "2.6.0",
            "Increments the floating point value of a field by a number.",
        ),
    CommandSpec::new("hrandfield", -2, hrandfield)
        .flags(READONLY)
        .acl(H)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "hash",
            "6.2.0",
            "Returns one or more random fields from a hash.",
        ),
    CommandSpec::new("hscan", -3, hscan)
        .flags(READONLY)
        .acl(H)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "hash",
            "2.8.0",
            "Iterates over fields and values of a hash.",
        ),
];
