//! Generic key commands: TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL
//! EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN RANDOMKEY RENAME RENAMENX COPY
//! MOVE OBJECT. (DEL, EXISTS, TOUCH, UNLINK are in [`super::multikey`];
//! DUMP and RESTORE in [`super::dump`].)

use super::args::{is, parse_cursor, parse_i64, Args};
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, ks::*, CommandSpec, KeySpecDef};
use crate::keyspace::events::GENERIC;
use crate::keyspace::{Db, Entry, LruClock, RStr, Value};
use crate::shard::blocking;
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::Session;
use bytes::Bytes;
use resp::Request;

// ---- expiry ----

/// EXPIRE's NX/XX/GT/LT.
#[derive(Clone, Copy, Debug, Default)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_cond(req: &Request) -> CmdResult<ExpireCond> {
    let mut c = ExpireCond::default();
    for opt in req.iter().skip(3) {
        if is(opt, "NX") {
            c.nx = true;
        } else if is(opt, "XX") {
            c.xx = true;
        } else if is(opt, "GT") {
            c.gt = true;
        } else if is(opt, "LT") {
            c.lt = true;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(CmdError::fixed(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if c.gt && c.lt {
        return Err(CmdError::fixed(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(c)
}

/// EXPIRE et al. on the owning shard: 1 when the TTL was set (or the key
/// deleted because the time is already past), 0 otherwise.
fn op_expire(db: &mut Db, key: &[u8], when: i64, c: ExpireCond, now: i64) -> i64 {
    let Some(e) = db.write(key, now) else {
        return 0;
    };
    let current = e.expire_at();
    if c.nx && current.is_some() {
        return 0;
    }
    if c.xx && current.is_none() {
        return 0;
    }
    if c.gt && current.is_none_or(|cur| when <= cur) {
        return 0;
    }
    if c.lt && current.is_some_and(|cur| when >= cur) {
        return 0;
    }
    // A time already past deletes the key, and Redis says so with `del`.
    if when <= now {
        db.remove(key);
        db.notify(GENERIC, "del", key);
    } else {
        db.set_expire(key, Some(when));
        db.notify(GENERIC, "expire", key);
    }
    1
}

fn expire_generic(
    ctx: &mut Ctx<'_>,
    req: &Request,
    secs: bool,
    absolute: bool,
    name: &str,
) -> CmdResult {
    let cond = parse_expire_cond(req)?;
    let mut when = parse_i64(req.arg(2))?;
    if secs {
        when = when
            .checked_mul(1000)
            .ok_or_else(|| errors::invalid_expire(name))?;
    }
    let base = if absolute { 0 } else { ctx.now_ms() };
    let when = when
        .checked_add(base)
        .ok_or_else(|| errors::invalid_expire(name))?;
    // PEXPIREAT is logged as it came; the others as PEXPIREAT.
    let rewrite = secs || !absolute;
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let r = op_expire(x.db(), key, when, cond, now);
        x.w.int(r);
        log_expire(
            &mut x.st.aof,
            x.db,
            key,
            r == 1,
            when,
            now,
            rewrite.then_some(cond),
        );
    });
    Ok(())
}

/// Log what EXPIRE & co. did as Redis does: nothing when the condition
/// failed or the key is missing, `DEL k` when the time was past, else
/// `PEXPIREAT k <ms> [flags]` (PEXPIREAT itself, `cond` None, as it came).
fn log_expire(
    aof: &mut crate::aof::Feed,
    db: usize,
    key: &[u8],
    done: bool,
    when: i64,
    now: i64,
    cond: Option<ExpireCond>,
) {
    if !done {
        aof.suppress();
    } else if when <= now {
        aof.replace(db, &[b"DEL", key]);
    } else if let Some(c) = cond {
        if aof.on() {
            let ms = when.to_string();
            let mut args: Vec<&[u8]> = vec![b"PEXPIREAT", key, ms.as_bytes()];
            for (on, flag) in [(c.nx, "NX"), (c.xx, "XX"), (c.gt, "GT"), (c.lt, "LT")] {
                if on {
                    args.push(flag.as_bytes());
                }
            }
            aof.replace(db, &args);
        }
    }
}

fn expire(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    expire_generic(ctx, req, true, false, "expire")
}

fn pexpire(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    expire_generic(ctx, req, false, false, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    expire_generic(ctx, req, true, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    expire_generic(ctx, req, false, true, "pexpireat")
}

/// How TTL-like commands report.
#[derive(Clone, Copy)]
enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PexpireTime,
}

fn ttl_generic(ctx: &mut Ctx<'_>, req: &Request, kind: TtlKind) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let Some(e) = db.read(key, now, false) else {
            w.int(-2);
            return;
        };
        let Some(at) = e.expire_at() else {
            w.int(-1);
            return;
        };
        let v = match kind {
            TtlKind::Ttl => ((at - now).max(0) + 500) / 1000,
            TtlKind::Pttl => (at - now).max(0),
            TtlKind::ExpireTime => (at + 500) / 1000,
            TtlKind::PexpireTime => at,
        };
        w.int(v);
    });
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ttl_generic(ctx, req, TtlKind::Ttl)
}

fn pttl(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ttl_generic(ctx, req, TtlKind::Pttl)
}

fn expiretime(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ttl_generic(ctx, req, TtlKind::ExpireTime)
}

fn pexpiretime(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ttl_generic(ctx, req, TtlKind::PexpireTime)
}

fn persist(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let db = x.db();
        let had = db.write(key, now).is_some_and(|e| e.expire_at().is_some());
        if had {
            db.set_expire(key, None);
            db.notify(GENERIC, "persist", key);
        } else {
            x.st.aof.suppress();
        }
        x.w.int(i64::from(had));
    });
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match db.read(key, now, false) {
            Some(e) => w.simple(e.value().type_name().as_bytes()),
            None => w.simple(b"none"),
        }
    });
    Ok(())
}

