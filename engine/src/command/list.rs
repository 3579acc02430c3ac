//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX
//! LSET LINSERT LREM LTRIM LPOS on one key; LMOVE RPOPLPUSH LMPOP over
//! several (one job when the keys share a shard, a transaction
//! [`Session`] otherwise). Blocking forms: [`super::blocking`].
//!
//! Every push ends with [`blocking::signal`], which serves clients blocked
//! on the key. Values: [`crate::keyspace::list`].

use super::access::{err, modify, notify_change, with};
use super::args::{is, parse_i64};
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use crate::aof::Feed;
use crate::keyspace::events::LIST;
use crate::keyspace::{ListVal, Value};
use crate::shard::blocking::{self, pop_event, pop_name, push_event, push_items};
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::Session;
use crate::shard::ShardState;
use bytes::Bytes;
use resp::{ReplyWriter, Request};

// ---- access helpers ----

/// `LEFT` / `RIGHT`: true for left.
pub fn parse_side(arg: &[u8]) -> CmdResult<bool> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

// ---- ops ----

/// LPUSH / RPUSH (and the X forms when `only_existing`): the new length.
pub fn op_push(
    st: &mut ShardState,
    db: usize,
    key: &[u8],
    items: &[Bytes],
    left: bool,
    only_existing: bool,
    now: i64,
) -> CmdResult<i64> {
    let lim = st.config.limits.list;
    let d = st.db(db);
    if only_existing && d.get(key, now).is_none() {
        return Ok(0);
    }
    let refs: Vec<&[u8]> = items.iter().map(|b| &b[..]).collect();
    let len = push_items(d, key, &refs, left, now, lim).ok_or(errors::WRONGTYPE)?;
    // IMPORTANT: before serving blocked clients, whose pops come after.
    d.notify(LIST, push_event(left), key);
    blocking::signal(st, db, key, now);
    Ok(len as i64)
}

/// LMOVE on one shard: the moved element, if any.
pub fn op_lmove(
    st: &mut ShardState,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
    now: i64,
) -> CmdResult<Option<Vec<u8>>> {
    let lim = st.config.limits.list;
    let d = st.db(db);
    match d.get(src, now).map(|e| e.value()) {
        None => return Ok(None),
        Some(Value::List(_)) => {}
        Some(_) => return Err(errors::WRONGTYPE),
    }
    if d.get(dst, now)
        .is_some_and(|e| !matches!(e.value(), Value::List(_)))
    {
        return Err(errors::WRONGTYPE);
    }
    // The source is dropped only after the push, as Redis does: with
    // `src == dst` a one-element list rotates in place (no `del`, no `new`).
    let popped = match d.write(src, now).map(|e| e.value_mut()) {
        Some(Value::List(l)) => l.pop(from_left, 1, lim),
        _ => Vec::new(),
    };
    let Some(v) = popped.into_iter().next() else {
        return Ok(None);
    };
    push_items(d, dst, &[&v], to_left, now, lim);
    // Redis's order: the push on the destination, then the pop (and the
    // source's `del`).
    d.notify(LIST, push_event(to_left), dst);
    d.drop_if_empty(src);
    notify_change(d, src, LIST, pop_event(from_left));
    blocking::signal(st, db, dst, now);
    Ok(Some(v))
}

// ---- handlers: pushes and pops ----

fn push_generic(ctx: &mut Ctx<'_>, req: &Request, left: bool, only_existing: bool) -> CmdResult {
    let items: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, db) = (x.now, x.db);
        match op_push(x.st, db, key, &items, left, only_existing, now) {
            Ok(n) => {
                x.w.int(n);
                if n == 0 {
                    // LPUSHX / RPUSHX onto a missing key.
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(&mut x.w, &e),
        }
    });
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    push_generic(ctx, req, true, false)
}

fn rpush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    push_generic(ctx, req, false, false)
}

fn lpushx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    push_generic(ctx, req, true, true)
}

fn rpushx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    push_generic(ctx, req, false, true)
}

/// Write popped elements: one bulk without a count, an array with one.
fn reply_popped(w: &mut ReplyWriter<'_>, items: Option<Vec<Vec<u8>>>, counted: bool) {
    match (items, counted) {
        (None, false) => w.null(),
        (None, true) => w.null_array(),
        (Some(v), false) => match v.first() {
            Some(e) => w.bulk(e),
            None => w.null(),
        },
        (Some(v), true) => {
            w.array(v.len());
            for e in &v {
                w.bulk(e);
            }
        }
    }
}

