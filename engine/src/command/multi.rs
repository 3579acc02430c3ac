//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Queueing happens in [`super::dispatch`]: once MULTI is sent, every
//! command but EXEC DISCARD MULTI WATCH QUIT RESET is checked (unknown
//! command, arity, authentication, `no-multi`) and queued with `+QUEUED`;
//! a check that fails flags the transaction, and EXEC then answers
//! EXECABORT. Errors while the queued commands run do not stop the others.
//!
//! EXEC runs in the connection task ([`run_task`]), because it must hold
//! the connection while it replays the queue:
//! 1. lock, in ascending shard order, the keys of the queued commands and
//!    the watched keys, exclusively, on behalf of this client — whole shards
//!    for keyspace-wide commands or keys the table cannot place
//!    ([`crate::shard::locks`] re-entrancy);
//! 2. check the watched keys' versions ([`crate::keyspace::watch`]): a
//!    change since WATCH (a write from any shard's client, a delete, an
//!    expiry, FLUSHDB) turns EXEC into a null reply;
//! 3. dispatch the queued commands as a pipeline; their own intent locks
//!    and jobs carry this client as owner and re-enter the held locks;
//! 4. release, unwatch, reply with the array of replies.
//!
//! A transaction whose keys and watched keys all live on one other shard
//! (only keyed commands, no SELECT) is shipped there instead and runs all
//! four steps in one hop ([`exec_shipped`]).
//!
//! No other client observes a partial EXEC: every key it touches is held
//! for its whole duration; EXECs on other keys run alongside. Blocking commands inside EXEC do not block
//! (as in Redis, they time out at once).

use super::ctx::{Batch, Conn, Ctx};
use super::errors::{CmdError, CmdResult};
use super::spec::{acl, flags, flags::*, CommandSpec, KeySpecDef};
use super::table::table;
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::Session;
use crate::shard::{Shard, ShardId};
use bytes::Bytes;
use resp::{ReplyWriter, Request};
use std::rc::Rc;

/// The commands a MULTI has queued.
#[derive(Debug, Default)]
pub struct Queue {
    /// In arrival order.
    pub cmds: Vec<Request>,
    /// A command failed its checks while queueing: EXEC will abort.
    pub dirty: bool,
}

/// A key this connection WATCHes.
#[derive(Debug, Clone)]
pub struct Watched {
    shard: ShardId,
    db: usize,
    key: Bytes,
    /// The key's watch version when WATCH ran.
    version: u64,
    /// The key was already logically expired at WATCH time.
    expired: bool,
}

/// Work dispatch leaves for the connection task (it needs the connection
/// across awaits).
#[derive(Debug)]
pub enum ConnTask {
    /// Run this transaction and reply.
    Exec(Queue),
    /// Watch these keys, then reply OK.
    Watch(Vec<Bytes>),
    /// Drop every watch (the reply, if any, is already written).
    Unwatch,
}

/// Commands that act at once inside MULTI instead of being queued.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

const NOT_ALLOWED: CmdError = CmdError::fixed("ERR Command not allowed inside a transaction");
const EXECABORT: CmdError =
    CmdError::fixed("EXECABORT Transaction discarded because of previous errors.");

/// The error for a `no-multi` command sent inside MULTI.
pub fn not_allowed() -> CmdError {
    NOT_ALLOWED
}

fn multi(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::fixed("ERR MULTI calls can not be nested"));
    }
    ctx.conn.multi = Some(Queue::default());
    ctx.conn.info.multi.set(0);
    ctx.w().ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let Some(queue) = ctx.conn.multi.take() else {
        return Err(CmdError::fixed("ERR EXEC without MULTI"));
    };
    ctx.conn.info.multi.set(-1);
    if queue.dirty {
        ctx.conn.pending = Some(ConnTask::Unwatch);
        return Err(EXECABORT);
    }
    ctx.conn.pending = Some(ConnTask::Exec(queue));
    Ok(())
}

fn discard(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    if ctx.conn.multi.take().is_none() {
        return Err(CmdError::fixed("ERR DISCARD without MULTI"));
    }
    ctx.conn.info.multi.set(-1);
    ctx.conn.pending = Some(ConnTask::Unwatch);
    ctx.w().ok();
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::fixed("ERR WATCH inside MULTI is not allowed"));
    }
    let keys = (1..req.len()).map(|i| req.arg_bytes(i)).collect();
    ctx.conn.pending = Some(ConnTask::Watch(keys));
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    // Inside EXEC the watches are already gone.
    if ctx.conn.exec_owner == 0 && !ctx.conn.watched.is_empty() {
        ctx.conn.pending = Some(ConnTask::Unwatch);
    }
    ctx.w().ok();
    Ok(())
}

