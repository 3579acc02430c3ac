//! Commands: the table, dispatch, and one file per command family.
//!
//! | module | owns |
//! |---|---|
//! | [`spec`] | the row type (`CommandSpec`), flags, ACL categories, key specs |
//! | [`table`] | the assembled table (single source of truth), name lookup |
//! | [`ctx`] | what handlers work with: `Ctx`, `Conn`, the pipeline `Batch` |
//! | [`access`] | typed read/modify of aggregate values (WRONGTYPE, empty → deleted) |
//! | [`args`] | argument cursor and Redis-exact number parsing |
//! | [`errors`] | every wire error text |
//! | [`connection`] | PING ECHO HELLO AUTH SELECT QUIT RESET |
//! | [`client`] | CLIENT * |
//! | [`string`] | GET SET ... INCRBYFLOAT (LCS in [`lcs`]) |
//! | [`bitmap`] | SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD(_RO) |
//! | [`hll`] | PFADD PFCOUNT PFMERGE (format: [`crate::hll`]) |
//! | [`multikey`] | MGET MSET MSETNX DEL UNLINK EXISTS TOUCH (cross-shard through the tx layer) |
//! | [`hash`] | HSET HGET ... HRANDFIELD HSCAN |
//! | [`set`] | SADD SREM ... SINTERCARD SSCAN (multi-key ones across shards) |
//! | [`elemscan`] | the option parsing and reply shared by HSCAN / SSCAN |
//! | [`list`] | LPUSH ... LPOS LMOVE LMPOP |
//! | [`blocking`] | BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP |
//! | [`zset`] | ZADD ... ZRANDMEMBER ZSCAN (one key) |
//! | [`zrange`] | ZRANGE grammar: score/lex bounds, REV, LIMIT, selection, reply shapes |
//! | [`zset_multi`] | ZUNION ZINTER ZDIFF (+STORE) ZINTERCARD ZRANGESTORE ZMPOP |
//! | [`keys`] | TYPE EXPIRE* TTL* PERSIST KEYS SCAN RANDOMKEY RENAME COPY OBJECT MOVE |
//! | [`multi`] | MULTI EXEC DISCARD WATCH UNWATCH (queueing happens in [`dispatch`]) |
//! | [`pubsub`] | (P|S)SUBSCRIBE (P|S)UNSUBSCRIBE PUBLISH SPUBLISH PUBSUB |
//! | [`replication`] | REPLICAOF SLAVEOF ROLE (a master without replicas until replication exists) |
//! | [`scripting`] | EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (the interpreter: [`crate::script`]) |
//! | [`function`] | FCALL FCALL_RO FUNCTION * |
//! | [`dump`] | DUMP RESTORE (payloads: [`crate::rdb`]) |
//! | [`server`] | DBSIZE FLUSHDB FLUSHALL SWAPDB TIME DEBUG SHUTDOWN |
//! | [`persistence`] | SAVE LASTSAVE (snapshot files: [`crate::server::snapshot`]) |
//! | [`config`] | CONFIG GET SET RESETSTAT REWRITE |
//! | [`info`] | INFO, LATENCY HISTOGRAM's handler |
//! | [`latency`] | SLOWLOG, LATENCY (the slow log and latency monitor: [`crate::shard::slowlog`]) |
//! | [`monitor`] | MONITOR and the line every dispatched command feeds it |
//! | [`introspect`] | COMMAND and its subcommands |
//!
//! Dispatch order follows Redis's `processCommand`: unknown command, then
//! unknown subcommand, then arity, then authentication, then the handler.

pub mod access;
pub mod args;
pub mod bitmap;
pub mod blocking;
pub mod client;
pub mod config;
pub mod connection;
pub mod ctx;
pub mod dump;
pub mod elemscan;
pub mod errors;
pub mod function;
pub mod hash;
pub mod hll;
pub mod info;
pub mod introspect;
pub mod keys;
pub mod latency;
pub mod lcs;
pub mod list;
pub mod monitor;
pub mod multi;
pub mod multikey;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod spec;
pub mod string;
pub mod table;
pub mod zrange;
pub mod zset;
pub mod zset_multi;

use crate::clock::Instant;
use ctx::{Batch, Conn, Ctx, Outcome, ReplyMode};
use errors::CmdError;
use resp::{ReplyWriter, Request};
use spec::{flags, CmdId};
use std::rc::Rc;

use crate::shard::Shard;

fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = i64::try_from(argc).unwrap_or(i64::MAX);
    let arity = i64::from(arity);
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

