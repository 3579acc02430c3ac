//! Persistence commands: SAVE LASTSAVE (SHUTDOWN's save is in [`super::server`]).
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
