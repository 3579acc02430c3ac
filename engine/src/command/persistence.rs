//! Persistence commands: SAVE BGSAVE BGREWRITEAOF LASTSAVE WAITAOF (SHUTDOWN's save is in [`super::server`]).
//!
//! SAVE writes an RDB snapshot of every shard at one point in time; the
//! coordination and the file I/O live in [`crate::server::snapshot`], the
//! format in [`crate::rdb::file`]. BGSAVE starts [`crate::server::bgsave`]
//! (fork-less, incremental) and BGREWRITEAOF [`crate::aof::rewrite`] in the
//! background.

use super::ctx::{encode, Ctx};
use super::errors::{self, CmdResult};
use super::spec::{flags::*, CommandSpec};
use crate::server::snapshot;
use resp::Request;
use std::sync::atomic::Ordering;

/// # Format
/// `SAVE` → `+OK`, or `-ERR` when the file could not be written (the
/// reason is logged, as Redis does).
fn save(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    if ctx
        .shard
        .shared
        .persistence
        .bg_running
        .load(Ordering::SeqCst)
    {
        return Err(errors::CmdError::fixed(crate::server::bgsave::IN_PROGRESS));
    }
    ctx.run_async(async move {
        match snapshot::save(&home, owner).await {
            Ok(_) => encode(proto, |w| w.ok()),
            Err(_) => encode(proto, |w| w.error(errors::SAVE_FAILED.text().as_bytes())),
        }
    });
    Ok(())
}

/// # Format
/// `BGSAVE [SCHEDULE]` → `+Background saving started`; while an AOF
/// rewrite runs, `+Background saving scheduled` with SCHEDULE, else an
/// error; `-ERR Background save already in progress` while one runs.
fn bgsave(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let schedule = match req.len() {
        1 => false,
        2 if super::args::is(req.arg(1), "SCHEDULE") => true,
        _ => return Err(errors::SYNTAX),
    };
    let shared = &ctx.shard.shared;
    if shared.persistence.bg_running.load(Ordering::SeqCst) {
        return Err(errors::CmdError::fixed(crate::server::bgsave::IN_PROGRESS));
    }
    if shared.aof.rewriting.load(Ordering::SeqCst) {
        if !schedule {
            return Err(errors::CmdError::fixed(
                "ERR Another child process is active (AOF?): can't BGSAVE right now. \
                 Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
        crate::server::bgsave::spawn(ctx.shard.clone(), true);
        ctx.w().simple(b"Background saving scheduled");
        return Ok(());
    }
    if ctx.lock_owner() != 0 {
        // Inside EXEC: after it, as Redis schedules it.
        crate::server::bgsave::spawn(ctx.shard.clone(), true);
        ctx.w().simple(b"Background saving scheduled");
        return Ok(());
    }
    // The cut is taken before the reply: what is written after it is not
    // in the file (Redis forks before it answers).
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        match crate::server::bgsave::start(&home, 0).await {
            Ok(()) => encode(proto, |w| w.simple(b"Background saving started")),
            Err(e) => encode(proto, |w| w.error(format!("ERR {e}").as_bytes())),
        }
    });
    Ok(())
}

/// # Format
/// `BGREWRITEAOF` → `+Background append only file rewriting started`
/// (`scheduled` while a BGSAVE runs), or
/// `-ERR Background append only file rewriting already in progress`.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let g = &ctx.shard.shared.aof;
    if g.rewriting.load(Ordering::SeqCst) {
        return Err(errors::CmdError::fixed(crate::aof::rewrite::IN_PROGRESS));
    }
    crate::aof::rewrite::spawn(ctx.shard.clone());
    // It waits for a running BGSAVE (one image per database at a time).
    let msg: &[u8] = if ctx
        .shard
        .shared
        .persistence
        .bg_running
        .load(Ordering::SeqCst)
    {
        b"Background append only file rewriting scheduled"
    } else {
        b"Background append only file rewriting started"
    };
    ctx.w().simple(msg);
    Ok(())
}

/// # Format
/// `LASTSAVE` → Unix time of the last successful save (the start time
/// before any).
fn lastsave(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let t = ctx
        .shard
        .shared
        .persistence
        .last_save
        .load(Ordering::Relaxed);
    ctx.w().int(t);
    Ok(())
}

