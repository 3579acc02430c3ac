//! Server commands: DBSIZE FLUSHDB FLUSHALL SWAPDB TIME DEBUG SHUTDOWN
//! (whose final save is [`crate::server::snapshot::save`]).
//!
//! Keyspace-wide writes (FLUSHDB, FLUSHALL, SWAPDB) take a whole-shard
//! exclusive lock on every shard, in order, so they are atomic with respect
//! to multi-shard transactions; DBSIZE sums the shards' counts.

use super::args::{is, parse_i64, parse_i64_or};
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec};
use crate::config::DebugAccess;
use crate::keyspace::{Entry, LruClock, RStr, Value};
use crate::shard::locks::Mode;
use crate::shard::tx::Session;
use resp::Request;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn dbsize(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let db = ctx.db();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let counts = home
            .broadcast(move |s| s.state.borrow_mut().db(db).len())
            .await;
        encode(proto, |w| {
            w.int(i64::try_from(counts.iter().sum::<usize>()).unwrap_or(i64::MAX))
        })
    });
    Ok(())
}

fn flush_flags(req: &Request) -> CmdResult {
    match req.len() {
        1 => Ok(()),
        2 if is(req.arg(1), "SYNC") || is(req.arg(1), "ASYNC") => Ok(()),
        _ => Err(errors::SYNTAX),
    }
}

/// Run `f` on every shard under a whole-shard write lock, then reply OK.
fn on_all_shards_locked<F>(ctx: &mut Ctx<'_>, f: F)
where
    F: Fn(&mut crate::shard::ShardState) + Send + Clone + 'static,
{
    let home: Rc<crate::shard::Shard> = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let Ok(session) = Session::lock_all(&home, owner, Mode::Write).await else {
            return encode(proto, |w| w.error(b"ERR shard unavailable"));
        };
        for s in 0..home.count {
            let g = f.clone();
            let _ = session.exec(s, move |st, _| g(st)).await;
        }
        if session.release().await.is_err() {
            return crate::aof::failed_reply(&home, proto);
        }
        encode(proto, |w| w.ok())
    });
}

fn flushdb(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    flush_flags(req)?;
    let db = ctx.db();
    on_all_shards_locked(ctx, move |st| st.db(db).clear());
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    flush_flags(req)?;
    on_all_shards_locked(ctx, |st| {
        for db in &mut st.dbs {
            db.clear();
        }
    });
    Ok(())
}

fn swapdb(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let a = parse_i64_or(req.arg(1), CmdError::fixed("ERR invalid first DB index"))?;
    let b = parse_i64_or(req.arg(2), CmdError::fixed("ERR invalid second DB index"))?;
    let (a, b) = (
        i32::try_from(a).map_err(|_| CmdError::fixed("ERR invalid first DB index"))?,
        i32::try_from(b).map_err(|_| CmdError::fixed("ERR invalid second DB index"))?,
    );
    let n = ctx.shard.state.borrow().dbs.len();
    let ok = |i: i32| usize::try_from(i).ok().filter(|&i| i < n);
    let (Some(a), Some(b)) = (ok(a), ok(b)) else {
        return Err(errors::DB_INDEX);
    };
    on_all_shards_locked(ctx, move |st| {
        let (lo, hi) = (a.min(b), a.max(b));
        if lo != hi {
            if let Some([x, .., y]) = st.dbs.get_mut(lo..=hi) {
                x.swap(y);
            }
        }
        // Every shard logs it for its own databases.
        let (sa, sb) = (a.to_string(), b.to_string());
        st.aof.effect(0, &[b"SWAPDB", sa.as_bytes(), sb.as_bytes()]);
    });
    Ok(())
}

fn time(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let us = crate::clock::now_us();
    let mut w = ctx.w();
    w.array(2);
    w.bulk((us / 1_000_000).to_string().as_bytes());
    w.bulk((us % 1_000_000).to_string().as_bytes());
    Ok(())
}

// ---- DEBUG ----

fn debug_sleep(ctx: &mut Ctx<'_>, secs: f64) {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    let d = Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
    // Redis freezes its only thread; Shoal freezes every shard's thread, so
    // the whole server stalls the same way.
    ctx.run_async(async move {
        home.broadcast(move |_| std::thread::sleep(d)).await;
        encode(proto, |w| w.ok())
    });
}

fn debug_populate(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let count = parse_i64(req.arg(2))?;
    if count < 0 {
        return Err(CmdError::fixed(
            "ERR count must be greater than or equal to zero",
        ));
    }
    let prefix = if req.len() > 3 {
        req.arg(3).to_vec()
    } else {
        b"key".to_vec()
    };
    let size = if req.len() > 4 {
        let s = parse_i64(req.arg(4))?;
        Some(
            usize::try_from(s)
                .map_err(|_| CmdError::fixed("ERR size must be greater than or equal to zero"))?,
        )
    } else {
        None
    };
    let db = ctx.db();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    let count = u64::try_from(count).unwrap_or(0);
    ctx.run_async(async move {
        let shards = home.count;
        home.broadcast(move |s| {
            let mut st = s.state.borrow_mut();
            let now = crate::clock::now_ms();
            let d = st.db(db);
            for i in 0..count {
                let key = [&prefix[..], b":", i.to_string().as_bytes()].concat();
                if crate::shard::owner_of(&key, shards) != s.id || d.contains(&key, now) {
                    continue;
                }
                let mut val = format!("value:{i}").into_bytes();
                if let Some(size) = size {
                    val.resize(size, 0);
                }
                let value = Value::Str(RStr::from_bytes(&val));
                d.insert_entry(Entry::new(&key, value, 0, LruClock::at(now)));
            }
        })
        .await;
        encode(proto, |w| w.ok())
    });
    Ok(())
}

