//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
//! SRANDMEMBER SSCAN on one key; SMOVE SINTER SUNION SDIFF SINTERSTORE
//! SUNIONSTORE SDIFFSTORE SINTERCARD over several.
//!
//! Multi-key commands whose keys share a shard run as one job there; keys
//! on several shards are locked in shard order through a transaction
//! [`Session`], snapshotted, combined on the connection's shard and the
//! result stored — atomic and isolated like MSET. Values:
//! [`crate::keyspace::set`].

use super::access::{err, modify, notify_change, read, store_result, with};
use super::args::{is, parse_i64};
use super::ctx::{encode, Ctx};
use super::elemscan;
use super::errors::{self, CmdError, CmdResult};
use super::hash::{counted_picks, parse_pick_count};
use super::multikey::{gather, Combined};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use crate::keyspace::events::SET;
use crate::keyspace::{set, Db, SetLimits, SetMut, SetRef, SetVal};
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::Session;
use crate::shard::ShardState;
use bytes::Bytes;
use resp::{ReplyWriter, Request};

// ---- access helpers ----

/// SADD: members added.
pub fn op_sadd(
    db: &mut Db,
    key: &[u8],
    members: &[Bytes],
    now: i64,
    lim: SetLimits,
) -> CmdResult<i64> {
    if db.get(key, now).is_some_and(|e| !e.value().is_set()) {
        return Err(errors::WRONGTYPE);
    }
    let first = members.first().map_or(&[][..], |m| &m[..]);
    let e = db.write_or_insert(key, now, || set::create(first, members.len(), lim));
    let Some(mut s) = SetMut::of(e.value_mut()) else {
        return Err(errors::WRONGTYPE);
    };
    let added = members.iter().filter(|m| s.add(m, lim)).count() as i64;
    if added > 0 {
        db.notify(SET, "sadd", key);
    }
    Ok(added)
}

fn members_of(req: &Request, from: usize) -> Vec<Bytes> {
    (from..req.len()).map(|i| req.arg_bytes(i)).collect()
}

// ---- single-key handlers ----

fn sadd(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let members = members_of(req, 2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let (now, lim) = (x.now, x.st.config.limits.set);
        let (db, w) = x.split();
        match op_sadd(db, key, &members, now, lim) {
            Ok(n) => {
                w.int(n);
                if n == 0 {
                    x.st.aof.suppress();
                }
            }
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let members = members_of(req, 2);
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let r = modify::<SetVal, _>(db, key, now, |mut s| {
            members.iter().filter(|m| s.remove(m)).count()
        });
        if matches!(r, Ok(Some(n)) if n > 0) {
            notify_change(db, key, SET, "srem");
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

fn write_members<'m>(w: &mut ReplyWriter<'_>, members: impl ExactSizeIterator<Item = &'m [u8]>) {
    w.set(members.len());
    for m in members {
        w.bulk(m);
    }
}

fn smembers(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    with::<SetVal, _>(ctx, req, |s, w| {
        let members = s.map(SetRef::members).unwrap_or_default();
        write_members(w, members.iter().map(|m| &m[..]));
    });
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let m = req.arg_bytes(2);
    with::<SetVal, _>(ctx, req, move |s, w| {
        w.int(i64::from(s.is_some_and(|s| s.contains(&m))))
    });
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ms = members_of(req, 2);
    with::<SetVal, _>(ctx, req, move |s, w| {
        w.array(ms.len());
        for m in &ms {
            w.int(i64::from(s.is_some_and(|s| s.contains(m))));
        }
    });
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    with::<SetVal, _>(ctx, req, |s, w| w.int(s.map_or(0, |s| s.len() as i64)));
    Ok(())
}

fn spop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = super::args::optional_count(req, errors::SYNTAX)?;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let mut rand = x.st.rand_stream();
        let (db, w) = x.split();
        let r = modify::<SetVal, _>(db, key, now, |mut s| {
            let want = count.unwrap_or(1).min(s.len());
            let mut popped = Vec::with_capacity(want);
            for _ in 0..want {
                let Some(m) = s.random(&mut rand).map(|m| m.into_owned()) else {
                    break;
                };
                s.remove(&m);
                popped.push(m);
            }
            popped
        });
        let popped = match r {
            Err(e) => return err(w, &e),
            Ok(p) => p.unwrap_or_default(),
        };
        if !popped.is_empty() {
            notify_change(db, key, SET, "spop");
        }
        let emptied = db.peek(key).is_none();
        match count {
            None => match popped.first() {
                Some(m) => w.bulk(m),
                None => w.null(),
            },
            Some(_) => write_members(w, popped.iter().map(Vec::as_slice)),
        }
        // Log what was removed, never the random pick itself (Redis 7.0:
        // SREM per member, or DEL when a count took the whole set; one SREM
        // carrying every member here).
        let aof = &mut x.st.aof;
        if popped.is_empty() {
            aof.suppress();
        } else if emptied && count.is_some() {
            aof.replace(x.db, &[b"DEL", key]);
        } else if aof.on() {
            let mut args: Vec<&[u8]> = Vec::with_capacity(popped.len() + 2);
            args.extend([&b"SREM"[..], key]);
            args.extend(popped.iter().map(Vec::as_slice));
            aof.replace(x.db, &args);
        }
    });
    Ok(())
}