// ---- keyspace-wide reads ----

fn keys(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let pattern = req.arg(1).to_vec();
    let db = ctx.db();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let all = pattern == b"*";
        let per_shard = home
            .broadcast(move |s| {
                let mut st = s.state.borrow_mut();
                let now = crate::clock::now_ms();
                st.db(db)
                    .iter(now)
                    .filter(|e| all || crate::glob::matches(&pattern, e.key_bytes(), false))
                    .map(|e| e.key_bytes().to_vec())
                    .collect::<Vec<_>>()
            })
            .await;
        let n: usize = per_shard.iter().map(Vec::len).sum();
        encode(proto, |w| {
            w.array(n);
            for k in per_shard.iter().flatten() {
                w.bulk(k);
            }
        })
    });
    Ok(())
}

/// The SCAN cursor across shards: `dict_cursor * shards + shard`.
fn split_cursor(cursor: u64, shards: usize) -> (usize, u64) {
    let n = shards.max(1) as u64;
    ((cursor % n) as usize, cursor / n)
}

fn scan(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let cursor = parse_cursor(req.arg(1))?;
    let opts = super::elemscan::parse(req, 2, super::elemscan::Extra::Type)?;
    let shards = ctx.shard_count();
    let (shard, dcursor) = split_cursor(cursor, shards);
    ctx.run(shard, &[], move |x| {
        let now = x.now;
        let mut found: Vec<Vec<u8>> = Vec::new();
        let mut next = dcursor;
        let mut budget = opts.count.saturating_mul(10).max(1);
        let db = x.st.db(x.db);
        loop {
            next = db.scan(next, now, |e| found.push(e.key_bytes().to_vec()));
            budget -= 1;
            if next == 0 || budget == 0 || found.len() >= opts.count {
                break;
            }
        }
        found.retain(|k| {
            let Some(e) = db.peek(k) else { return false };
            if let Some(p) = &opts.pattern {
                if !crate::glob::matches(p, k, false) {
                    return false;
                }
            }
            if let Some(t) = &opts.type_name {
                if e.value().type_name().as_bytes() != t.as_slice() {
                    return false;
                }
            }
            true
        });
        let global = if next == 0 {
            if shard + 1 >= shards {
                0
            } else {
                (shard + 1) as u64
            }
        } else {
            next.checked_mul(shards as u64)
                .and_then(|c| c.checked_add(shard as u64))
                .unwrap_or(0)
        };
        let w = &mut x.w;
        w.array(2);
        w.bulk(global.to_string().as_bytes());
        w.array(found.len());
        for k in &found {
            w.bulk(k);
        }
    });
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let db = ctx.db();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    let shards = ctx.shard_count();
    let start = (home.state.borrow_mut().rand() as usize) % shards.max(1);
    ctx.run_async(async move {
        for i in 0..shards {
            let s = (start + i) % shards;
            let key = home
                .call(s, move |sh| {
                    let mut st = sh.state.borrow_mut();
                    let rand = st.rand_stream();
                    let now = crate::clock::now_ms();
                    st.db(db).random_key(now, rand)
                })
                .await
                .ok()
                .flatten();
            if let Some(k) = key {
                return encode(proto, |w| w.bulk(&k));
            }
        }
        encode(proto, |w| w.null())
    });
    Ok(())
}