/// # Format
/// `WAITAOF numlocal numreplicas timeout` → `*2 :<local> :<replicas>`:
/// waits until everything this client wrote before is fsynced to the AOF
/// (`local` 1) and on `numreplicas` replicas, or `timeout` ms pass (0:
/// forever), then says how many of each are. Shoal has no replicas yet,
/// so `replicas` is 0 and a `numreplicas` above 0 waits for the timeout,
/// as Redis does with none connected. Every shard's log is waited for up
/// to what it held when WAITAOF arrived (the client's writes, maybe
/// others' too). In MULTI it answers at once.
fn waitaof(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let numlocal = super::args::parse_i64(req.arg(1))?;
    if !(0..=1).contains(&numlocal) {
        return Err(errors::CmdError::fixed(
            "ERR value is out of range, value must between 0 and 1",
        ));
    }
    let numreplicas = super::args::parse_i64(req.arg(2))?;
    if numreplicas < 0 {
        return Err(errors::CmdError::fixed(
            "ERR value is out of range, must be positive",
        ));
    }
    let timeout = super::args::parse_i64_or(
        req.arg(3),
        errors::CmdError::fixed("ERR timeout is not an integer or out of range"),
    )?;
    if timeout < 0 {
        return Err(errors::CmdError::fixed("ERR timeout is negative"));
    }
    let aof_on = ctx.shard.state.borrow().aof.on();
    if numlocal == 1 && !aof_on {
        return Err(errors::CmdError::fixed(
            "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
        ));
    }
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    // Redis answers at once when nothing is asked for, or inside MULTI.
    let block = ctx.conn.exec_owner == 0 && (numlocal == 1 || numreplicas > 0);
    ctx.run_async(async move {
        let mut local = None;
        if block {
            let satisfied = async {
                let synced = aof_on && local_synced(&home, true).await;
                local = Some(synced);
                if numreplicas > 0 || !synced {
                    // No replicas to count: only the timeout ends this.
                    std::future::pending::<()>().await;
                }
            };
            if timeout == 0 {
                satisfied.await;
            } else {
                let limit = std::time::Duration::from_millis(timeout as u64);
                futures_lite::future::or(satisfied, glommio::timer::sleep(limit)).await;
            }
        }
        let synced = match local {
            Some(s) => s,
            None => aof_on && local_synced(&home, false).await,
        };
        encode(proto, |w| {
            w.array(2);
            w.int(i64::from(synced));
            w.int(0);
        })
    });
    Ok(())
}

/// Whether every shard's log is synced up to what it held when asked;
/// with `wait`, after waiting for it. Every shard's end is taken first, so
/// waiting on one shard does not let the others' targets move on.
async fn local_synced(home: &std::rc::Rc<crate::shard::Shard>, wait: bool) -> bool {
    let mut ends = Vec::with_capacity(home.count);
    for s in 0..home.count {
        match home.call(s, |sh| sh.state.borrow().aof.lsn()).await {
            Ok(lsn) => ends.push(lsn),
            Err(_) => return false,
        }
    }
    let mut ok = true;
    for (s, lsn) in ends.into_iter().enumerate() {
        ok &= home
            .call_async(s, move |sh| async move {
                if wait {
                    crate::aof::wait_synced(&sh, lsn).await.is_ok()
                } else {
                    sh.state.borrow().aof.synced_to(lsn)
                }
            })
            .await
            .unwrap_or(false);
    }
    ok
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("save", 1, save)
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI)
        .doc(
            "server",
            "1.0.0",
            "Synchronously saves the database(s) to disk.",
        ),
    CommandSpec::new("bgsave", -1, bgsave)
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING)
        .doc(
            "server",
            "1.0.0",
            "Asynchronously saves the database(s) to disk.",
        ),
    CommandSpec::new("bgrewriteaof", 1, bgrewriteaof)
        .flags(NOSCRIPT | ADMIN | NO_ASYNC_LOADING)
        .doc(
            "server",
            "1.0.0",
            "Asynchronously rewrites the append-only file to disk.",
        ),
    CommandSpec::new("waitaof", 4, waitaof)
        .flags(BLOCKING)
        .acl(super::spec::acl::CONNECTION)
        .tips(&["request_policy:all_shards", "response_policy:agg_min"])
        .doc(
            "generic",
            "7.2.0",
            "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
        ),
    CommandSpec::new("lastsave", 1, lastsave)
        .flags(LOADING | STALE | FAST)
        .acl(super::spec::acl::ADMIN | super::spec::acl::DANGEROUS)
        .tips(&["nondeterministic_output"])
        .doc(
            "server",
            "1.0.0",
            "Returns the Unix timestamp of the last successful save to disk.",
        ),
];
