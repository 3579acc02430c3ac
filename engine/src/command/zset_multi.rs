//! Sorted-set commands over several keys: ZUNION ZINTER ZDIFF and their
//! STORE forms (WEIGHTS, AGGREGATE), ZINTERCARD, ZRANGESTORE, ZMPOP. They
//! read through [`super::multikey::gather`] / [`super::list::first_pop`],
//! so keys on several shards are locked in order and the result is atomic.
//! Sources may be sets (every member scored 1), as in Redis.

use super::access::{err, store_result};
use super::args::{is, parse_i64, strtod_exact};
use super::ctx::Ctx;
use super::errors::{self, CmdError, CmdResult};
use super::multikey::{gather, Combined};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use super::zset::{parse_range, reply_pairs, select};
use crate::keyspace::events::ZSET;
use crate::keyspace::zset::Pair;
use crate::keyspace::{SetRef, Value, ZSetVal};
use crate::shard::{blocking, ShardState};
use ahash::AHashMap;
use bytes::Bytes;
use resp::{ReplyWriter, Request};

/// A source's members with scores; `None` when missing.
type Snap = CmdResult<Option<Vec<Pair>>>;

fn snap(st: &mut ShardState, db: usize, key: &[u8], now: i64) -> Snap {
    match st.db(db).read(key, now, true).map(|e| e.value()) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z.all())),
        Some(v) => match SetRef::of(v) {
            Some(s) => Ok(Some(
                s.members()
                    .into_iter()
                    .map(|m| (m.into_owned(), 1.0))
                    .collect(),
            )),
            None => Err(errors::WRONGTYPE),
        },
    }
}