fn debug_object(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(2), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match db.get(key, now) {
            None => w.error(b"ERR no such key"),
            Some(e) => {
                let v = e.value();
                let len = crate::rdb::dump_payload(v, true).len().saturating_sub(11);
                let line = format!(
                    "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                    v.encoding(),
                    len,
                    e.lru_clock(),
                    e.idle_secs(now)
                );
                w.simple(line.as_bytes());
            }
        }
    });
    Ok(())
}

fn debug(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let access = ctx.shard.state.borrow().config.enable_debug;
    let allowed = match access {
        DebugAccess::Yes => true,
        DebugAccess::Local => ctx.conn.is_local,
        DebugAccess::No => false,
    };
    if !allowed {
        return Err(errors::DEBUG_DISABLED);
    }
    let sub = req.arg(1);
    if is(sub, "SLEEP") && req.len() == 3 {
        // Redis reads the duration with atof: junk means 0.
        let secs = super::args::atof(req.arg(2));
        debug_sleep(ctx, secs);
    } else if is(sub, "POPULATE") && (3..=5).contains(&req.len()) {
        debug_populate(ctx, req)?;
    } else if is(sub, "OBJECT") && req.len() == 3 {
        debug_object(ctx, req)?;
    } else if is(sub, "HELP") {
        super::help_reply(
            ctx,
            "DEBUG",
            &[
                (
                    "SLEEP <seconds>",
                    "freeze every shard for that long (decimals allowed)",
                ),
                (
                    "POPULATE <count> [<prefix>] [<size>]",
                    "create string keys <prefix>:0.. with values value:0.. (padded to <size>)",
                ),
                ("OBJECT <key>", "low-level facts about a key's value"),
                ("HELP", "this list"),
            ],
        );
    } else {
        return Err(errors::subcommand_syntax(sub, "debug"));
    }
    Ok(())
}

// ---- SHUTDOWN ----

/// # Format
/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`: saves first when
/// asked to, or when save points are configured and NOSAVE is not given;
/// a failed save keeps the server running (`-ERR Errors trying to
/// SHUTDOWN. Check logs.`) unless FORCE. Success has no reply: the
/// connection closes as the process exits.
fn shutdown(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (mut abort, mut nosave, mut save, mut force) = (false, false, false, false);
    for opt in req.iter().skip(1) {
        if is(opt, "ABORT") {
            abort = true;
        } else if is(opt, "NOSAVE") {
            nosave = true;
        } else if is(opt, "SAVE") {
            save = true;
        } else if is(opt, "FORCE") {
            force = true;
        } else if !is(opt, "NOW") {
            return Err(errors::SYNTAX);
        }
    }
    if (abort && req.len() > 2) || (nosave && save) {
        return Err(errors::SYNTAX);
    }
    if abort {
        return Err(CmdError::fixed("ERR No shutdown in progress."));
    }
    // A busy script holds every shard (a save would wait for it): like
    // Redis, only SHUTDOWN NOSAVE goes through then; anything else is BUSY.
    if let (false, Some(kind)) = (nosave, crate::script::run::busy()) {
        return Err(match kind {
            crate::script::run::Kind::Eval => errors::BUSY_EVAL,
            crate::script::run::Kind::Function => errors::BUSY_FUNCTION,
        });
    }
    log::warn!("User requested shutdown...");
    let config = ctx.shard.state.borrow().config.clone();
    if !save && (nosave || !crate::server::snapshot::save_points_configured(&config)) {
        ctx.shard.shared.shutdown.store(true, Ordering::SeqCst);
        // Like Redis, no reply: the connection closes as the process exits.
        ctx.set_suppress_self(true);
        ctx.conn.close_after_reply = true;
        return Ok(());
    }
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        log::info!("Saving the final RDB snapshot before exiting.");
        let saved = crate::server::snapshot::save(&home, 0).await;
        if saved.is_err() && !force {
            log::warn!("Error trying to save the DB, can't exit.");
            return encode(proto, |w| {
                w.error(errors::SHUTDOWN_FAILED.text().as_bytes())
            });
        }
        home.shared.shutdown.store(true, Ordering::SeqCst);
        Vec::new()
    });
    Ok(())
}

// ---- table ----

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dbsize", 1, dbsize)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .tips(&["request_policy:all_shards", "response_policy:agg_sum"])
        .doc(
            "server",
            "1.0.0",
            "Returns the number of keys in the database.",
        ),
    CommandSpec::new("flushdb", -1, flushdb)
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            "server",
            "1.0.0",
            "Removes all keys from the current database.",
        ),
    CommandSpec::new("flushall", -1, flushall)
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("server", "1.0.0", "Removes all keys from all databases."),
    CommandSpec::new("swapdb", 3, swapdb)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .doc("server", "4.0.0", "Swaps two databases."),
    CommandSpec::new("time", 1, time)
        .flags(LOADING | STALE | FAST)
        .tips(&["nondeterministic_output"])
        .doc("server", "2.6.0", "Returns the server time."),
    CommandSpec::new("debug", -2, debug)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED)
        .doc(
            "server",
            "1.0.0",
            "Debugging helpers (SLEEP, POPULATE, OBJECT).",
        ),
    CommandSpec::new("shutdown", -1, shutdown)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY)
        .doc("server", "1.0.0", "Stops the server."),
];