fn srandmember(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = match req.len() {
        2 => None,
        3 => Some(parse_pick_count(req.arg(2))?),
        _ => return Err(errors::SYNTAX),
    };
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let mut rand = x.st.rand_stream();
        let (db, w) = x.split();
        let s = match read::<SetVal>(db, key, now) {
            Err(e) => return err(w, &e),
            Ok(s) => s,
        };
        let Some(count) = count else {
            match s.and_then(|s| s.random(&mut rand)) {
                Some(m) => w.bulk(&m),
                None => w.null(),
            }
            return;
        };
        let picks: Vec<Vec<u8>> = match s {
            None => Vec::new(),
            Some(s) => {
                let all = s.members();
                counted_picks(
                    all.len(),
                    count,
                    &mut rand,
                    |r| s.random(r).map(|m| m.into_owned()),
                    |i| all.get(i).map(|m| m.to_vec()),
                    || all.iter().map(|m| m.to_vec()).collect(),
                )
            }
        };
        w.array(picks.len());
        for p in &picks {
            w.bulk(p);
        }
    });
    Ok(())
}

fn sscan(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    elemscan::run::<SetVal, _>(
        ctx,
        req,
        elemscan::Extra::None,
        |s: SetRef<'_>, cursor, opts, out| match s {
            SetRef::Table(d) => elemscan::walk(d, cursor, opts.count, |m| {
                if opts.keep(&m.0) {
                    out.push(m.0.to_vec());
                }
            }),
            _ => {
                out.extend(
                    s.members()
                        .into_iter()
                        .filter(|m| opts.keep(m))
                        .map(|m| m.into_owned()),
                );
                0
            }
        },
    )
}

// ---- multi-key: snapshot, combine, store ----

/// A source key's members, or None when missing; Err on a wrong type.
type Snap = CmdResult<Option<Vec<Vec<u8>>>>;

fn snap(db: &mut Db, key: &[u8], now: i64) -> Snap {
    read::<SetVal>(db, key, now)
        .map(|s| s.map(|s| s.members().into_iter().map(|m| m.into_owned()).collect()))
}

/// Store `members` at `key` (replacing whatever is there, TTL cleared)
/// and raise `event`; an empty result deletes the key.
fn store(
    db: &mut Db,
    key: &[u8],
    members: &[Vec<u8>],
    event: &'static str,
    now: i64,
    lim: SetLimits,
) {
    let value =
        (!members.is_empty()).then(|| set::from_members(members.iter().map(Vec::as_slice), lim));
    store_result(db, key, value, SET, event, now);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Combine snapshots (WRONGTYPE if any source has the wrong type). The
/// result is built like Redis builds it, so small integer results come
/// back sorted.
fn combine(op: Op, snaps: Vec<Snap>, lim: SetLimits, limit: usize) -> CmdResult<Vec<Vec<u8>>> {
    let sets: Vec<Option<Vec<Vec<u8>>>> = snaps.into_iter().collect::<CmdResult<_>>()?;
    let members: Vec<Vec<u8>> = match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(Vec::new());
            }
            let mut sets: Vec<Vec<Vec<u8>>> = sets.into_iter().flatten().collect();
            sets.sort_by_key(Vec::len);
            let Some((smallest, rest)) = sets.split_first() else {
                return Ok(Vec::new());
            };
            let others: Vec<ahash::AHashSet<&[u8]>> = rest
                .iter()
                .map(|s| s.iter().map(Vec::as_slice).collect())
                .collect();
            let mut out = Vec::new();
            for m in smallest {
                if others.iter().all(|o| o.contains(&m[..])) {
                    out.push(m.clone());
                    if out.len() == limit {
                        break;
                    }
                }
            }
            out
        }
        Op::Union => sets.into_iter().flatten().flatten().collect(),
        Op::Diff => {
            let mut it = sets.into_iter();
            let first = it.next().flatten().unwrap_or_default();
            let minus: ahash::AHashSet<Vec<u8>> = it.flatten().flatten().collect();
            first.into_iter().filter(|m| !minus.contains(m)).collect()
        }
    };
    if op == Op::Inter && limit != usize::MAX {
        return Ok(members);
    }
    let built = set::from_members(members.iter().map(Vec::as_slice), lim);
    Ok(SetRef::of(&built)
        .map(SetRef::members)
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.into_owned())
        .collect())
}