/// Run what dispatch left for the connection, appending any reply to `out`
/// (everything dispatched before it has been flushed into `out` already).
pub async fn run_task(shard: &Rc<Shard>, conn: &mut Conn, out: &mut Vec<u8>, task: ConnTask) {
    match task {
        ConnTask::Exec(queue) => run_exec(shard, conn, out, queue).await,
        ConnTask::Watch(keys) => {
            watch_keys(shard, conn, keys).await;
            ReplyWriter::new(out, conn.proto).ok();
        }
        ConnTask::Unwatch => unwatch_all(shard, conn).await,
    }
}

/// Group `(shard, item)` pairs by shard, in first-seen order.
fn by_shard<T>(items: impl IntoIterator<Item = (ShardId, T)>) -> Vec<(ShardId, Vec<T>)> {
    let mut groups: Vec<(ShardId, Vec<T>)> = Vec::new();
    for (s, item) in items {
        match groups.iter_mut().find(|(g, _)| *g == s) {
            Some((_, v)) => v.push(item),
            None => groups.push((s, vec![item])),
        }
    }
    groups
}

async fn watch_keys(shard: &Rc<Shard>, conn: &mut Conn, keys: Vec<Bytes>) {
    let db = conn.db;
    let fresh: Vec<Bytes> = keys
        .into_iter()
        .filter(|k| !conn.watched.iter().any(|w| w.db == db && w.key == *k))
        .fold(Vec::new(), |mut v, k| {
            if !v.contains(&k) {
                v.push(k);
            }
            v
        });
    for (s, ks) in by_shard(fresh.into_iter().map(|k| (shard.owner(&k), k))) {
        let sent = ks.clone();
        let seen = shard
            .call(s, move |sh| {
                let now = crate::clock::now_ms();
                let mut st = sh.state.borrow_mut();
                let d = st.db(db);
                sent.iter()
                    .map(|k| {
                        let expired = d.peek(k).is_some_and(|e| e.is_expired(now));
                        (d.watches.watch(k), expired)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        for (key, (version, expired)) in ks.into_iter().zip(seen) {
            conn.watched.push(Watched {
                shard: s,
                db,
                key,
                version,
                expired,
            });
        }
    }
}

/// Drop every watch of `conn` (EXEC, DISCARD, UNWATCH, RESET, disconnect).
pub async fn unwatch_all(shard: &Rc<Shard>, conn: &mut Conn) {
    let watched = std::mem::take(&mut conn.watched);
    for (s, ws) in by_shard(watched.into_iter().map(|w| (w.shard, w))) {
        let _ = shard
            .call(s, move |sh| {
                let mut st = sh.state.borrow_mut();
                for w in &ws {
                    st.db(w.db).watches.unwatch(&w.key);
                }
            })
            .await;
    }
}

/// True when some watched key of `ws` (all on the shard `st` belongs to)
/// changed since WATCH, or expired since then.
fn watches_broken(st: &mut crate::shard::ShardState, ws: &[Watched], now: i64) -> bool {
    ws.iter().any(|w| {
        let d = st.db(w.db);
        let expired_now = d.peek(&w.key).is_some_and(|e| e.is_expired(now));
        d.watches.version(&w.key) != Some(w.version) || (expired_now && !w.expired)
    })
}

/// What a queued command needs locked.
enum Need {
    /// Nothing (connection and server commands).
    Nothing,
    /// These keys, in the database then selected.
    Keys(Vec<Bytes>),
    /// Every shard whole: keyspace-wide commands, keys the table cannot
    /// place, and commands naming another database (MOVE, COPY ... DB).
    AllShards,
}

fn need_of(req: &Request) -> Need {
    let t = table();
    let Some(mut id) = t.lookup(req.name()) else {
        return Need::Nothing;
    };
    if !t.get(id).spec.subcommands.is_empty() {
        match t.lookup_sub(id, req.arg(1)) {
            Some(sid) => id = sid,
            None => return Need::Nothing,
        }
    }
    let spec = t.get(id).spec;
    if spec.key_specs.is_empty() {
        return if spec.has(flags::WRITE) || spec.has(flags::READONLY) {
            Need::AllShards
        } else {
            Need::Nothing
        };
    }
    if spec.has(flags::MOVABLE_KEYS)
        || spec.key_specs.len() > 1
        || matches!(spec.name, "move" | "copy")
    {
        return Need::AllShards;
    }
    let argv: Vec<&[u8]> = req.iter().collect();
    match super::introspect::key_positions(id, &argv) {
        Ok(pos) => Need::Keys(
            pos.into_iter()
                .filter_map(|p| argv.get(p).map(|k| Bytes::copy_from_slice(k)))
                .collect(),
        ),
        Err(_) => Need::AllShards,
    }
}

/// The locks EXEC takes, per shard: the keys of the queued commands and the
/// watched keys, exclusively; whole shards where a command needs them.
fn plan(shard: &Shard, queue: &Queue, db: usize, watched: &[Watched]) -> Vec<(ShardId, LockSet)> {
    let mut sets: Vec<Option<LockSet>> = (0..shard.count).map(|_| None).collect();
    let mut whole = vec![false; shard.count];
    let mut db = db;
    let add = |sets: &mut Vec<Option<LockSet>>, db: usize, key: &[u8]| {
        if let Some(slot) = sets.get_mut(shard.owner(key)) {
            slot.get_or_insert_with(LockSet::new)
                .key(db, key, Mode::Write);
        }
    };
    for req in &queue.cmds {
        if req.name().eq_ignore_ascii_case(b"select") {
            if let Some(i) =
                resp::numfmt::parse_i64(req.arg(1)).and_then(|i| usize::try_from(i).ok())
            {
                db = i;
            }
            continue;
        }
        match need_of(req) {
            Need::Nothing => {}
            Need::AllShards => whole.iter_mut().for_each(|w| *w = true),
            Need::Keys(keys) => keys.iter().for_each(|k| add(&mut sets, db, k)),
        }
    }
    for w in watched {
        add(&mut sets, w.db, &w.key);
    }
    sets.into_iter()
        .zip(whole)
        .enumerate()
        .filter_map(|(s, (set, whole))| {
            if whole {
                Some((s, LockSet::whole_shard(Mode::Write)))
            } else {
                set.map(|set| (s, set))
            }
        })
        .collect()
}

/// The one other shard that every queued command's keys and every watched
/// key live on, when the whole transaction can run there in one hop: only
/// keyed commands (no SELECT, nothing keyspace-wide, no connection
/// commands).
fn ship_target(shard: &Shard, queue: &Queue, watched: &[Watched]) -> Option<ShardId> {
    let mut target: Option<ShardId> = None;
    let mut same = |s: ShardId| *target.get_or_insert(s) == s;
    for req in &queue.cmds {
        match need_of(req) {
            Need::Keys(keys) if !keys.is_empty() => {
                if !keys.iter().all(|k| same(shard.owner(k))) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    if !watched.iter().all(|w| same(w.shard)) {
        return None;
    }
    target.filter(|&t| t != shard.id)
}

/// What a shipped EXEC needs of the client's connection.
struct Client {
    id: u64,
    db: usize,
    proto: resp::Proto,
    now_ms: i64,
    addr: String,
    laddr: String,
}

/// EXEC on the shard holding all its keys (see [`ship_target`]): lock,
/// check the watches, replay, release, unwatch — one hop from the client's
/// shard. The whole reply (the array of replies, or the write error), or
/// None when a watch broke.
async fn exec_shipped(
    ts: Rc<Shard>,
    client: Client,
    cmds: Vec<Request>,
    watched: Vec<Watched>,
) -> Option<Vec<u8>> {
    let owner = client.id.max(1);
    let queue = Queue { cmds, dirty: false };
    let locks = plan(&ts, &queue, client.db, &watched);
    let Ok(session) = Session::lock_unit(&ts, owner, locks).await else {
        return Some(super::ctx::encode(client.proto, |w| {
            w.error(b"ERR shard unavailable")
        }));
    };
    let broken = {
        let mut st = ts.state.borrow_mut();
        let now = crate::clock::now_ms();
        let broken = watches_broken(&mut st, &watched, now);
        for w in &watched {
            st.db(w.db).watches.unwatch(&w.key);
        }
        broken
    };
    if broken {
        let _ = session.release().await;
        return None;
    }
    let info = Rc::new(crate::shard::clients::ClientInfo::new(
        client.id,
        client.addr,
        client.laddr,
        -1,
        client.now_ms,
    ));
    let mut conn = Conn::detached(info.clone(), client.db, client.proto, client.now_ms, owner);
    let mut batch = Batch::spare(ts.count);
    batch.client = Some(info);
    for req in &queue.cmds {
        super::dispatch(&ts, &mut conn, &mut batch, req);
        if batch.has_barrier() {
            batch.flush(&ts).await;
        }
    }
    batch.flush(&ts).await;
    if session.release().await.is_err() {
        batch.recycle();
        return Some(crate::aof::failed_reply(&ts, client.proto));
    }
    let mut out = super::ctx::encode(client.proto, |w| w.array(queue.cmds.len()));
    out.extend_from_slice(&batch.out);
    batch.recycle();
    Some(out)
}

async fn run_exec(shard: &Rc<Shard>, conn: &mut Conn, out: &mut Vec<u8>, queue: Queue) {
    if let Some(s) = ship_target(shard, &queue, &conn.watched) {
        let client = Client {
            id: conn.id,
            db: conn.db,
            proto: conn.proto,
            now_ms: conn.now_ms,
            addr: conn.info.addr.clone(),
            laddr: conn.info.laddr.clone(),
        };
        let cmds = queue.cmds;
        // The watches live on `s` and end there.
        let watched = std::mem::take(&mut conn.watched);
        let r = shard
            .call_async(s, move |ts| exec_shipped(ts, client, cmds, watched))
            .await;
        conn.info.last_cmd.set("exec");
        let mut w = ReplyWriter::new(out, conn.proto);
        match r {
            Ok(Some(reply)) => out.extend_from_slice(&reply),
            Ok(None) => w.null_array(),
            Err(_) => w.error(b"ERR shard unavailable"),
        }
        return;
    }
    let locks = plan(shard, &queue, conn.db, &conn.watched);
    // Client ids start at 1, so the owner is never "nobody".
    let owner = conn.id.max(1);
    let Ok(session) = Session::lock_unit(shard, owner, locks).await else {
        ReplyWriter::new(out, conn.proto).error(b"ERR shard unavailable");
        return;
    };
    let mut broken = false;
    let watched = std::mem::take(&mut conn.watched);
    for (s, ws) in by_shard(watched.iter().cloned().map(|w| (w.shard, w))) {
        let r = session
            .exec(s, move |st, now| watches_broken(st, &ws, now))
            .await;
        if r.unwrap_or(true) {
            broken = true;
            break;
        }
    }
    conn.watched = watched;
    if broken {
        let _ = session.release().await;
        unwatch_all(shard, conn).await;
        ReplyWriter::new(out, conn.proto).null_array();
        return;
    }

    conn.exec_owner = owner;
    let mut batch = Batch::spare(shard.count);
    batch.client = Some(conn.info.clone());
    for req in &queue.cmds {
        super::dispatch(shard, conn, &mut batch, req);
        if batch.has_barrier() {
            batch.flush(shard).await;
        }
    }
    batch.flush(shard).await;
    conn.exec_owner = 0;
    conn.info.last_cmd.set("exec");
    let logged = session.release().await;
    unwatch_all(shard, conn).await;
    if logged.is_err() {
        out.extend_from_slice(&crate::aof::failed_reply(shard, conn.proto));
        batch.recycle();
        return;
    }
    ReplyWriter::new(out, conn.proto).array(queue.cmds.len());
    out.extend_from_slice(&batch.out);
    batch.recycle();
}

// ---- table ----

const TX: u32 = acl::TRANSACTION;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("multi", 1, multi)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(TX)
        .doc("transactions", "1.2.0", "Starts a transaction."),
    CommandSpec::new("exec", 1, exec)
        .flags(NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG)
        .acl(TX)
        .doc(
            "transactions",
            "1.2.0",
            "Executes all commands in a transaction.",
        ),
    CommandSpec::new("discard", 1, discard)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(TX)
        .doc("transactions", "2.0.0", "Discards a transaction."),
    CommandSpec::new("watch", -2, watch)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(TX)
        .keys(1, -1, 1)
        .key_specs(&[KeySpecDef::range(&["RO"], 1, -1, 1, 0)])
        .doc(
            "transactions",
            "2.2.0",
            "Monitors changes to keys to determine the execution of a transaction.",
        ),
    CommandSpec::new("unwatch", 1, unwatch)
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(TX)
        .doc(
            "transactions",
            "2.2.0",
            "Forgets about all watched keys of a transaction.",
        ),
];
