//! Multi-key commands that may span shards: MGET MSET MSETNX DEL UNLINK
//! EXISTS TOUCH.
//!
//! All keys on one shard: one job there (inline when it is the
//! connection's shard). Keys on several shards: the transaction layer
//! ([`crate::shard::tx`]) locks them on every shard first, so no client
//! ever sees half of an MSET or a mix of old and new values in an MGET.

use super::ctx::{encode, Ctx};
use super::errors::{self, CmdResult};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use crate::keyspace::events::{GENERIC, STRING};
use crate::keyspace::{Db, ExpirePolicy, RStr, Value};
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::{self, Part, Session};
use crate::shard::ShardId;
use bytes::Bytes;
use resp::{Proto, Request};

/// Keys grouped by owning shard (ascending), each with its request position.
pub fn by_shard(ctx: &Ctx<'_>, keys: &[Bytes]) -> Vec<(ShardId, Vec<(usize, Bytes)>)> {
    let mut groups: Vec<(ShardId, Vec<(usize, Bytes)>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let s = ctx.owner(k);
        match groups.iter_mut().find(|(g, _)| *g == s) {
            Some((_, v)) => v.push((i, k.clone())),
            None => groups.push((s, vec![(i, k.clone())])),
        }
    }
    groups.sort_by_key(|(s, _)| *s);
    groups
}

fn lockset(db: usize, keys: &[(usize, Bytes)], mode: Mode) -> LockSet {
    LockSet::of_keys(db, keys.iter().map(|(_, k)| &k[..]), mode)
}

fn gone(proto: Proto) -> Vec<u8> {
    encode(proto, |w| w.error(b"ERR shard unavailable"))
}

/// The string value of `key` as bytes (MGET: other types read as missing).
fn read_string(db: &mut Db, key: &[u8], now: i64) -> Option<Vec<u8>> {
    match db.read(key, now, true)?.value() {
        Value::Str(s) => Some(s.as_bytes().into_owned()),
        _ => None,
    }
}

/// Run `op` over each shard's keys (all locked with `mode` first when they
/// span shards) and reduce the per-shard results with `finish`. On one
/// shard, a write whose result `changed` says false logs nothing to the AOF
/// (Redis's rule; the multi-shard path is logged by the transaction layer).
fn per_shard<R, Op, Fin>(
    ctx: &mut Ctx<'_>,
    keys: Vec<Bytes>,
    mode: Mode,
    op: Op,
    changed: fn(&R) -> bool,
    finish: Fin,
) where
    R: Send + 'static,
    Op: Fn(&mut Db, &[(usize, Bytes)], i64) -> R + Send + Clone + 'static,
    Fin: FnOnce(Vec<R>, &mut resp::ReplyWriter<'_>) + Send + 'static,
{
    let db = ctx.db();
    let groups = by_shard(ctx, &keys);
    if let [(shard, _)] = groups.as_slice() {
        let shard = *shard;
        let indexed: Vec<(usize, Bytes)> = keys.iter().cloned().enumerate().collect();
        ctx.run(shard, &keys, move |x| {
            let now = x.now;
            let r = op(x.st.db(db), &indexed, now);
            if !changed(&r) {
                x.st.aof.suppress();
            }
            finish(vec![r], &mut x.w);
        });
        return;
    }
    let parts: Vec<Part<R>> = groups
        .into_iter()
        .map(|(shard, ks)| {
            let op = op.clone();
            let locks = lockset(db, &ks, mode);
            Part {
                shard,
                locks,
                op: Box::new(move |st, now| op(st.db(db), &ks, now)),
            }
        })
        .collect();
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    let acks = ctx.acks();
    ctx.run_async(async move {
        let ran = match acks {
            Some(acks) => tx::run_acked(&home, owner, parts, &acks).await,
            None => tx::run(&home, owner, parts).await,
        };
        match ran {
            Ok(results) => encode(proto, |w| finish(results, w)),
            Err(_) => gone(proto),
        }
    });
}

fn keys_from(req: &Request, start: usize, step: usize) -> Vec<Bytes> {
    (start..req.len())
        .step_by(step)
        .map(|i| req.arg_bytes(i))
        .collect()
}

fn mget(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let keys = keys_from(req, 1, 1);
    let n = keys.len();
    per_shard(
        ctx,
        keys,
        Mode::Read,
        |db, ks, now| {
            ks.iter()
                .map(|(i, k)| (*i, read_string(db, k, now)))
                .collect::<Vec<_>>()
        },
        |_| false,
        move |results, w| {
            let mut vals: Vec<Option<Vec<u8>>> = vec![None; n];
            for (i, v) in results.into_iter().flatten() {
                if let Some(slot) = vals.get_mut(i) {
                    *slot = v;
                }
            }
            w.array(n);
            for v in vals {
                match v {
                    Some(b) => w.bulk(&b),
                    None => w.null(),
                }
            }
        },
    );
    Ok(())
}

/// Key/value pairs of MSET-like commands, grouped like the keys.
fn pairs(req: &Request, name: &str) -> CmdResult<(Vec<Bytes>, Vec<Bytes>)> {
    if req.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(name));
    }
    Ok((keys_from(req, 1, 2), keys_from(req, 2, 2)))
}