/// What a combining command does with the result.
#[derive(Clone, Copy)]
enum Finish {
    /// Reply with the members (SINTER, SUNION, SDIFF).
    Reply,
    /// Store at the destination, reply with its size (*STORE).
    Store,
    /// Reply with the count (SINTERCARD).
    Card,
}

/// Run a set algebra command over `srcs` (and `dst` for *STORE), atomic
/// across shards through [`gather`].
fn algebra(
    ctx: &mut Ctx<'_>,
    op: Op,
    srcs: Vec<Bytes>,
    dst: Option<Bytes>,
    finish: Finish,
    limit: usize,
) {
    let lim = ctx.shard.state.borrow().config.limits.set;
    let read = |st: &mut ShardState, db: usize, k: &[u8], now: i64| snap(st.db(db), k, now);
    gather(ctx, srcs, dst, read, move |snaps| {
        let members = match combine(op, snaps, lim, limit) {
            Err(e) => {
                return Combined {
                    reply: Box::new(move |w| err(w, &e)),
                    store: None,
                }
            }
            Ok(m) => m,
        };
        let n = members.len() as i64;
        match finish {
            Finish::Reply => Combined {
                reply: Box::new(move |w| write_members(w, members.iter().map(Vec::as_slice))),
                store: None,
            },
            Finish::Card => Combined {
                reply: Box::new(move |w| w.int(n)),
                store: None,
            },
            Finish::Store => Combined {
                reply: Box::new(move |w| w.int(n)),
                store: Some(Box::new(move |st, db, k, now| {
                    let lim = st.config.limits.set;
                    let event = match op {
                        Op::Inter => "sinterstore",
                        Op::Union => "sunionstore",
                        Op::Diff => "sdiffstore",
                    };
                    store(st.db(db), k, &members, event, now, lim);
                })),
            },
        }
    });
}

fn keys_from(req: &Request, from: usize) -> Vec<Bytes> {
    (from..req.len()).map(|i| req.arg_bytes(i)).collect()
}

/// SINTER / SUNION / SDIFF: keys from argument 1, reply with members.
fn read_algebra(ctx: &mut Ctx<'_>, req: &Request, op: Op) -> CmdResult {
    algebra(ctx, op, keys_from(req, 1), None, Finish::Reply, usize::MAX);
    Ok(())
}