/// Store `pairs` as the sorted set at `key` and raise `event` (an empty
/// result deletes it).
fn store_pairs(
    st: &mut ShardState,
    db: usize,
    key: &[u8],
    pairs: &[Pair],
    event: &'static str,
    now: i64,
) {
    let lim = st.config.limits.zset;
    let value = (!pairs.is_empty()).then(|| {
        let max = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let mut z = ZSetVal::create(pairs.len(), max, lim);
        for (m, s) in pairs {
            z.insert(m, *s, lim);
        }
        Value::ZSet(z)
    });
    if store_result(st.db(db), key, value, ZSET, event, now) {
        blocking::signal(st, db, key, now);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn aggregate(agg: Agg, a: f64, b: f64) -> f64 {
    match agg {
        Agg::Sum => {
            let s = a + b;
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Agg::Min => a.min(b),
        Agg::Max => a.max(b),
    }
}

/// Parsed `numkeys key ... [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]`.
struct AlgebraArgs {
    keys: Vec<Bytes>,
    weights: Vec<f64>,
    agg: Agg,
    withscores: bool,
}

fn parse_algebra(
    req: &Request,
    at: usize,
    op: Op,
    store: bool,
    name: &str,
) -> CmdResult<AlgebraArgs> {
    let numkeys = parse_i64(req.arg(at))?;
    if numkeys < 1 {
        return Err(CmdError::owned(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let first = at + 1;
    if first.saturating_add(n) > req.len() {
        return Err(errors::SYNTAX);
    }
    let keys: Vec<Bytes> = (first..first + n).map(|i| req.arg_bytes(i)).collect();
    let mut a = AlgebraArgs {
        keys,
        weights: vec![1.0; n],
        agg: Agg::Sum,
        withscores: false,
    };
    let mut i = first + n;
    while i < req.len() {
        let opt = req.arg(i);
        let left = req.len() - i - 1;
        if op != Op::Diff && is(opt, "WEIGHTS") && left >= n {
            for (k, w) in a.weights.iter_mut().enumerate() {
                *w = strtod_exact(req.arg(i + 1 + k))
                    .filter(|v| !v.is_nan())
                    .ok_or(CmdError::fixed("ERR weight value is not a float"))?;
            }
            i += n + 1;
        } else if op != Op::Diff && is(opt, "AGGREGATE") && left >= 1 {
            let v = req.arg(i + 1);
            a.agg = if is(v, "SUM") {
                Agg::Sum
            } else if is(v, "MIN") {
                Agg::Min
            } else if is(v, "MAX") {
                Agg::Max
            } else {
                return Err(errors::SYNTAX);
            };
            i += 2;
        } else if !store && is(opt, "WITHSCORES") {
            a.withscores = true;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(a)
}

/// Combine snapshots per `op` into a result in (score, member) order.
fn combine(op: Op, snaps: Vec<Snap>, weights: &[f64], agg: Agg) -> CmdResult<Vec<Pair>> {
    let sets: Vec<Option<Vec<Pair>>> = snaps.into_iter().collect::<CmdResult<_>>()?;
    let weighted = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut acc: AHashMap<Vec<u8>, f64> = AHashMap::default();
    let mut order: Vec<Vec<u8>> = Vec::new();
    match op {
        Op::Union => {
            for (set, w) in sets.iter().zip(weights) {
                for (m, s) in set.iter().flatten() {
                    let v = weighted(*s, *w);
                    match acc.get_mut(m) {
                        Some(cur) => *cur = aggregate(agg, *cur, v),
                        None => {
                            acc.insert(m.clone(), v);
                            order.push(m.clone());
                        }
                    }
                }
            }
        }
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(Vec::new());
            }
            let maps: Vec<AHashMap<&[u8], f64>> = sets
                .iter()
                .flatten()
                .map(|v| v.iter().map(|(m, s)| (m.as_slice(), *s)).collect())
                .collect();
            if let Some(first) = sets.first().and_then(Option::as_ref) {
                for (m, s) in first {
                    let mut v = weighted(*s, weights.first().copied().unwrap_or(1.0));
                    let mut all = true;
                    for (map, w) in maps.iter().zip(weights).skip(1) {
                        match map.get(m.as_slice()) {
                            Some(o) => v = aggregate(agg, v, weighted(*o, *w)),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        acc.insert(m.clone(), v);
                        order.push(m.clone());
                    }
                }
            }
        }
        Op::Diff => {
            let others: ahash::AHashSet<&[u8]> = sets
                .iter()
                .skip(1)
                .flatten()
                .flatten()
                .map(|(m, _)| m.as_slice())
                .collect();
            for (m, s) in sets.first().and_then(Option::as_ref).into_iter().flatten() {
                if !others.contains(m.as_slice()) {
                    acc.insert(m.clone(), *s);
                    order.push(m.clone());
                }
            }
        }
    }
    let mut out: Vec<Pair> = order
        .into_iter()
        .filter_map(|m| acc.get(&m).map(|s| (m.clone(), *s)))
        .collect();
    out.sort_by(|a, b| crate::keyspace::zset::cmp_entry(a.1, &a.0, b.1, &b.0));
    Ok(out)
}

fn algebra(ctx: &mut Ctx<'_>, req: &Request, op: Op, store: bool, name: &'static str) -> CmdResult {
    let at = if store { 2 } else { 1 };
    let a = parse_algebra(req, at, op, store, name)?;
    let dst = store.then(|| req.arg_bytes(1));
    let AlgebraArgs {
        keys,
        weights,
        agg,
        withscores,
    } = a;
    gather(ctx, keys, dst, snap, move |snaps| {
        let r = combine(op, snaps, &weights, agg);
        match r {
            Err(e) => Combined {
                reply: Box::new(move |w| err(w, &e)),
                store: None,
            },
            Ok(pairs) if store => {
                let n = pairs.len() as i64;
                let event = match op {
                    Op::Union => "zunionstore",
                    Op::Inter => "zinterstore",
                    Op::Diff => "zdiffstore",
                };
                Combined {
                    reply: Box::new(move |w| w.int(n)),
                    store: Some(Box::new(move |st, db, k, now| {
                        store_pairs(st, db, k, &pairs, event, now)
                    })),
                }
            }
            Ok(pairs) => Combined {
                reply: Box::new(move |w| reply_pairs(w, &pairs, withscores)),
                store: None,
            },
        }
    });
    Ok(())
}

fn zunion(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Union, false, "zunion")
}

fn zinter(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Inter, false, "zinter")
}

fn zdiff(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Diff, false, "zdiff")
}

fn zunionstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Union, true, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Inter, true, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    algebra(ctx, req, Op::Diff, true, "zdiffstore")
}

fn zintercard(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (keys, limit) = super::set::parse_intercard(req, true)?;
    let n = keys.len();
    let weights = vec![1.0; n];
    gather(ctx, keys, None, snap, move |snaps| {
        let r = combine(Op::Inter, snaps, &weights, Agg::Sum);
        Combined {
            reply: Box::new(move |w| match r {
                Ok(p) => w.int(p.len().min(limit) as i64),
                Err(e) => err(w, &e),
            }),
            store: None,
        }
    });
    Ok(())
}

fn zrangestore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    // The source and bounds sit one argument later than ZRANGE's.
    let spec = parse_range(req, 3, None, false, "zrangestore")?;
    if spec.withscores {
        return Err(errors::SYNTAX);
    }
    let src = req.arg_bytes(2);
    let dst = req.arg_bytes(1);
    let read =
        move |st: &mut ShardState, db: usize, key: &[u8], now: i64| -> CmdResult<Vec<Pair>> {
            match st.db(db).read(key, now, true).map(|e| e.value()) {
                None => Ok(Vec::new()),
                Some(Value::ZSet(z)) => Ok(select(z, &spec)),
                Some(_) => Err(errors::WRONGTYPE),
            }
        };
    gather(ctx, vec![src], Some(dst), read, |mut snaps| {
        match snaps.pop() {
            Some(Ok(pairs)) => {
                let n = pairs.len() as i64;
                Combined {
                    reply: Box::new(move |w| w.int(n)),
                    store: Some(Box::new(move |st, db, k, now| {
                        store_pairs(st, db, k, &pairs, "zrangestore", now)
                    })),
                }
            }
            Some(Err(e)) => Combined {
                reply: Box::new(move |w| err(w, &e)),
                store: None,
            },
            None => Combined {
                reply: Box::new(|w| w.int(0)),
                store: None,
            },
        }
    });
    Ok(())
}

/// Parsed `numkeys key ... MIN|MAX [COUNT n]` (ZMPOP, BZMPOP).
pub struct ZmpopArgs {
    pub keys: Vec<Bytes>,
    pub max: bool,
    pub count: usize,
}

/// Parse the ZMPOP / BZMPOP tail from the numkeys argument.
pub fn parse_zmpop(req: &Request, start: usize) -> CmdResult<ZmpopArgs> {
    let (keys, min, count) = super::list::parse_mpop_with(req, start, "MIN", "MAX")?;
    Ok(ZmpopArgs {
        keys,
        max: !min,
        count,
    })
}

fn reply_zmpop(w: &mut ReplyWriter<'_>, r: CmdResult<Option<(Bytes, Vec<Pair>)>>) {
    match r {
        Err(e) => err(w, &e),
        Ok(None) => w.null_array(),
        Ok(Some((k, pairs))) => {
            w.array(2);
            w.bulk(&k);
            super::zset::reply_pair_list(w, &pairs);
        }
    }
}

fn zmpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ZmpopArgs { keys, max, count } = parse_zmpop(req, 1)?;
    let pop = move |st: &mut ShardState, db: usize, k: &[u8], now: i64| {
        let popped = super::zset::op_zpop(st.db(db), k, max, count, now)?;
        Ok(popped.filter(|v| !v.is_empty()))
    };
    let log = move |aof: &mut crate::aof::Feed, db: usize, k: &[u8], pairs: &Vec<Pair>| {
        if aof.on() {
            let n = pairs.len().to_string();
            aof.replace(db, &[blocking::zpop_name(max), k, n.as_bytes()]);
        }
    };
    super::list::first_pop(ctx, keys, pop, log, reply_zmpop);
    Ok(())
}

// ---- table ----

const Z: u32 = acl::SORTEDSET;
const KEYNUM_RO: &[KeySpecDef] = &[KeySpecDef::keynum(&["RO", "ACCESS"], 1, 0, 1, 1)];
const STORE_KEYNUM: &[KeySpecDef] = &[
    KeySpecDef::range(&["OW", "UPDATE"], 1, 0, 1, 0),
    KeySpecDef::keynum(&["RO", "ACCESS"], 2, 0, 1, 1),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zunion", -3, zunion)
        .flags(READONLY | MOVABLE_KEYS)
        .acl(Z)
        .keys(0, 0, 0)
        .key_specs(KEYNUM_RO)
        .doc("sorted_set", "6.2.0", "Returns the union of multiple sorted sets."),
    CommandSpec::new("zinter", -3, zinter)
        .flags(READONLY | MOVABLE_KEYS)
        .acl(Z)
        .keys(0, 0, 0)
        .key_specs(KEYNUM_RO)
        .doc("sorted_set", "6.2.0", "Returns the intersect of multiple sorted sets."),
    CommandSpec::new("zdiff", -3, zdiff)
        .flags(READONLY | MOVABLE_KEYS)
        .acl(Z)
        .keys(0, 0, 0)
        .key_specs(KEYNUM_RO)
        .doc("sorted_set", "6.2.0", "Returns the difference between multiple sorted sets."),
    CommandSpec::new("zunionstore", -4, zunionstore)
        .flags(WRITE | DENYOOM | MOVABLE_KEYS)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(STORE_KEYNUM)
        .doc("sorted_set", "2.0.0", "Stores the union of multiple sorted sets in a key."),
    CommandSpec::new("zinterstore", -4, zinterstore)
        .flags(WRITE | DENYOOM | MOVABLE_KEYS)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(STORE_KEYNUM)
        .doc("sorted_set", "2.0.0", "Stores the intersect of multiple sorted sets in a key."),
    CommandSpec::new("zdiffstore", -4, zdiffstore)
        .flags(WRITE | DENYOOM | MOVABLE_KEYS)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(STORE_KEYNUM)
        .doc("sorted_set", "6.2.0", "Stores the difference of multiple sorted sets in a key."),
    CommandSpec::new("zintercard", -3, zintercard)
        .flags(READONLY | MOVABLE_KEYS)
        .acl(Z)
        .keys(0, 0, 0)
        .key_specs(KEYNUM_RO)
        .doc("sorted_set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets."),
    CommandSpec::new("zrangestore", -5, zrangestore)
        .flags(WRITE | DENYOOM)
        .acl(Z)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["OW", "UPDATE"], 1, 0, 1, 0),
            KeySpecDef::range(&["RO", "ACCESS"], 2, 0, 1, 0),
        ])
        .doc("sorted_set", "6.2.0", "Stores a range of members from a sorted set in a key."),
    CommandSpec::new("zmpop", -4, zmpop)
        .flags(WRITE | MOVABLE_KEYS)
        .acl(Z)
        .keys(0, 0, 0)
        .key_specs(&[KeySpecDef::keynum(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 1)])
        .doc("sorted_set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them."),
];