fn mset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (keys, values) = pairs(req, "mset")?;
    per_shard(
        ctx,
        keys,
        Mode::Write,
        move |db, ks, now| {
            for (i, k) in ks {
                if let Some(v) = values.get(*i) {
                    db.set(k, Value::Str(RStr::from_bytes(v)), ExpirePolicy::Clear, now);
                    db.notify(STRING, "set", k);
                }
            }
        },
        |_| true,
        |_, w| w.ok(),
    );
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (keys, values) = pairs(req, "msetnx")?;
    let db = ctx.db();
    let groups = by_shard(ctx, &keys);
    if let [(shard, _)] = groups.as_slice() {
        ctx.run(*shard, &keys.clone(), move |x| {
            let now = x.now;
            let (d, w) = x.split();
            if keys.iter().any(|k| d.contains(k, now)) {
                w.int(0);
                x.st.aof.suppress();
                return;
            }
            for (k, v) in keys.iter().zip(&values) {
                d.set(k, Value::Str(RStr::from_bytes(v)), ExpirePolicy::Clear, now);
                d.notify(STRING, "set", k);
            }
            w.int(1);
        });
        return Ok(());
    }
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let locks = groups
            .iter()
            .map(|(s, ks)| (*s, lockset(db, ks, Mode::Write)))
            .collect();
        let Ok(session) = Session::lock(&home, owner, locks).await else {
            return gone(proto);
        };
        let mut exists = false;
        for (shard, ks) in &groups {
            let ks: Vec<Bytes> = ks.iter().map(|(_, k)| k.clone()).collect();
            let found = session
                .exec(*shard, move |st, now| {
                    ks.iter().any(|k| st.db(db).contains(k, now))
                })
                .await
                .unwrap_or(true);
            exists |= found;
        }
        if !exists {
            for (shard, ks) in groups {
                let kv: Vec<(Bytes, Bytes)> = ks
                    .into_iter()
                    .filter_map(|(i, k)| values.get(i).map(|v| (k, v.clone())))
                    .collect();
                let _ = session
                    .exec(shard, move |st, now| {
                        let d = st.db(db);
                        for (k, v) in kv {
                            d.set(
                                &k,
                                Value::Str(RStr::from_bytes(&v)),
                                ExpirePolicy::Clear,
                                now,
                            );
                            d.notify(STRING, "set", &k);
                        }
                    })
                    .await;
            }
        }
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| w.int(i64::from(!exists)))
    });
    Ok(())
}

fn count_reply(results: Vec<i64>, w: &mut resp::ReplyWriter<'_>) {
    w.int(results.into_iter().sum());
}

fn del(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    per_shard(
        ctx,
        keys_from(req, 1, 1),
        Mode::Write,
        |db, ks, now| {
            ks.iter()
                .filter(|(_, k)| {
                    let deleted = db.delete(k, now);
                    if deleted {
                        db.notify(GENERIC, "del", k);
                    }
                    deleted
                })
                .count() as i64
        },
        |n| *n > 0,
        count_reply,
    );
    Ok(())
}

fn exists(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    per_shard(
        ctx,
        keys_from(req, 1, 1),
        Mode::Read,
        |db, ks, now| {
            ks.iter()
                .filter(|(_, k)| db.read(k, now, false).is_some())
                .count() as i64
        },
        |_| false,
        count_reply,
    );
    Ok(())
}

fn touch(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    per_shard(
        ctx,
        keys_from(req, 1, 1),
        Mode::Read,
        |db, ks, now| {
            ks.iter()
                .filter(|(_, k)| db.read(k, now, true).is_some())
                .count() as i64
        },
        |_| false,
        count_reply,
    );
    Ok(())
}

// ---- table ----