/// The *STORE forms: destination at argument 1, sources after it.
fn store_algebra(ctx: &mut Ctx<'_>, req: &Request, op: Op) -> CmdResult {
    let dst = Some(req.arg_bytes(1));
    algebra(ctx, op, keys_from(req, 2), dst, Finish::Store, usize::MAX);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    read_algebra(ctx, req, Op::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    read_algebra(ctx, req, Op::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    read_algebra(ctx, req, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    store_algebra(ctx, req, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    store_algebra(ctx, req, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    store_algebra(ctx, req, Op::Diff)
}

/// Parse `numkeys key ... [LIMIT n]` (SINTERCARD, ZINTERCARD, whose
/// numkeys errors differ: `zset`): the keys and the limit (0 = none).
pub fn parse_intercard(req: &Request, zset: bool) -> CmdResult<(Vec<Bytes>, usize)> {
    let numkeys = if zset {
        parse_i64(req.arg(1))?
    } else {
        parse_i64(req.arg(1)).unwrap_or(0)
    };
    if numkeys <= 0 {
        return Err(if zset {
            CmdError::fixed("ERR at least 1 input key is needed for 'zintercard' command")
        } else {
            CmdError::fixed("ERR numkeys should be greater than 0")
        });
    }
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if n > req.len() - 2 {
        return Err(if zset {
            errors::SYNTAX
        } else {
            CmdError::fixed("ERR Number of keys can't be greater than number of args")
        });
    }
    let mut limit = usize::MAX;
    let mut i = 2 + n;
    while i < req.len() {
        if is(req.arg(i), "LIMIT") && i + 1 < req.len() {
            let l = parse_i64(req.arg(i + 1))?;
            if l < 0 {
                return Err(CmdError::fixed("ERR LIMIT can't be negative"));
            }
            limit = if l == 0 {
                usize::MAX
            } else {
                usize::try_from(l).unwrap_or(usize::MAX)
            };
            i += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(((2..2 + n).map(|i| req.arg_bytes(i)).collect(), limit))
}

fn sintercard(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (keys, limit) = parse_intercard(req, false)?;
    algebra(ctx, Op::Inter, keys, None, Finish::Card, limit);
    Ok(())
}

fn smove(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (src, dst, member) = (req.arg_bytes(1), req.arg_bytes(2), req.arg_bytes(3));
    let db = ctx.db();
    let (s1, s2) = (ctx.owner(&src), ctx.owner(&dst));
    let type_ok = |d: &mut Db, k: &[u8], now: i64| {
        if d.get(k, now).is_some_and(|e| !e.value().is_set()) {
            return Err(errors::WRONGTYPE);
        }
        Ok(())
    };
    if s1 == s2 {
        let keys = [src.clone(), dst.clone()];
        ctx.run(s1, &keys, move |x| {
            let (now, lim) = (x.now, x.st.config.limits.set);
            let (d, w) = x.split();
            let r = (|| {
                if !d.contains(&src, now) {
                    return Ok(false);
                }
                type_ok(d, &src, now)?;
                type_ok(d, &dst, now)?;
                if src == dst {
                    return Ok(read::<SetVal>(d, &src, now)?.is_some_and(|s| s.contains(&member)));
                }
                if modify::<SetVal, _>(d, &src, now, |mut s| s.remove(&member))? != Some(true) {
                    return Ok(false);
                }
                // Redis's order: `srem` (and `del`) on the source, then `sadd`
                // on the destination when the member is new there.
                notify_change(d, &src, SET, "srem");
                op_sadd(d, &dst, std::slice::from_ref(&member), now, lim)?;
                Ok(true)
            })();
            let moved = matches!(r, Ok(true)) && src != dst;
            match r {
                Ok(b) => w.int(i64::from(b)),
                Err(e) => err(w, &e),
            }
            if !moved {
                // Redis logs nothing for SMOVE k k m, even though it replies 1.
                x.st.aof.suppress();
            }
        });
        return Ok(());
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
        let r: CmdResult<bool> = async {
            let s = src.clone();
            let exists = session
                .exec(s1, move |st, now| {
                    st.db(db)
                        .contains(&s, now)
                        .then(|| type_ok(st.db(db), &s, now))
                })
                .await
                .map_err(|_| unavailable())?;
            match exists {
                None => return Ok(false),
                Some(r) => r?,
            }
            let d = dst.clone();
            session
                .exec(s2, move |st, now| type_ok(st.db(db), &d, now))
                .await
                .map_err(|_| unavailable())??;
            let (s, m) = (src.clone(), member.clone());
            let removed = session
                .exec(s1, move |st, now| {
                    let d = st.db(db);
                    let r = modify::<SetVal, _>(d, &s, now, |mut set| set.remove(&m));
                    if let Ok(Some(true)) = r {
                        notify_change(d, &s, SET, "srem");
                    }
                    r
                })
                .await
                .map_err(|_| unavailable())??;
            if removed != Some(true) {
                return Ok(false);
            }
            let (d, m) = (dst.clone(), member.clone());
            session
                .exec(s2, move |st, now| {
                    let lim = st.config.limits.set;
                    op_sadd(st.db(db), &d, std::slice::from_ref(&m), now, lim)
                })
                .await
                .map_err(|_| unavailable())??;
            Ok(true)
        }
        .await;
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| match r {
            Ok(b) => w.int(i64::from(b)),
            Err(e) => err(w, &e),
        })
    });
    Ok(())
}

fn unavailable() -> CmdError {
    CmdError::fixed("ERR shard unavailable")
}

// ---- table ----

const RO_ACCESS_ALL: &[KeySpecDef] = &[KeySpecDef::range(&["RO", "ACCESS"], 1, -1, 1, 0)];
const STORE: &[KeySpecDef] = &[
    KeySpecDef::range(&["OW", "UPDATE"], 1, 0, 1, 0),
    KeySpecDef::range(&["RO", "ACCESS"], 2, -1, 1, 0),
];
const S: u32 = acl::SET;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, sadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .key_specs(RW_INSERT)
        .doc("set", "1.0.0", "Adds one or more members to a set."),
    CommandSpec::new("srem", -3, srem)
        .flags(WRITE | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .key_specs(RW_DELETE)
        .doc("set", "1.0.0", "Removes one or more members from a set."),
    CommandSpec::new("smembers", 2, smembers)
        .flags(READONLY)
        .acl(S)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS)
        .doc("set", "1.0.0", "Returns all members of a set."),
    CommandSpec::new("sismember", 3, sismember)
        .flags(READONLY | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc(
            "set",
            "1.0.0",
            "Determines whether a member belongs to a set.",
        ),
    CommandSpec::new("smismember", -3, smismember)
        .flags(READONLY | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "set",
            "6.2.0",
            "Determines whether multiple members belong to a set.",
        ),
    CommandSpec::new("scard", 2, scard)
        .flags(READONLY | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc("set", "1.0.0", "Returns the number of members in a set."),
    CommandSpec::new("spop", -2, spop)
        .flags(WRITE | FAST)
        .acl(S)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RW_ACCESS_DELETE)
        .doc(
            "set",
            "1.0.0",
            "Returns one or more random members from a set after removing them.",
        ),
    CommandSpec::new("srandmember", -2, srandmember)
        .flags(READONLY)
        .acl(S)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "set",
            "1.0.0",
            "Get one or multiple random members from a set.",
        ),
    CommandSpec::new("sscan", -3, sscan)
        .flags(READONLY)
        .acl(S)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc("set", "2.8.0", "Iterates over members of a set."),
    CommandSpec::new("smove", 4, smove)
        .flags(WRITE | FAST)
        .acl(S)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
            KeySpecDef::range(&["RW", "INSERT"], 2, 0, 1, 0),
        ])
        .doc("set", "1.0.0", "Moves a member from one set to another."),
    CommandSpec::new("sinter", -2, sinter)
        .flags(READONLY)
        .acl(S)
        .keys(1, -1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS_ALL)
        .doc("set", "1.0.0", "Returns the intersect of multiple sets."),
    CommandSpec::new("sunion", -2, sunion)
        .flags(READONLY)
        .acl(S)
        .keys(1, -1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS_ALL)
        .doc("set", "1.0.0", "Returns the union of multiple sets."),
    CommandSpec::new("sdiff", -2, sdiff)
        .flags(READONLY)
        .acl(S)
        .keys(1, -1, 1)
        .tips(&["nondeterministic_output_order"])
        .key_specs(RO_ACCESS_ALL)
        .doc("set", "1.0.0", "Returns the difference of multiple sets."),
    CommandSpec::new("sinterstore", -3, sinterstore)
        .flags(WRITE | DENYOOM)
        .acl(S)
        .keys(1, -1, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "UPDATE"], 1, 0, 1, 0),
            KeySpecDef::range(&["RO", "ACCESS"], 2, -1, 1, 0),
        ])
        .doc(
            "set",
            "1.0.0",
            "Stores the intersect of multiple sets in a key.",
        ),
    CommandSpec::new("sunionstore", -3, sunionstore)
        .flags(WRITE | DENYOOM)
        .acl(S)
        .keys(1, -1, 1)
        .key_specs(STORE)
        .doc(
            "set",
            "1.0.0",
            "Stores the union of multiple sets in a key.",
        ),
    CommandSpec::new("sdiffstore", -3, sdiffstore)
        .flags(WRITE | DENYOOM)
        .acl(S)
        .keys(1, -1, 1)
        .key_specs(STORE)
        .doc(
            "set",
            "1.0.0",
            "Stores the difference of multiple sets in a key.",
        ),
    CommandSpec::new("sintercard", -3, sintercard)
        .flags(READONLY | MOVABLE_KEYS)
        .acl(S)
        .keys(0, 0, 0)
        .key_specs(&[KeySpecDef::keynum(&["RO", "ACCESS"], 1, 0, 1, 1)])
        .doc(
            "set",
            "7.0.0",
            "Returns the number of members of the intersect of multiple sets.",
        ),
];