/// Reply with an error before running the command (and count it as
/// rejected). Inside MULTI this also dooms the transaction (EXECABORT).
fn reject(shard: &Rc<Shard>, conn: &mut Conn, batch: &mut Batch, id: Option<CmdId>, err: CmdError) {
    if let Some(q) = conn.multi.as_mut() {
        q.dirty = true;
    }
    let suppressed = conn.reply_mode != ReplyMode::On;
    let target = batch.target();
    let start = target.len();
    ReplyWriter::new(target, conn.proto).error(err.text().as_bytes());
    let reply = target.get(start..).unwrap_or(&[]);
    shard.state.borrow_mut().stats.reject(id, reply);
    batch.finish_immediate(start, suppressed);
}

/// A HELP reply: a title, then `usage - what it does` per subcommand, as
/// status strings (the shape Redis uses; the words are ours).
pub fn help_reply(ctx: &mut Ctx<'_>, command: &str, entries: &[(&str, &str)]) {
    let mut w = ctx.w();
    w.array(entries.len() + 1);
    w.simple(format!("{command} <subcommand> [<arg> ...]; subcommands:").as_bytes());
    for (usage, what) in entries {
        w.simple(format!("{usage} - {what}").as_bytes());
    }
}

/// The CLIENT PAUSE that holds `req` back right now, if any: the end time.
pub fn paused_until(shard: &Shard, req: &Request) -> Option<i64> {
    let pause = shard.state.borrow().pause?;
    let now = crate::clock::now_ms();
    if pause.until <= now {
        return None;
    }
    let t = table::table();
    let id = t.lookup(req.name())?;
    let entry = t.get(id);
    let spec = match t.lookup_sub(id, req.arg(1)) {
        Some(sid) if !entry.spec.subcommands.is_empty() => t.get(sid).spec,
        _ => entry.spec,
    };
    // Like Redis: under ALL every command waits (even CLIENT UNPAUSE);
    // under WRITE only commands that write or may replicate.
    let blocked = pause.all || spec.has(flags::WRITE) || spec.has(flags::MAY_REPLICATE);
    blocked.then_some(pause.until)
}

