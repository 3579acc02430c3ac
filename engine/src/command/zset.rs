//! Sorted-set commands on one key: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD
//! ZCOUNT ZLEXCOUNT ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZREVRANGE
//! ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZRANK ZREVRANK
//! ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX
//! ZRANDMEMBER ZSCAN. Several keys (ZUNION ..., ZRANGESTORE, ZMPOP) and
//! the blocking pops: [`super::zset_multi`]. Values: [`crate::keyspace::zset`].

use super::access::{err, modify, notify_change, read, with};
use super::args::{is, parse_i64};
use super::ctx::Ctx;
use super::elemscan;
use super::errors::{self, CmdError, CmdResult};
use super::hash::{counted_picks, parse_pick_count};
use super::spec::{acl, flags::*, ks::*, CommandSpec};
pub use super::zrange::{
    lex_span, parse_lex_bound, parse_range, parse_score, parse_score_bound, reply_pairs,
    score_span, select, LexBound, RangeKind, RangeSpec, ScoreBound,
};
use crate::keyspace::events::ZSET;
use crate::keyspace::zset::Pair;
use crate::keyspace::{Db, PackLimits, Value, ZSetVal};
use crate::shard::blocking;
use bytes::Bytes;
use resp::{ReplyWriter, Request};

// ---- ZADD / ZINCRBY ----

#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What ZADD did with one pair.
enum Added {
    New,
    Updated,
    Same,
    Skipped,
}

/// Apply one ZADD pair (Redis's `zsetAdd`); the new score when applied.
fn zadd_one(
    z: &mut ZSetVal,
    f: AddFlags,
    m: &[u8],
    score: f64,
    lim: PackLimits,
) -> Result<(Added, f64), CmdError> {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return Ok((Added::Skipped, cur));
            }
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(CmdError::fixed("ERR resulting score is not a number (NaN)"));
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok((Added::Skipped, cur));
            }
            if new == cur {
                return Ok((Added::Same, new));
            }
            z.insert(m, new, lim);
            Ok((Added::Updated, new))
        }
        None => {
            if f.xx {
                return Ok((Added::Skipped, 0.0));
            }
            z.insert(m, score, lim);
            Ok((Added::New, score))
        }
    }
}