const MULTI_SHARD: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("mget", -2, mget)
        .flags(READONLY | FAST)
        .acl(acl::STRING)
        .keys(1, -1, 1)
        .tips(&["request_policy:multi_shard"])
        .key_specs(&[KeySpecDef::range(&["RO", "ACCESS"], 1, -1, 1, 0)])
        .doc(
            "string",
            "1.0.0",
            "Returns the string values of several keys.",
        ),
    CommandSpec::new("mset", -3, mset)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, -1, 2)
        .tips(&[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ])
        .key_specs(&[KeySpecDef::range(&["OW", "UPDATE"], 1, -1, 2, 0)])
        .doc(
            "string",
            "1.0.1",
            "Sets several keys to string values, atomically.",
        ),
    CommandSpec::new("msetnx", -3, msetnx)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, -1, 2)
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"])
        .key_specs(&[KeySpecDef::range(&["OW", "INSERT"], 1, -1, 2, 0)])
        .doc(
            "string",
            "1.0.1",
            "Sets several keys only when none of them exists, atomically.",
        ),
    CommandSpec::new("del", -2, del)
        .flags(WRITE)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1)
        .tips(MULTI_SHARD)
        .key_specs(&[KeySpecDef::range(&["RM", "DELETE"], 1, -1, 1, 0)])
        .doc(
            "generic",
            "1.0.0",
            "Deletes keys; returns how many existed.",
        ),
    CommandSpec::new("unlink", -2, del)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1)
        .tips(MULTI_SHARD)
        .key_specs(&[KeySpecDef::range(&["RM", "DELETE"], 1, -1, 1, 0)])
        .doc(
            "generic",
            "4.0.0",
            "Deletes keys (memory reclaimed without blocking); returns how many existed.",
        ),
    CommandSpec::new("exists", -2, exists)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1)
        .tips(MULTI_SHARD)
        .key_specs(&[KeySpecDef::range(&["RO"], 1, -1, 1, 0)])
        .doc(
            "generic",
            "1.0.0",
            "Counts how many of the given keys exist.",
        ),
    CommandSpec::new("touch", -2, touch)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1)
        .tips(MULTI_SHARD)
        .key_specs(&[KeySpecDef::range(&["RO"], 1, -1, 1, 0)])
        .doc(
            "generic",
            "3.2.1",
            "Updates the last access time of keys; returns how many exist.",
        ),
];

/// The store step of [`gather`]: runs on the destination's shard with its
/// state, database, key and the time.
pub type StoreFn = Box<dyn FnOnce(&mut crate::shard::ShardState, usize, &[u8], i64) + Send>;

/// What a combining command does after reading its sources: its reply, and
/// optionally what to store at the destination (on the destination's shard).
pub struct Combined {
    /// Writes the reply.
    pub reply: Box<dyn FnOnce(&mut resp::ReplyWriter<'_>) + Send>,
    /// Writes the destination (given the shard state, db, key, time).
    pub store: Option<StoreFn>,
}

/// Read `srcs` with `snap` (on their shards), `combine` the snapshots on
/// this shard, then run the store step at `dst`: one job when every key is
/// on one shard; otherwise all keys are locked in shard order first
/// (sources shared, destination exclusive), so the whole is atomic and
/// isolated like MSET.
pub fn gather<S, Snap, Comb>(
    ctx: &mut Ctx<'_>,
    srcs: Vec<Bytes>,
    dst: Option<Bytes>,
    snap: Snap,
    combine: Comb,
) where
    S: Send + 'static,
    Snap: Fn(&mut crate::shard::ShardState, usize, &[u8], i64) -> S + Send + Clone + 'static,
    Comb: FnOnce(Vec<S>) -> Combined + Send + 'static,
{
    let db = ctx.db();
    let mut all = srcs.clone();
    all.extend(dst.iter().cloned());
    let groups = by_shard(ctx, &all);
    if let [(shard, _)] = groups.as_slice() {
        ctx.run(*shard, &all, move |x| {
            let now = x.now;
            let snaps = srcs.iter().map(|k| snap(x.st, db, k, now)).collect();
            let c = combine(snaps);
            if let (Some(store), Some(d)) = (c.store, &dst) {
                store(x.st, db, d, now);
            }
            (c.reply)(&mut x.w);
        });
        return;
    }
    let n_src = srcs.len();
    let locks: Vec<_> = groups
        .into_iter()
        .map(|(shard, keys)| {
            let writes = keys.iter().any(|(i, _)| *i >= n_src);
            let mode = if writes { Mode::Write } else { Mode::Read };
            (shard, lockset(db, &keys, mode))
        })
        .collect();
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let Ok(session) = Session::lock(&home, owner, locks).await else {
            return gone(proto);
        };
        let mut snaps = Vec::with_capacity(srcs.len());
        for k in &srcs {
            let (k2, snap) = (k.clone(), snap.clone());
            match session
                .exec(home.owner(k), move |st, now| snap(st, db, &k2, now))
                .await
            {
                Ok(s) => snaps.push(s),
                Err(_) => {
                    let _ = session.release().await;
                    return gone(proto);
                }
            }
        }
        let c = combine(snaps);
        if let (Some(store), Some(d)) = (c.store, &dst) {
            let d2 = d.clone();
            let _ = session
                .exec(home.owner(d), move |st, now| store(st, db, &d2, now))
                .await;
        }
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| (c.reply)(w))
    });
}