/// Look a request up and run it: its reply joins `batch` in order.
pub fn dispatch(shard: &Rc<Shard>, conn: &mut Conn, batch: &mut Batch, req: &Request) {
    let t = table::table();
    let name = req.name();
    let Some(mut id) = t.lookup(name) else {
        let args: Vec<&[u8]> = req.iter().skip(1).collect();
        reject(
            shard,
            conn,
            batch,
            None,
            errors::unknown_command(name, &args),
        );
        return;
    };
    let top = id;
    let mut entry = t.get(id);
    if !entry.spec.subcommands.is_empty() && (req.len() >= 2 || entry.spec.handler.is_none()) {
        if req.len() < 2 {
            reject(
                shard,
                conn,
                batch,
                Some(id),
                errors::wrong_arity(&entry.fullname),
            );
            return;
        }
        match t.lookup_sub(id, req.arg(1)) {
            Some(sid) => {
                id = sid;
                entry = t.get(sid);
            }
            None => {
                reject(
                    shard,
                    conn,
                    batch,
                    Some(id),
                    errors::unknown_subcommand(req.arg(1), entry.spec.name),
                );
                return;
            }
        }
    }
    let spec = entry.spec;
    if !arity_ok(spec.arity, req.len()) {
        reject(
            shard,
            conn,
            batch,
            Some(id),
            errors::wrong_arity(&entry.fullname),
        );
        return;
    }
    if !conn.authenticated && !spec.has(flags::NO_AUTH) {
        reject(shard, conn, batch, Some(id), errors::NOAUTH);
        return;
    }
    if let Some(kind) = crate::script::run::busy() {
        if !spec.has(flags::ALLOW_BUSY) {
            let e = match kind {
                crate::script::run::Kind::Eval => errors::BUSY_EVAL,
                crate::script::run::Kind::Function => errors::BUSY_FUNCTION,
            };
            reject(shard, conn, batch, Some(id), e);
            return;
        }
    }
    if let Some(e) = pubsub::check_subscribed_mode(conn, t.get(top).spec.name, &entry.fullname) {
        reject(shard, conn, batch, Some(id), e);
        return;
    }
    // Writes (and PING, as Redis does) are refused while persistence fails.
    let persistence_failing = || {
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        if shard.shared.persistence.refuse_writes.load(relaxed) {
            Some(errors::BGSAVE_ERR)
        } else if shard.shared.aof.failing.load(relaxed) > 0 {
            Some(errors::CmdError::owned(crate::aof::misconf_now(
                &shard.shared.aof,
            )))
        } else {
            None
        }
    };
    if spec.has(flags::WRITE) || spec.name == "ping" {
        if let Some(e) = persistence_failing() {
            reject(shard, conn, batch, Some(id), e);
            return;
        }
    }
    conn.info.last_cmd.set(entry.fullname.as_str());
    if conn.multi.is_some() && !multi::runs_inside_multi(t.get(top).spec.name) {
        if spec.has(flags::NO_MULTI) {
            reject(shard, conn, batch, Some(id), multi::not_allowed());
            return;
        }
        if let Some(q) = conn.multi.as_mut() {
            q.cmds.push(req.clone());
            let n = i32::try_from(q.cmds.len()).unwrap_or(i32::MAX);
            conn.info.multi.set(n);
        }
        let suppressed = conn.reply_mode != ReplyMode::On;
        let target = batch.target();
        let start = target.len();
        ReplyWriter::new(target, conn.proto).simple(b"QUEUED");
        batch.finish_immediate(start, suppressed);
        return;
    }
    let Some(handler) = spec.handler else {
        return;
    };
    let info = &conn.info;
    info.tot_cmds.set(info.tot_cmds.get() + 1);

    let suppressed_before = conn.reply_mode != ReplyMode::On;
    let skip_consumed = conn.reply_mode == ReplyMode::SkipNext;
    let start = batch.target().len();
    let t0 = Instant::now();
    let lsn0 = shard.state.borrow().aof.lsn();
    let mut ctx = Ctx::new(shard, conn, batch, id, spec, t0, req);
    let res = handler(&mut ctx, req);
    let outcome = ctx.outcome;
    let suppress_self = ctx.suppress_self;
    // One clock read per command: the inline run measured itself already.
    let ran_for = ctx.ran_for.unwrap_or_else(|| t0.elapsed());
    // Records appended here and now: the reply waits for them (group commit).
    let lsn = shard.state.borrow().aof.lsn();
    if lsn != lsn0 {
        batch.aof_need = lsn;
    }
    // After the handler, like Redis: SELECT shows the new database.
    monitor::feed(shard, conn, spec, req);
    match res {
        Err(ref e) => {
            let target = batch.target();
            ReplyWriter::new(target, conn.proto).error(e.text().as_bytes());
            let reply = target.get(start..).unwrap_or(&[]);
            shard.state.borrow_mut().stats.record(id, ran_for, reply);
        }
        Ok(()) if outcome == Outcome::Immediate => {
            let reply = batch.target().get(start..).unwrap_or(&[]);
            shard.state.borrow_mut().stats.record(id, ran_for, reply);
        }
        Ok(()) => {}
    }
    if res.is_err() || matches!(outcome, Outcome::Immediate | Outcome::Executed) {
        crate::shard::slowlog::observe(shard, spec, ran_for, req, &conn.info);
    }
    let suppressed = suppress_self.unwrap_or(suppressed_before);
    match (&res, outcome) {
        (Err(_), _) | (Ok(()), Outcome::Immediate | Outcome::Executed) => {
            batch.finish_immediate(start, suppressed)
        }
        (Ok(()), Outcome::Queued | Outcome::Async) => {
            if suppressed {
                batch.suppress_last(outcome);
            }
        }
    }
    if skip_consumed && conn.reply_mode == ReplyMode::SkipNext {
        conn.reply_mode = ReplyMode::On;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arity_rules() {
        assert!(arity_ok(2, 2));
        assert!(!arity_ok(2, 3));
        assert!(arity_ok(-3, 3));
        assert!(arity_ok(-3, 9));
        assert!(!arity_ok(-3, 2));
    }

    #[test]
    fn table_is_consistent() {
        let t = table::table();
        let mut names = std::collections::HashSet::new();
        for (_, e) in t.all() {
            assert!(names.insert(e.fullname.clone()), "duplicate {}", e.fullname);
            assert_eq!(e.spec.name, e.spec.name.to_ascii_lowercase());
            assert!(!e.spec.summary.is_empty(), "{} has no summary", e.fullname);
            if e.spec.handler.is_none() {
                assert!(!e.spec.subcommands.is_empty());
            }
            let keyed = e.spec.first_key > 0 || e.spec.has(flags::MOVABLE_KEYS);
            assert_eq!(
                keyed,
                !e.spec.key_specs.is_empty(),
                "{} key specs",
                e.fullname
            );
        }
        assert!(t.lookup(b"GeT").is_some());
        assert!(t.lookup(b"nope").is_none());
    }
}