fn pop_generic(ctx: &mut Ctx<'_>, req: &Request, left: bool) -> CmdResult {
    let arity = errors::wrong_arity(if left { "lpop" } else { "rpop" });
    let count = super::args::optional_count(req, arity)?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.list);
        let (db, w) = x.split();
        let r = modify::<ListVal, _>(db, key, now, |l| l.pop(left, count.unwrap_or(1), lim));
        let popped = matches!(&r, Ok(Some(v)) if !v.is_empty());
        if popped {
            notify_change(db, key, LIST, pop_event(left));
        }
        match r {
            Ok(v) => reply_popped(w, v, count.is_some()),
            Err(e) => err(w, &e),
        }
        if !popped {
            x.st.aof.suppress();
        }
    });
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    pop_generic(ctx, req, true)
}

fn rpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    pop_generic(ctx, req, false)
}

// ---- handlers: reads ----

fn llen(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    with::<ListVal, _>(ctx, req, |l, w| w.int(l.map_or(0, |l| l.len() as i64)));
    Ok(())
}

fn lindex(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let idx = parse_i64(req.arg(2))?;
    with::<ListVal, _>(ctx, req, move |l, w| {
        match l.and_then(|l| l.index(idx).and_then(|i| l.get(i))) {
            Some(v) => w.bulk(v),
            None => w.null(),
        }
    });
    Ok(())
}

/// Normalize LRANGE/LTRIM bounds over `len`: the inclusive range, if any.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || s >= len {
        return None;
    }
    e = e.max(0);
    Some((usize::try_from(s).ok()?, usize::try_from(e).ok()?))
}

fn lrange(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (start, end) = (parse_i64(req.arg(2))?, parse_i64(req.arg(3))?);
    with::<ListVal, _>(ctx, req, move |l, w| {
        let items = l
            .and_then(|l| clamp_range(start, end, l.len()).map(|(s, e)| l.range(s, e)))
            .unwrap_or_default();
        w.array(items.len());
        for i in items {
            w.bulk(i);
        }
    });
    Ok(())
}