fn zadd_generic(ctx: &mut Ctx<'_>, req: &Request, f: AddFlags, first: usize) -> CmdResult {
    let rest = req.len() - first;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Err(errors::SYNTAX);
    }
    if f.nx && f.xx {
        return Err(CmdError::fixed(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::fixed(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest > 2 {
        return Err(CmdError::fixed(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest / 2);
    for i in (first..req.len()).step_by(2) {
        pairs.push((parse_score(req.arg(i))?, req.arg_bytes(i + 1)));
    }
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, db, lim) = (x.now, x.db, x.st.config.limits.zset);
        let d = x.st.db(db);
        let exists = match d.get(key, now).map(|e| e.value()) {
            None => false,
            Some(Value::ZSet(_)) => true,
            Some(_) => return err(&mut x.w, &errors::WRONGTYPE),
        };
        if !exists {
            if f.xx {
                return if f.incr { x.w.null() } else { x.w.int(0) };
            }
            let max = pairs.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
            d.set(
                key,
                Value::ZSet(ZSetVal::create(pairs.len(), max, lim)),
                crate::keyspace::ExpirePolicy::Clear,
                now,
            );
        }
        let r = modify::<ZSetVal, _>(d, key, now, |z| {
            let (mut added, mut changed, mut last) = (0i64, 0i64, None);
            for (score, m) in &pairs {
                let (what, s) = zadd_one(z, f, m, *score, lim)?;
                match what {
                    Added::New => {
                        added += 1;
                        changed += 1;
                        last = Some(s);
                    }
                    Added::Updated => {
                        changed += 1;
                        last = Some(s);
                    }
                    Added::Same => last = Some(s),
                    Added::Skipped => last = None,
                }
            }
            Ok::<_, CmdError>((added, changed, last))
        });
        match r {
            Ok(Some(Ok((added, changed, last)))) => {
                if f.incr {
                    match last {
                        Some(s) => x.w.double(s),
                        None => x.w.null(),
                    }
                } else {
                    x.w.int(if f.ch { changed } else { added });
                }
                // Redis raises the event when a member was added or its
                // score changed.
                if changed > 0 {
                    let event = if f.incr { "zincr" } else { "zadd" };
                    x.st.db(db).notify(ZSET, event, key);
                }
                blocking::signal(x.st, db, key, now);
            }
            Ok(Some(Err(e))) | Err(e) => err(&mut x.w, &e),
            Ok(None) => x.w.int(0),
        }
    });
    Ok(())
}

fn zadd(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < req.len() {
        let a = req.arg(i);
        if is(a, "NX") {
            f.nx = true;
        } else if is(a, "XX") {
            f.xx = true;
        } else if is(a, "GT") {
            f.gt = true;
        } else if is(a, "LT") {
            f.lt = true;
        } else if is(a, "CH") {
            f.ch = true;
        } else if is(a, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    zadd_generic(ctx, req, f, i)
}

fn zincrby(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, req, f, 2)
}

// ---- reads ----

fn zcard(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    with::<ZSetVal, _>(ctx, req, |z, w| w.int(z.map_or(0, |z| z.len() as i64)));
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let m = req.arg_bytes(2);
    with::<ZSetVal, _>(ctx, req, move |z, w| match z.and_then(|z| z.score(&m)) {
        Some(s) => w.double(s),
        None => w.null(),
    });
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ms: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    with::<ZSetVal, _>(ctx, req, move |z, w| {
        w.array(ms.len());
        for m in &ms {
            match z.and_then(|z| z.score(m)) {
                Some(s) => w.double(s),
                None => w.null(),
            }
        }
    });
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (min, max) = (
        parse_score_bound(req.arg(2))?,
        parse_score_bound(req.arg(3))?,
    );
    with::<ZSetVal, _>(ctx, req, move |z, w| {
        let n = z.map_or(0, |z| {
            let (lo, hi) = score_span(z, min, max);
            hi - lo
        });
        w.int(n as i64)
    });
    Ok(())
}

fn zlexcount(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (min, max) = (parse_lex_bound(req.arg(2))?, parse_lex_bound(req.arg(3))?);
    with::<ZSetVal, _>(ctx, req, move |z, w| {
        let n = z.map_or(0, |z| {
            let (lo, hi) = lex_span(z, &min, &max);
            hi - lo
        });
        w.int(n as i64)
    });
    Ok(())
}

fn zrank_generic(ctx: &mut Ctx<'_>, req: &Request, rev: bool) -> CmdResult {
    let withscore = match req.len() {
        3 => false,
        4 if is(req.arg(3), "WITHSCORE") => true,
        _ => return Err(errors::SYNTAX),
    };
    let m = req.arg_bytes(2);
    with::<ZSetVal, _>(ctx, req, move |z, w| {
        let found = z.and_then(|z| Some((z.rank(&m)?, z.len(), z.score(&m)?)));
        match found {
            None if withscore => w.null_array(),
            None => w.null(),
            Some((r, len, s)) => {
                let r = if rev { len - 1 - r } else { r } as i64;
                if withscore {
                    w.array(2);
                    w.int(r);
                    w.double(s);
                } else {
                    w.int(r);
                }
            }
        }
    });
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    zrank_generic(ctx, req, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    zrank_generic(ctx, req, true)
}

fn range_cmd(
    ctx: &mut Ctx<'_>,
    req: &Request,
    by: Option<&str>,
    rev: bool,
    name: &str,
) -> CmdResult {
    let spec = parse_range(req, 2, by, rev, name)?;
    with::<ZSetVal, _>(ctx, req, move |z, w| {
        let items = z.map(|z| select(z, &spec)).unwrap_or_default();
        reply_pairs(w, &items, spec.withscores);
    });
    Ok(())
}

fn zrange(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, None, false, "zrange")
}

fn zrevrange(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, None, true, "zrevrange")
}

fn zrangebyscore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, Some("score"), false, "zrangebyscore")
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, Some("score"), true, "zrevrangebyscore")
}

fn zrangebylex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, Some("lex"), false, "zrangebylex")
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    range_cmd(ctx, req, Some("lex"), true, "zrevrangebylex")
}

// ---- removals ----