// ---- RENAME, COPY, MOVE ----

/// A key's value and TTL, moved between shards.
type Moved = (Value, i64);

fn take_entry(db: &mut Db, key: &[u8], now: i64) -> Option<Moved> {
    db.write(key, now)?;
    db.remove(key).map(|e| (e.value, e.expire_at))
}

fn put_entry(db: &mut Db, key: &[u8], (value, expire_at): Moved, now: i64) {
    db.remove(key);
    db.insert_entry(Entry::new(key, value, expire_at, LruClock::at(now)));
}

fn rename_generic(ctx: &mut Ctx<'_>, req: &Request, nx: bool) -> CmdResult {
    let src = req.arg_bytes(1);
    let dst = req.arg_bytes(2);
    let db = ctx.db();
    let (s1, s2) = (ctx.owner(&src), ctx.owner(&dst));
    let reply = move |w: &mut resp::ReplyWriter<'_>, r: Result<bool, CmdError>| match r {
        Err(e) => w.error(e.text().as_bytes()),
        Ok(done) if nx => w.int(i64::from(done)),
        Ok(_) => w.ok(),
    };
    if s1 == s2 {
        let keys = [src.clone(), dst.clone()];
        ctx.run(s1, &keys, move |x| {
            let now = x.now;
            let d = x.st.db(db);
            let r = (|| {
                if !d.contains(&src, now) {
                    return Err(errors::NO_SUCH_KEY);
                }
                if src == dst {
                    return Ok(!nx);
                }
                if nx && d.contains(&dst, now) {
                    return Ok(false);
                }
                let moved = take_entry(d, &src, now).ok_or(errors::NO_SUCH_KEY)?;
                put_entry(d, &dst, moved, now);
                d.notify(GENERIC, "rename_from", &src);
                d.notify(GENERIC, "rename_to", &dst);
                Ok(true)
            })();
            if r == Ok(true) && src != dst {
                blocking::signal(x.st, db, &dst, now);
            } else {
                // RENAME k k, or RENAMENX onto an existing key: no change.
                x.st.aof.suppress();
            }
            reply(&mut x.w, r);
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
        let r = async {
            let s = src.clone();
            let exists = session
                .exec(s1, move |st, now| st.db(db).contains(&s, now))
                .await
                .unwrap_or(false);
            if !exists {
                return Err(errors::NO_SUCH_KEY);
            }
            if nx {
                let d = dst.clone();
                let busy = session
                    .exec(s2, move |st, now| st.db(db).contains(&d, now))
                    .await
                    .unwrap_or(true);
                if busy {
                    return Ok(false);
                }
            }
            let s = src.clone();
            // Each shard raises its key's events in Redis's order (`new` and
            // `rename_to` on the destination, `rename_from` on the source);
            // a subscriber may see the two shards' messages interleaved.
            let moved = session
                .exec(s1, move |st, now| {
                    let d = st.db(db);
                    let moved = take_entry(d, &s, now);
                    if moved.is_some() {
                        d.notify(GENERIC, "rename_from", &s);
                    }
                    moved
                })
                .await
                .ok()
                .flatten()
                .ok_or(errors::NO_SUCH_KEY)?;
            let d = dst.clone();
            let _ = session
                .exec(s2, move |st, now| {
                    let dbr = st.db(db);
                    put_entry(dbr, &d, moved, now);
                    dbr.notify(GENERIC, "rename_to", &d);
                    blocking::signal(st, db, &d, now);
                })
                .await;
            Ok(true)
        }
        .await;
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| reply(w, r))
    });
    Ok(())
}