/// LPOS options.
#[derive(Clone, Copy)]
struct LposOpts {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos(req: &Request) -> CmdResult<LposOpts> {
    let mut o = LposOpts {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < req.len() {
        let (opt, val) = (req.arg(i), req.arg(i + 1));
        if i + 1 >= req.len() {
            return Err(errors::SYNTAX);
        }
        if is(opt, "RANK") {
            let r = parse_i64(val)?;
            if r == 0 {
                return Err(CmdError::fixed("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            o.rank = r;
        } else if is(opt, "COUNT") {
            let c = parse_i64(val)?;
            if c < 0 {
                return Err(CmdError::fixed("ERR COUNT can't be negative"));
            }
            o.count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else if is(opt, "MAXLEN") {
            let m = parse_i64(val)?;
            if m < 0 {
                return Err(CmdError::fixed("ERR MAXLEN can't be negative"));
            }
            o.maxlen = usize::try_from(m).unwrap_or(usize::MAX);
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok(o)
}

fn lpos(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let o = parse_lpos(req)?;
    let elem = req.arg_bytes(2);
    with::<ListVal, _>(ctx, req, move |l, w| {
        let items = l.map(ListVal::to_vec).unwrap_or_default();
        let n = items.len();
        let want = match o.count {
            Some(0) => usize::MAX,
            Some(c) => c,
            None => 1,
        };
        let mut skip = o.rank.unsigned_abs() - 1;
        let mut found = Vec::new();
        let scan = if o.maxlen == 0 { n } else { o.maxlen.min(n) };
        for step in 0..scan {
            let i = if o.rank > 0 { step } else { n - 1 - step };
            if items.get(i).is_some_and(|e| e[..] == elem[..]) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push(i as i64);
                    if found.len() >= want {
                        break;
                    }
                }
            }
        }
        match o.count {
            None => match found.first() {
                Some(&i) => w.int(i),
                None => w.null(),
            },
            Some(_) => {
                w.array(found.len());
                for i in found {
                    w.int(i);
                }
            }
        }
    });
    Ok(())
}

// ---- handlers: in-place edits ----

fn lset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let idx = parse_i64(req.arg(2))?;
    let value = req.arg_bytes(3);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.list);
        let (db, w) = x.split();
        let r = modify::<ListVal, _>(db, key, now, |l| match l.index(idx) {
            Some(i) => {
                l.set(i, &value, lim);
                true
            }
            None => false,
        });
        if let Ok(Some(true)) = r {
            db.notify(LIST, "lset", key);
        }
        match r {
            Ok(Some(true)) => w.ok(),
            Ok(Some(false)) => w.error(b"ERR index out of range"),
            Ok(None) => err(w, &errors::NO_SUCH_KEY),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn linsert(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let before = if is(req.arg(2), "BEFORE") {
        true
    } else if is(req.arg(2), "AFTER") {
        false
    } else {
        return Err(errors::SYNTAX);
    };
    let (pivot, value) = (req.arg_bytes(3), req.arg_bytes(4));
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, db, lim) = (x.now, x.db, x.st.config.limits.list);
        let r = modify::<ListVal, _>(x.st.db(db), key, now, |l| {
            l.edit(lim, |items| {
                match items.iter().position(|e| e[..] == pivot[..]) {
                    Some(p) => {
                        items.insert(if before { p } else { p + 1 }, value.to_vec());
                        items.len() as i64
                    }
                    None => -1,
                }
            })
        });
        match r {
            Ok(n) => {
                if n.unwrap_or(0) > 0 {
                    x.st.db(db).notify(LIST, "linsert", key);
                    blocking::signal(x.st, db, key, now);
                } else {
                    // No such key, or the pivot is not there.
                    x.st.aof.suppress();
                }
                x.w.int(n.unwrap_or(0))
            }
            Err(e) => err(&mut x.w, &e),
        }
    });
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = parse_i64(req.arg(2))?;
    let elem = req.arg_bytes(3);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.list);
        let (db, w) = x.split();
        let r = modify::<ListVal, _>(db, key, now, |l| {
            l.edit(lim, |items| {
                let limit = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut removed = 0usize;
                let n = items.len();
                let mut keep = vec![true; n];
                for step in 0..n {
                    let i = if count >= 0 { step } else { n - 1 - step };
                    if removed < limit && items.get(i).is_some_and(|e| e[..] == elem[..]) {
                        if let Some(k) = keep.get_mut(i) {
                            *k = false;
                        }
                        removed += 1;
                    }
                }
                let mut it = keep.into_iter();
                items.retain(|_| it.next().unwrap_or(true));
                removed as i64
            })
        });
        if matches!(r, Ok(Some(n)) if n > 0) {
            notify_change(db, key, LIST, "lrem");
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

fn ltrim(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (start, end) = (parse_i64(req.arg(2))?, parse_i64(req.arg(3))?);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.list);
        let (db, w) = x.split();
        let r = modify::<ListVal, _>(db, key, now, |l| {
            l.edit(lim, |items| {
                let before = items.len();
                match clamp_range(start, end, items.len()) {
                    Some((s, e)) => {
                        items.truncate(e + 1);
                        items.drain(..s);
                    }
                    None => items.clear(),
                }
                items.len() != before
            })
        });
        // Redis raises `ltrim` even when nothing was trimmed (but logs nothing).
        if let Ok(Some(_)) = r {
            notify_change(db, key, LIST, "ltrim");
        }
        match r {
            Ok(trimmed) => {
                w.ok();
                if trimmed != Some(true) {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

// ---- multi-key: LMOVE RPOPLPUSH LMPOP ----

fn reply_moved(w: &mut ReplyWriter<'_>, r: CmdResult<Option<Vec<u8>>>) {
    match r {
        Ok(Some(v)) => w.bulk(&v),
        Ok(None) => w.null(),
        Err(e) => err(w, &e),
    }
}

/// Move one element from `src` to `dst`, across shards if need be.
pub fn lmove_generic(ctx: &mut Ctx<'_>, src: Bytes, dst: Bytes, from_left: bool, to_left: bool) {
    let db = ctx.db();
    let (s1, s2) = (ctx.owner(&src), ctx.owner(&dst));
    if s1 == s2 {
        let keys = [src.clone(), dst.clone()];
        ctx.run(s1, &keys, move |x| {
            let now = x.now;
            let r = op_lmove(x.st, db, &src, &dst, from_left, to_left, now);
            if matches!(r, Ok(None)) {
                x.st.aof.suppress();
            }
            reply_moved(&mut x.w, r);
        });
        return;
    }
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let locks = vec![
            (s1, LockSet::of_keys(db, [&src[..]], Mode::Write)),
            (s2, LockSet::of_keys(db, [&dst[..]], Mode::Write)),
        ];
        let Ok(session) = Session::lock(&home, owner, locks).await else {
            return encode(proto, |w| w.error(b"ERR shard unavailable"));
        };
        let r = cross_shard_move(&session, db, s1, s2, src, dst, from_left, to_left).await;
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| reply_moved(w, r))
    });
}

#[allow(clippy::too_many_arguments)]
async fn cross_shard_move(
    session: &Session,
    db: usize,
    s1: usize,
    s2: usize,
    src: Bytes,
    dst: Bytes,
    from_left: bool,
    to_left: bool,
) -> CmdResult<Option<Vec<u8>>> {
    let gone = |_| CmdError::fixed("ERR shard unavailable");
    let s = src.clone();
    let src_state = session
        .exec(s1, move |st, now| {
            match st.db(db).get(&s, now).map(|e| e.value()) {
                None => Ok(false),
                Some(Value::List(_)) => Ok(true),
                Some(_) => Err(errors::WRONGTYPE),
            }
        })
        .await
        .map_err(gone)??;
    if !src_state {
        return Ok(None);
    }
    let d = dst.clone();
    session
        .exec(s2, move |st, now| {
            match st.db(db).get(&d, now).map(|e| e.value()) {
                Some(Value::List(_)) | None => Ok(()),
                Some(_) => Err(errors::WRONGTYPE),
            }
        })
        .await
        .map_err(gone)??;
    let s = src.clone();
    // Each shard raises its own key's events; across two shards a
    // subscriber may see the source's before the destination's.
    let popped = session
        .exec(s1, move |st, now| {
            let lim = st.config.limits.list;
            let d = st.db(db);
            let r = modify::<ListVal, _>(d, &s, now, |l| l.pop(from_left, 1, lim));
            if matches!(&r, Ok(Some(v)) if !v.is_empty()) {
                notify_change(d, &s, LIST, pop_event(from_left));
            }
            r
        })
        .await
        .map_err(gone)??
        .unwrap_or_default();
    let Some(v) = popped.into_iter().next() else {
        return Ok(None);
    };
    let (d, v2) = (dst.clone(), v.clone());
    session
        .exec(s2, move |st, now| {
            let lim = st.config.limits.list;
            let dbr = st.db(db);
            push_items(dbr, &d, &[&v2], to_left, now, lim);
            dbr.notify(LIST, push_event(to_left), &d);
            blocking::signal(st, db, &d, now);
        })
        .await
        .map_err(gone)?;
    Ok(Some(v))
}

fn lmove(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (from_left, to_left) = (parse_side(req.arg(3))?, parse_side(req.arg(4))?);
    lmove_generic(ctx, req.arg_bytes(1), req.arg_bytes(2), from_left, to_left);
    Ok(())
}

fn rpoplpush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    lmove_generic(ctx, req.arg_bytes(1), req.arg_bytes(2), false, true);
    Ok(())
}

/// Parsed `numkeys key ... LEFT|RIGHT [COUNT n]` (LMPOP from `start`).
pub struct MpopArgs {
    pub keys: Vec<Bytes>,
    pub left: bool,
    pub count: usize,
}

/// Parse the LMPOP / BLMPOP tail starting at the numkeys argument.
pub fn parse_mpop(req: &Request, start: usize) -> CmdResult<MpopArgs> {
    let (keys, left, count) = parse_mpop_with(req, start, "LEFT", "RIGHT")?;
    Ok(MpopArgs { keys, left, count })
}

/// `numkeys key ... A|B [COUNT n]` from `start` (LMPOP's LEFT|RIGHT,
/// ZMPOP's MIN|MAX): the keys, whether the side is `a`, the count.
pub fn parse_mpop_with(
    req: &Request,
    start: usize,
    a: &str,
    b: &str,
) -> CmdResult<(Vec<Bytes>, bool, usize)> {
    let numkeys = parse_i64(req.arg(start)).unwrap_or(0);
    if numkeys <= 0 {
        return Err(CmdError::fixed("ERR numkeys should be greater than 0"));
    }
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let first = start + 1;
    if first.saturating_add(n) >= req.len() {
        return Err(errors::SYNTAX);
    }
    let keys = (first..first + n).map(|i| req.arg_bytes(i)).collect();
    let side = req.arg(first + n);
    let is_a = if is(side, a) {
        true
    } else if is(side, b) {
        false
    } else {
        return Err(errors::SYNTAX);
    };
    let mut count = 1;
    let mut i = first + n + 1;
    let mut seen_count = false;
    while i < req.len() {
        if is(req.arg(i), "COUNT") && i + 1 < req.len() && !seen_count {
            let c = parse_i64(req.arg(i + 1)).unwrap_or(0);
            if c <= 0 {
                return Err(CmdError::fixed("ERR count should be greater than 0"));
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
            seen_count = true;
            i += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok((keys, is_a, count))
}

/// Reply `[key, [elements]]` or the null array.
pub fn reply_mpop(w: &mut ReplyWriter<'_>, r: CmdResult<Option<(Bytes, Vec<Vec<u8>>)>>) {
    match r {
        Err(e) => err(w, &e),
        Ok(None) => w.null_array(),
        Ok(Some((k, items))) => {
            w.array(2);
            w.bulk(&k);
            w.array(items.len());
            for i in &items {
                w.bulk(i);
            }
        }
    }
}

/// Pop from the first key of `keys` (in order) that `pop` finds something
/// in, atomically across shards (LMPOP, ZMPOP): one job when the keys
/// share a shard, a transaction [`Session`] otherwise. On one shard, `log`
/// writes the AOF record of what was popped (`LPOP k <n>` & co.; nothing
/// when nothing was); the transaction layer logs the multi-shard path.
pub fn first_pop<T, P, L, R>(ctx: &mut Ctx<'_>, keys: Vec<Bytes>, pop: P, log: L, reply: R)
where
    T: Send + 'static,
    P: Fn(&mut ShardState, usize, &[u8], i64) -> CmdResult<Option<T>> + Send + Clone + 'static,
    L: FnOnce(&mut Feed, usize, &[u8], &T) + Send + 'static,
    R: FnOnce(&mut ReplyWriter<'_>, CmdResult<Option<(Bytes, T)>>) + Send + 'static,
{
    let db = ctx.db();
    let groups = super::multikey::by_shard(ctx, &keys);
    if let [(shard, _)] = groups.as_slice() {
        ctx.run(*shard, &keys.clone(), move |x| {
            let now = x.now;
            let mut r = Ok(None);
            for k in &keys {
                match pop(x.st, db, k, now) {
                    Ok(None) => continue,
                    other => {
                        r = other.map(|v| v.map(|v| (k.clone(), v)));
                        break;
                    }
                }
            }
            match &r {
                Ok(Some((k, v))) => log(&mut x.st.aof, db, k, v),
                Ok(None) => x.st.aof.suppress(),
                Err(_) => {}
            }
            reply(&mut x.w, r);
        });
        return;
    }
    let locks: Vec<_> = groups
        .iter()
        .map(|(s, ks)| {
            (
                *s,
                LockSet::of_keys(db, ks.iter().map(|(_, k)| &k[..]), Mode::Write),
            )
        })
        .collect();
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let Ok(session) = Session::lock(&home, owner, locks).await else {
            return encode(proto, |w| w.error(b"ERR shard unavailable"));
        };
        let mut result = Ok(None);
        for k in &keys {
            let (k1, pop) = (k.clone(), pop.clone());
            let r = session
                .exec(home.owner(k), move |st, now| pop(st, db, &k1, now))
                .await
                .unwrap_or(Err(CmdError::fixed("ERR shard unavailable")));
            if !matches!(r, Ok(None)) {
                result = r.map(|v| v.map(|v| (k.clone(), v)));
                break;
            }
        }
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| reply(w, result))
    });
}

fn lmpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let MpopArgs { keys, left, count } = parse_mpop(req, 1)?;
    let pop = move |st: &mut ShardState, db: usize, k: &[u8], now: i64| {
        let lim = st.config.limits.list;
        let d = st.db(db);
        let items = modify::<ListVal, _>(d, k, now, |l| l.pop(left, count, lim))?;
        let items = items.filter(|v| !v.is_empty());
        if items.is_some() {
            notify_change(d, k, LIST, pop_event(left));
        }
        Ok(items)
    };
    let log = move |aof: &mut Feed, db: usize, k: &[u8], items: &Vec<Vec<u8>>| {
        if aof.on() {
            let n = items.len().to_string();
            aof.replace(db, &[pop_name(left), k, n.as_bytes()]);
        }
    };
    first_pop(ctx, keys, pop, log, reply_mpop);
    Ok(())
}

// ---- table ----

const MOVE: &[KeySpecDef] = &[
    KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
    KeySpecDef::range(&["RW", "INSERT"], 2, 0, 1, 0),
];
const L: u32 = acl::LIST;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, lpush)
        .flags(WRITE | DENYOOM | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc("list", "1.0.0", "Prepends one or more elements to a list."),
    CommandSpec::new("rpush", -3, rpush)
        .flags(WRITE | DENYOOM | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc("list", "1.0.0", "Appends one or more elements to a list."),
    CommandSpec::new("lpushx", -3, lpushx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc(
            "list",
            "2.2.0",
            "Prepends elements to a list only when the list exists.",
        ),
    CommandSpec::new("rpushx", -3, rpushx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc(
            "list",
            "2.2.0",
            "Appends elements to a list only when the list exists.",
        ),
    CommandSpec::new("lpop", -2, lpop)
        .flags(WRITE | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_DELETE)
        .doc(
            "list",
            "1.0.0",
            "Returns the first elements of a list after removing them.",
        ),
    CommandSpec::new("rpop", -2, rpop)
        .flags(WRITE | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_ACCESS_DELETE)
        .doc(
            "list",
            "1.0.0",
            "Returns the last elements of a list after removing them.",
        ),
    CommandSpec::new("llen", 2, llen)
        .flags(READONLY | FAST)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc("list", "1.0.0", "Returns the length of a list."),
    CommandSpec::new("lrange", 4, lrange)
        .flags(READONLY)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc("list", "1.0.0", "Returns a range of elements from a list."),
    CommandSpec::new("lindex", 3, lindex)
        .flags(READONLY)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "list",
            "1.0.0",
            "Returns an element from a list by its index.",
        ),
    CommandSpec::new("lset", 4, lset)
        .flags(WRITE | DENYOOM)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "UPDATE"], 1, 0, 1, 0)])
        .doc(
            "list",
            "1.0.0",
            "Sets the value of an element in a list by its index.",
        ),
    CommandSpec::new("linsert", 5, linsert)
        .flags(WRITE | DENYOOM)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc(
            "list",
            "2.2.0",
            "Inserts an element before or after another element in a list.",
        ),
    CommandSpec::new("lrem", 4, lrem)
        .flags(WRITE)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "DELETE"], 1, 0, 1, 0)])
        .doc("list", "1.0.0", "Removes elements from a list."),
    CommandSpec::new("ltrim", 4, ltrim)
        .flags(WRITE)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "DELETE"], 1, 0, 1, 0)])
        .doc(
            "list",
            "1.0.0",
            "Removes elements from both ends of a list.",
        ),
    CommandSpec::new("lpos", -3, lpos)
        .flags(READONLY)
        .acl(L)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "list",
            "6.0.6",
            "Returns the index of matching elements in a list.",
        ),
    CommandSpec::new("lmove", 5, lmove)
        .flags(WRITE | DENYOOM)
        .acl(L)
        .keys(1, 2, 1)
        .key_specs(MOVE)
        .doc(
            "list",
            "6.2.0",
            "Returns an element after popping it from one list and pushing it to another.",
        ),
    CommandSpec::new("rpoplpush", 3, rpoplpush)
        .flags(WRITE | DENYOOM)
        .acl(L)
        .keys(1, 2, 1)
        .key_specs(MOVE)
        .doc(
            "list",
            "1.2.0",
            "Returns the last element of a list after removing and pushing it to another list.",
        ),
    CommandSpec::new("lmpop", -4, lmpop)
        .flags(WRITE | MOVABLE_KEYS)
        .acl(L)
        .keys(0, 0, 0)
        .key_specs(&[KeySpecDef::keynum(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 1)])
        .doc(
            "list",
            "7.0.0",
            "Returns multiple elements from a list after removing them.",
        ),
];

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(clamp_range(0, -10, 5), None);
        assert_eq!(clamp_range(0, 0, 0), None);
    }
}