fn zrem(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ms: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let r = modify::<ZSetVal, _>(db, key, now, |z| ms.iter().filter(|m| z.remove(m)).count());
        if matches!(r, Ok(Some(n)) if n > 0) {
            notify_change(db, key, ZSET, "zrem");
        }
        match r {
            Ok(n) => {
                w.int(n.unwrap_or(0) as i64);
                if n.unwrap_or(0) == 0 {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn zremrange(ctx: &mut Ctx<'_>, req: &Request, kind: RangeKind) {
    let event = match kind {
        RangeKind::Rank(..) => "zremrangebyrank",
        RangeKind::Score(..) => "zremrangebyscore",
        RangeKind::Lex(..) => "zremrangebylex",
    };
    let spec = RangeSpec {
        kind,
        rev: false,
        limit: None,
        withscores: false,
    };
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let r = modify::<ZSetVal, _>(db, key, now, |z| {
            let gone = select(z, &spec);
            for (m, _) in &gone {
                z.remove(m);
            }
            gone.len()
        });
        if matches!(r, Ok(Some(n)) if n > 0) {
            notify_change(db, key, ZSET, event);
        }
        match r {
            Ok(n) => {
                w.int(n.unwrap_or(0) as i64);
                if n.unwrap_or(0) == 0 {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let kind = RangeKind::Rank(parse_i64(req.arg(2))?, parse_i64(req.arg(3))?);
    zremrange(ctx, req, kind);
    Ok(())
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let kind = RangeKind::Score(
        parse_score_bound(req.arg(2))?,
        parse_score_bound(req.arg(3))?,
    );
    zremrange(ctx, req, kind);
    Ok(())
}

fn zremrangebylex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let kind = RangeKind::Lex(parse_lex_bound(req.arg(2))?, parse_lex_bound(req.arg(3))?);
    zremrange(ctx, req, kind);
    Ok(())
}

/// Pop up to `count` members from the low (`max == false`) or high end.
pub fn op_zpop(
    db: &mut Db,
    key: &[u8],
    max: bool,
    count: usize,
    now: i64,
) -> CmdResult<Option<Vec<Pair>>> {
    let r = modify::<ZSetVal, _>(db, key, now, |z| z.pop(max, count))?;
    if r.as_ref().is_some_and(|v| !v.is_empty()) {
        notify_change(db, key, ZSET, if max { "zpopmax" } else { "zpopmin" });
    }
    Ok(r)
}

/// `[[member, score], ...]` in both protocols (ZMPOP, BZMPOP).
pub fn reply_pair_list(w: &mut ReplyWriter<'_>, items: &[Pair]) {
    w.array(items.len());
    for (m, s) in items {
        w.array(2);
        w.bulk(m);
        w.double(*s);
    }
}

/// ZPOPMIN/ZPOPMAX replies: a flat pair without a count, pairs with one.
pub fn reply_popped(w: &mut ReplyWriter<'_>, items: &[Pair], counted: bool) {
    if counted {
        reply_pairs(w, items, true);
    } else {
        w.array(items.len() * 2);
        for (m, s) in items {
            w.bulk(m);
            w.double(*s);
        }
    }
}

fn zpop(ctx: &mut Ctx<'_>, req: &Request, max: bool) -> CmdResult {
    let count = super::args::optional_count(req, errors::SYNTAX)?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match op_zpop(db, key, max, count.unwrap_or(1), now) {
            Ok(v) => {
                let v = v.unwrap_or_default();
                reply_popped(w, &v, count.is_some());
                if v.is_empty() {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    zpop(ctx, req, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    zpop(ctx, req, true)
}

// ---- random and scan ----

fn zrandmember(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = match req.len() {
        2 => None,
        3 | 4 => {
            if req.len() == 4 && !is(req.arg(3), "WITHSCORES") {
                return Err(errors::SYNTAX);
            }
            Some(parse_pick_count(req.arg(2))?)
        }
        _ => return Err(errors::SYNTAX),
    };
    let withscores = req.len() == 4;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let mut rand = x.st.rand_stream();
        let (db, w) = x.split();
        let z = match read::<ZSetVal>(db, key, now) {
            Ok(z) => z,
            Err(e) => return err(w, &e),
        };
        let Some(count) = count else {
            let pick = z
                .filter(|z| !z.is_empty())
                .and_then(|z| z.at((rand() as usize) % z.len()));
            return match pick {
                Some((m, _)) => w.bulk(&m),
                None => w.null(),
            };
        };
        let picks: Vec<Pair> = match z {
            None => Vec::new(),
            Some(z) => counted_picks(
                z.len(),
                count,
                &mut rand,
                |r| z.at((r() as usize) % z.len()),
                |i| z.at(i),
                || z.all(),
            ),
        };
        reply_pairs(w, &picks, withscores);
    });
    Ok(())
}

fn zscan(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    elemscan::run::<ZSetVal, _>(
        ctx,
        req,
        elemscan::Extra::None,
        |z: &ZSetVal, cursor, opts, out| {
            let mut push = |m: &[u8], s: f64| {
                if opts.keep(m) {
                    out.push(m.to_vec());
                    let mut t = Vec::new();
                    resp::numfmt::write_g17(&mut t, s);
                    out.push(t);
                }
            };
            match z {
                ZSetVal::Skip(sk) => {
                    elemscan::walk(&sk.dict, cursor, opts.count, |e| push(&e.member, e.score))
                }
                ZSetVal::Pack(_) => {
                    z.all().iter().for_each(|(m, s)| push(m, *s));
                    0
                }
            }
        },
    )
}

// ---- table ----

const Z: u32 = acl::SORTEDSET;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, zadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "sorted_set",
            "1.2.0",
            "Adds members to a sorted set, or updates their scores.",
        ),
    CommandSpec::new("zincrby", 4, zincrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_UPDATE)
        .doc(
            "sorted_set",
            "1.2.0",
            "Increments the score of a member in a sorted set.",
        ),
    CommandSpec::new("zrem", -3, zrem)
        .flags(WRITE | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc("sorted_set", "1.2.0", "Removes members from a sorted set."),
    CommandSpec::new("zscore", 3, zscore)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "1.2.0",
            "Returns the score of a member in a sorted set.",
        ),
    CommandSpec::new("zmscore", -3, zmscore)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "6.2.0",
            "Returns the score of members in a sorted set.",
        ),
    CommandSpec::new("zcard", 2, zcard)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc(
            "sorted_set",
            "1.2.0",
            "Returns the number of members in a sorted set.",
        ),
    CommandSpec::new("zcount", 4, zcount)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.0.0",
            "Returns the count of members in a sorted set that have scores within a range.",
        ),
    CommandSpec::new("zlexcount", 4, zlexcount)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.8.9",
            "Returns the number of members in a sorted set within a lexicographical range.",
        ),
    CommandSpec::new("zrange", -4, zrange)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "1.2.0",
            "Returns members in a sorted set within a range of indexes, scores or names.",
        ),
    CommandSpec::new("zrevrange", -4, zrevrange)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "1.2.0",
            "Returns members in a sorted set within a range of indexes, highest first.",
        ),
    CommandSpec::new("zrangebyscore", -4, zrangebyscore)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "1.0.5",
            "Returns members in a sorted set within a range of scores.",
        ),
    CommandSpec::new("zrevrangebyscore", -4, zrevrangebyscore)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.2.0",
            "Returns members in a sorted set within a range of scores, highest first.",
        ),
    CommandSpec::new("zrangebylex", -4, zrangebylex)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range.",
        ),
    CommandSpec::new("zrevrangebylex", -4, zrevrangebylex)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range, in reverse.",
        ),
    CommandSpec::new("zrank", -3, zrank)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by ascending scores.",
        ),
    CommandSpec::new("zrevrank", -3, zrevrank)
        .flags(READONLY | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by descending scores.",
        ),
    CommandSpec::new("zremrangebyrank", 4, zremrangebyrank)
        .flags(WRITE)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc(
            "sorted_set",
            "2.0.0",
            "Removes members in a sorted set within a range of indexes.",
        ),
    CommandSpec::new("zremrangebyscore", 4, zremrangebyscore)
        .flags(WRITE)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc(
            "sorted_set",
            "1.2.0",
            "Removes members in a sorted set within a range of scores.",
        ),
    CommandSpec::new("zremrangebylex", 4, zremrangebylex)
        .flags(WRITE)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc(
            "sorted_set",
            "2.8.9",
            "Removes members in a sorted set within a lexicographical range.",
        ),
    CommandSpec::new("zpopmin", -2, zpopmin)
        .flags(WRITE | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_DELETE)
        .doc(
            "sorted_set",
            "5.0.0",
            "Returns the lowest-scoring members from a sorted set after removing them.",
        ),
    CommandSpec::new("zpopmax", -2, zpopmax)
        .flags(WRITE | FAST)
        .acl(Z)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_DELETE)
        .doc(
            "sorted_set",
            "5.0.0",
            "Returns the highest-scoring members from a sorted set after removing them.",
        ),
    CommandSpec::new("zrandmember", -2, zrandmember)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "6.2.0",
            "Returns one or more random members from a sorted set.",
        ),
    CommandSpec::new("zscan", -3, zscan)
        .flags(READONLY)
        .acl(Z)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "sorted_set",
            "2.8.0",
            "Iterates over members and scores of a sorted set.",
        ),
];