fn rename(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    rename_generic(ctx, req, false)
}

fn renamenx(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    rename_generic(ctx, req, true)
}

fn copy(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut replace = false;
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let ndbs = ctx.shard.state.borrow().dbs.len();
    let mut a = Args::new(req, 3);
    while !a.is_empty() {
        let opt = a.next()?;
        if is(opt, "REPLACE") {
            replace = true;
        } else if is(opt, "DB") && !a.is_empty() {
            let v = parse_i64(a.next()?)?;
            dst_db = usize::try_from(v)
                .ok()
                .filter(|&i| i < ndbs)
                .ok_or(errors::DB_INDEX)?;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let src = req.arg_bytes(1);
    let dst = req.arg_bytes(2);
    if src_db == dst_db && src == dst {
        return Err(errors::SAME_OBJECT);
    }
    let (s1, s2) = (ctx.owner(&src), ctx.owner(&dst));
    if s1 == s2 {
        let keys = [src.clone(), dst.clone()];
        ctx.run(s1, &keys, move |x| {
            let now = x.now;
            let value =
                x.st.db(src_db)
                    .read(&src, now, true)
                    .map(|e| (e.value().clone(), e.expire_at));
            let Some(moved) = value else {
                x.w.int(0);
                x.st.aof.suppress();
                return;
            };
            let d = x.st.db(dst_db);
            if d.contains(&dst, now) && !replace {
                x.w.int(0);
                x.st.aof.suppress();
                return;
            }
            put_entry(d, &dst, moved, now);
            d.notify(GENERIC, "copy_to", &dst);
            blocking::signal(x.st, dst_db, &dst, now);
            x.w.int(1);
        });
        return Ok(());
    }
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let locks = vec![
            (s1, LockSet::of_keys(src_db, [&src[..]], Mode::Read)),
            (s2, LockSet::of_keys(dst_db, [&dst[..]], Mode::Write)),
        ];
        let Ok(session) = Session::lock(&home, owner, locks).await else {
            return encode(proto, |w| w.error(b"ERR shard unavailable"));
        };
        let s = src.clone();
        let value = session
            .exec(s1, move |st, now| {
                st.db(src_db)
                    .read(&s, now, true)
                    .map(|e| (e.value().clone(), e.expire_at))
            })
            .await
            .ok()
            .flatten();
        let done = match value {
            None => 0,
            Some(moved) => {
                let d = dst.clone();
                session
                    .exec(s2, move |st, now| {
                        let db = st.db(dst_db);
                        if db.contains(&d, now) && !replace {
                            return 0;
                        }
                        put_entry(db, &d, moved, now);
                        db.notify(GENERIC, "copy_to", &d);
                        blocking::signal(st, dst_db, &d, now);
                        1
                    })
                    .await
                    .unwrap_or(0)
            }
        };
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| w.int(done))
    });
    Ok(())
}

fn move_cmd(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ndbs = ctx.shard.state.borrow().dbs.len();
    let target = parse_i64(req.arg(2))?;
    let target = i32::try_from(target).map_err(|_| errors::NOT_INTEGER)?;
    let target = usize::try_from(target)
        .ok()
        .filter(|&i| i < ndbs)
        .ok_or(errors::DB_INDEX)?;
    let src_db = ctx.db();
    if target == src_db {
        return Err(errors::SAME_OBJECT);
    }
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        if !x.st.db(src_db).contains(key, now) || x.st.db(target).contains(key, now) {
            x.w.int(0);
            x.st.aof.suppress();
            return;
        }
        let Some(moved) = take_entry(x.st.db(src_db), key, now) else {
            x.w.int(0);
            x.st.aof.suppress();
            return;
        };
        // Redis's order: `new` and `move_to` in the target database with
        // `move_from` in the source between them (published in raise order).
        put_entry(x.st.db(target), key, moved, now);
        x.st.db(src_db).notify(GENERIC, "move_from", key);
        x.st.db(target).notify(GENERIC, "move_to", key);
        blocking::signal(x.st, target, key, now);
        x.w.int(1);
    });
    Ok(())
}

// ---- OBJECT ----

fn object_generic(
    ctx: &mut Ctx<'_>,
    req: &Request,
    what: fn(&Entry, &mut resp::ReplyWriter<'_>, i64, bool),
) -> CmdResult {
    ctx.run_key(req.arg_bytes(2), move |x, key| {
        let now = x.now;
        let lfu =
            x.st.config
                .get("maxmemory-policy")
                .is_some_and(|p| p.contains("lfu"));
        let (db, w) = x.split();
        match db.get(key, now) {
            None => w.null(),
            Some(e) => what(e, w, now, lfu),
        }
    });
    Ok(())
}

fn object_encoding(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    object_generic(ctx, req, |e, w, _, _| {
        w.bulk(e.value().encoding().as_bytes())
    })
}

fn object_refcount(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    // Redis shares the objects of small integers (0..9999) and reports them
    // with refcount INT_MAX.
    object_generic(ctx, req, |e, w, _, _| match e.value() {
        Value::Str(RStr::Int(i)) if (0..10000).contains(i) => w.int(i64::from(i32::MAX)),
        _ => w.int(1),
    })
}

const LFU_ERR: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LRU_ERR: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

fn object_idletime(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    object_generic(ctx, req, |e, w, now, lfu| {
        if lfu {
            w.error(LRU_ERR.as_bytes());
        } else {
            w.int(i64::try_from(e.idle_secs(now)).unwrap_or(i64::MAX));
        }
    })
}

fn object_freq(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    object_generic(ctx, req, |_, w, _, lfu| {
        if lfu {
            w.int(0);
        } else {
            w.error(LFU_ERR.as_bytes());
        }
    })
}

fn object_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "OBJECT",
        &[
            (
                "ENCODING <key>",
                "the internal representation of the value (int, embstr, raw, ...)",
            ),
            (
                "FREQ <key>",
                "the logarithmic access-frequency counter (LFU policies only)",
            ),
            (
                "IDLETIME <key>",
                "seconds since the key was last read or written",
            ),
            ("REFCOUNT <key>", "how many references the value has"),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

// ---- table ----

const KS: u32 = acl::KEYSPACE;
const OBJ_KEY: &[KeySpecDef] = &[KeySpecDef::range(&["RO"], 2, 0, 1, 0)];

const OBJECT_SUBS: &[CommandSpec] = &[
    CommandSpec::new("encoding", 3, object_encoding)
        .flags(READONLY)
        .acl(KS)
        .keys(2, 2, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(OBJ_KEY)
        .doc(
            "generic",
            "2.2.3",
            "Returns the internal encoding of a key's value.",
        ),
    CommandSpec::new("freq", 3, object_freq)
        .flags(READONLY)
        .acl(KS)
        .keys(2, 2, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(OBJ_KEY)
        .doc(
            "generic",
            "4.0.0",
            "Returns the logarithmic access frequency counter of a key.",
        ),
    CommandSpec::new("help", 2, object_help)
        .flags(LOADING | STALE)
        .acl(KS)
        .doc("generic", "6.2.0", "Lists the OBJECT subcommands."),
    CommandSpec::new("idletime", 3, object_idletime)
        .flags(READONLY)
        .acl(KS)
        .keys(2, 2, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(OBJ_KEY)
        .doc(
            "generic",
            "2.2.3",
            "Returns the seconds since a key was last accessed.",
        ),
    CommandSpec::new("refcount", 3, object_refcount)
        .flags(READONLY)
        .acl(KS)
        .keys(2, 2, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(OBJ_KEY)
        .doc(
            "generic",
            "2.2.3",
            "Returns the reference count of a key's value.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("type", 2, type_cmd)
        .flags(READONLY | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RO)
        .doc("generic", "1.0.0", "Returns the type of a key's value."),
    CommandSpec::new("expire", -3, expire)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc("generic", "1.0.0", "Sets a key's time to live in seconds."),
    CommandSpec::new("pexpire", -3, pexpire)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "generic",
            "2.6.0",
            "Sets a key's time to live in milliseconds.",
        ),
    CommandSpec::new("expireat", -3, expireat)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "generic",
            "1.2.0",
            "Sets a key's expiry as a Unix time in seconds.",
        ),
    CommandSpec::new("pexpireat", -3, pexpireat)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc(
            "generic",
            "2.6.0",
            "Sets a key's expiry as a Unix time in milliseconds.",
        ),
    CommandSpec::new("ttl", 2, ttl)
        .flags(READONLY | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "generic",
            "1.0.0",
            "Returns a key's remaining time to live in seconds.",
        ),
    CommandSpec::new("pttl", 2, pttl)
        .flags(READONLY | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(RO_ACCESS)
        .doc(
            "generic",
            "2.6.0",
            "Returns a key's remaining time to live in milliseconds.",
        ),
    CommandSpec::new("expiretime", 2, expiretime)
        .flags(READONLY | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "generic",
            "7.0.0",
            "Returns a key's expiry as a Unix time in seconds.",
        ),
    CommandSpec::new("pexpiretime", 2, pexpiretime)
        .flags(READONLY | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RO_ACCESS)
        .doc(
            "generic",
            "7.0.0",
            "Returns a key's expiry as a Unix time in milliseconds.",
        ),
    CommandSpec::new("persist", 2, persist)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(RW_UPDATE)
        .doc("generic", "2.2.0", "Removes a key's expiry."),
    CommandSpec::new("keys", 2, keys)
        .flags(READONLY)
        .acl(KS | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "nondeterministic_output_order"])
        .doc(
            "generic",
            "1.0.0",
            "Returns all key names matching a pattern.",
        ),
    CommandSpec::new("scan", -2, scan)
        .flags(READONLY)
        .acl(KS)
        .tips(&["nondeterministic_output", "request_policy:special"])
        .doc(
            "generic",
            "2.8.0",
            "Iterates over the key names in the database.",
        ),
    CommandSpec::new("randomkey", 1, randomkey)
        .flags(READONLY)
        .acl(KS)
        .tips(&["request_policy:all_shards", "nondeterministic_output"])
        .doc(
            "generic",
            "1.0.0",
            "Returns a random key name from the database.",
        ),
    CommandSpec::new("rename", 3, rename)
        .flags(WRITE)
        .acl(KS)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
            KeySpecDef::range(&["OW", "UPDATE"], 2, 0, 1, 0),
        ])
        .doc(
            "generic",
            "1.0.0",
            "Renames a key, overwriting the destination.",
        ),
    CommandSpec::new("renamenx", 3, renamenx)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
            KeySpecDef::range(&["OW", "INSERT"], 2, 0, 1, 0),
        ])
        .doc(
            "generic",
            "1.0.0",
            "Renames a key only when the new name does not exist.",
        ),
    CommandSpec::new("copy", -3, copy)
        .flags(WRITE | DENYOOM)
        .acl(KS)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RO", "ACCESS"], 1, 0, 1, 0),
            KeySpecDef::range(&["OW", "UPDATE"], 2, 0, 1, 0),
        ])
        .doc("generic", "6.2.0", "Copies a key's value to another key."),
    CommandSpec::new("move", 3, move_cmd)
        .flags(WRITE | FAST)
        .acl(KS)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "UPDATE"], 1, 0, 1, 0)])
        .doc("generic", "1.0.0", "Moves a key to another database."),
    CommandSpec::container("object", -2, OBJECT_SUBS).doc(
        "generic",
        "2.2.3",
        "Inspects the internals of keys' values.",
    ),
];

/// Keep `Bytes` in scope for doc links.
#[allow(dead_code)]
type KeyBytes = Bytes;
