//! Running one script invocation (EVAL, EVALSHA, FCALL and their _RO forms).
//!
//! Protocol:
//! 1. Take the run's [`Scope`]: every shard whole (a script may touch keys
//!    it did not declare), or the one shard of its declared keys when
//!    [`super::scope`] proved it keeps to them (the command layer ships
//!    the call there). Locks are taken in shard order on behalf of the
//!    caller (inside EXEC the caller already holds them and re-enters);
//!    [`try_now`] takes a free local lock without waiting and runs the
//!    script inside the command handler.
//! 2. Resume the runner coroutine (prelude.lua). `redis.call` (a C
//!    function, [`super::call`]) comes back to [`execute`]: checks, then
//!    dispatch as the script's own client (RESP2 until `redis.setresp(3)`,
//!    the caller's database and lock owner). A reply ready at once goes
//!    straight back to Lua; otherwise the script yields and [`settle`]
//!    awaits the command, then the script resumes with its reply.
//! 3. The count hook ([`super::control`]) watches the clock: past
//!    `busy-reply-threshold` the script pauses at safe points so the shard
//!    serves other connections (which get BUSY) and SCRIPT KILL can reach it.
//! 4. Convert the result ([`finish`]), unlock.
//!
//! IMPORTANT: one script runs per shard at a time (a run always holds its
//! shard's whole-shard lock), so the run context lives in thread-locals
//! that the hook and `redis.call` read.

use super::call::Step;
use super::control::{announce_busy, hook, is_done, may_yield, user_frame, CONTROL};
pub use super::control::{busy, done_token, install_hook, kill, lua_keep, lua_mark};
use super::convert;
use super::vm::Vm;
use crate::clock::Instant;
use crate::command::ctx::{Batch, Conn};
use crate::shard::clients::ClientInfo;
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::Session;
use crate::shard::Shard;
use bytes::Bytes;
use mlua::ffi;
use mlua::{Function, Lua, MultiValue, Table, ThreadStatus, Value};
use resp::{Frame, Proto, ReplyWriter, Request};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A script position: chunk name (`@user_script`) and line.
pub(super) type Position = (Vec<u8>, i64);

/// `redis.setresp`: the protocol of the running script's client.
pub(super) fn set_script_proto(proto: Proto) {
    RUN.with(|r| {
        if let Some(c) = r.borrow_mut().as_mut() {
            c.conn.proto = proto;
        }
    });
}

/// Which family runs: SCRIPT KILL stops EVALs, FUNCTION KILL functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// EVAL / EVALSHA.
    Eval,
    /// FCALL.
    Function,
}

/// Who runs a script: what the script's client copies from the caller's
/// connection (a copy, so the reply can be a plain future).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// Client id.
    pub id: u64,
    /// SELECTed database.
    pub db: usize,
    /// The caller's protocol, for the reply.
    pub proto: Proto,
    /// The time the caller's command was read (Unix ms).
    pub now_ms: i64,
    /// Nonzero while the caller runs EXEC: its lock owner.
    pub exec_owner: u64,
}

impl Caller {
    /// The caller behind `conn`.
    pub fn of(conn: &Conn) -> Caller {
        Caller {
            id: conn.id,
            db: conn.db,
            proto: conn.proto,
            now_ms: conn.now_ms,
            exec_owner: conn.exec_owner,
        }
    }
}

/// Which shards a run holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every shard (a script that may touch any key).
    AllShards,
    /// Only this one, where every declared key lives and where the script
    /// runs; touching any other shard stops it (see [`Ran::retry`]).
    One(crate::shard::ShardId),
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Ran {
    /// The encoded reply.
    pub reply: Vec<u8>,
    /// The script touched what its scope did not cover (a key on another
    /// shard, a keyspace-wide command): run it with every shard from now on.
    pub strayed: bool,
    /// It strayed before writing anything and was stopped: run it again
    /// with every shard held (`reply` is empty).
    pub retry: bool,
}

/// One call to run.
#[derive(Clone)]
pub struct Invocation {
    /// The compiled body (EVAL) or the registered function (FCALL).
    pub func: Function,
    /// EVAL or FCALL.
    pub kind: Kind,
    /// The SHA1 (EVAL) or function name (FCALL), for error messages.
    pub name: String,
    /// KEYS.
    pub keys: Vec<Bytes>,
    /// ARGV.
    pub args: Vec<Bytes>,
    /// EVAL_RO / FCALL_RO / `no-writes`: write commands fail.
    pub read_only: bool,
    /// The command as sent, for FUNCTION STATS (functions only).
    pub argv: Option<Vec<Bytes>>,
}

/// The function running on this shard, if any: its name, its FCALL as
/// sent, and how long it has run (FUNCTION STATS' `running_script`).
pub fn running_function() -> Option<(String, Vec<Bytes>, u64)> {
    let (name, argv) = CONTROL.with(|c| c.running.borrow().clone())?;
    let ms = CONTROL
        .with(|c| c.started.get())
        .map_or(0, |t| t.elapsed().as_millis() as u64);
    Some((name, argv, ms))
}

/// What SCRIPT KILL / FUNCTION KILL found on a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillOutcome {
    /// Nothing of that kind runs.
    NotBusy,
    /// Asked to stop.
    Killed,
    /// It wrote already; only SHUTDOWN NOSAVE stops it.
    Unkillable,
    /// A script of the other kind runs.
    OtherKind(Kind),
}

/// A `redis.call` still in flight.
struct Pending {
    fut: Pin<Box<dyn Future<Output = Batch>>>,
    raise: bool,
    /// The Lua state that yielded (an error is raised in it on resume).
    thread: usize,
    /// Where the script called: its user frame's source and line.
    at: Option<(Vec<u8>, i64)>,
}

struct RunCtx {
    shard: Rc<Shard>,
    conn: Conn,
    read_only: bool,
    scope: Scope,
    pending: Option<Pending>,
}

thread_local! {
    static RUN: RefCell<Option<RunCtx>> = const { RefCell::new(None) };
}

/// A Lua value as command-argument bytes (numbers as `%.17g`).
pub(super) fn lua_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(resp::numfmt::g17(*n).into_bytes()),
        _ => None,
    }
}

/// A command that must wait, called where the script cannot be suspended.
const CANNOT_WAIT: &str = "Shoal: this command must wait for another shard, which a script cannot do inside its own coroutine, a metamethod or a table.sort comparator";

/// Marks the refusal that stops a strayed script (never shown).
const ABORT: &str = "abort";

/// True when every key of the command lives on `home` (and it is not a
/// keyspace-wide command, which needs every shard).
fn within(
    ctx: &RunCtx,
    id: crate::command::spec::CmdId,
    spec: &crate::command::spec::CommandSpec,
    argv: &[Vec<u8>],
    home: crate::shard::ShardId,
) -> bool {
    use crate::command::spec::flags;
    if spec.key_specs.is_empty() {
        return !(spec.has(flags::WRITE) || spec.has(flags::READONLY));
    }
    if matches!(spec.name, "move" | "copy") {
        return false;
    }
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    match crate::command::introspect::key_positions(id, &refs) {
        Ok(pos) => pos
            .iter()
            .all(|&p| refs.get(p).is_none_or(|k| ctx.shard.owner(k) == home)),
        Err(_) => false,
    }
}

/// Check a script's command like Redis's `scriptCall`; the error text on refusal.
fn admit(ctx: &RunCtx, argv: &[Vec<u8>]) -> Result<(), &'static str> {
    use crate::command::spec::flags;
    if CONTROL.with(|c| c.abort.get()) {
        // Stopped for a rerun with every shard: nothing more may run.
        return Err(ABORT);
    }
    let t = crate::command::table::table();
    let name = argv.first().map_or(&[][..], |a| a.as_slice());
    let Some(mut id) = t.lookup(name) else {
        return Err("Unknown Redis command called from script");
    };
    if !t.get(id).spec.subcommands.is_empty() && argv.len() >= 2 {
        match t.lookup_sub(id, argv.get(1).map_or(&[][..], |a| a.as_slice())) {
            Some(sid) => id = sid,
            None => return Err("Unknown Redis command called from script"),
        }
    }
    let spec = t.get(id).spec;
    let argc = i64::try_from(argv.len()).unwrap_or(i64::MAX);
    let arity = i64::from(spec.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err("Wrong number of args calling Redis command from script");
    }
    if spec.has(flags::NOSCRIPT) {
        return Err("This Redis command is not allowed from script");
    }
    if let Scope::One(home) = ctx.scope {
        if !within(ctx, id, spec, argv, home) {
            CONTROL.with(|c| c.strayed.set(true));
            if !CONTROL.with(|c| c.wrote.get()) {
                CONTROL.with(|c| c.abort.set(true));
                return Err(ABORT);
            }
            return Err("Shoal: the script touched a key on another shard than its declared keys after writing; declare every key it uses in KEYS (it runs holding every shard from now on)");
        }
    }
    if spec.has(flags::WRITE) {
        if ctx.read_only {
            return Err("Write commands are not allowed from read-only scripts.");
        }
        CONTROL.with(|c| c.wrote.set(true));
    }
    Ok(())
}

/// Run one `redis.call` for the script (see [`super::call`]): checks,
/// dispatch as the script's client, then the reply at once or
/// [`Step::Pending`]. `thread` is the calling Lua state, resumed later.
pub(super) fn execute(argv: Vec<Vec<u8>>, raise: bool, thread: usize) -> Step {
    RUN.with(|cell| {
        let mut guard = cell.borrow_mut();
        let Some(ctx) = guard.as_mut() else {
            return Step::Refuse("redis.call/pcall can only be called inside a script invocation");
        };
        if let Err(text) = admit(ctx, &argv) {
            if text == ABORT {
                if may_yield(thread) {
                    // Yield with nothing in flight: the resume loop stops here.
                    return Step::Pending;
                }
                return Step::Refuse(CANNOT_WAIT);
            }
            return Step::Refuse(text);
        }
        let req = Request::from_args(argv);
        let mut batch = Batch::spare(ctx.shard.count);
        batch.client = Some(ctx.conn.info.clone());
        CONTROL.with(|c| c.in_call.set(true));
        crate::command::dispatch(&ctx.shard, &mut ctx.conn, &mut batch, &req);
        CONTROL.with(|c| c.in_call.set(false));
        let resp3 = ctx.conn.proto == Proto::Resp3;
        if batch.is_settled() {
            let reply = decode_reply(&batch.out);
            batch.recycle();
            return Step::Reply(reply, resp3);
        }
        if !may_yield(thread) {
            // Nothing of a command that did not settle has run yet (its
            // jobs and barrier are only sent when awaited): refuse it.
            return Step::Refuse(CANNOT_WAIT);
        }
        let shard = ctx.shard.clone();
        ctx.pending = Some(Pending {
            fut: Box::pin(async move {
                batch.flush(&shard).await;
                batch
            }),
            raise,
            thread,
            // SAFETY: `thread` is running the C function that called us.
            at: unsafe { user_frame(thread as *mut ffi::lua_State) },
        });
        Step::Pending
    })
}

/// The one reply in `out` (a null if there is none).
fn decode_reply(out: &[u8]) -> Frame {
    match resp::decode::decode(out) {
        Ok(Some((f, _))) => f,
        _ => Frame::Null,
    }
}

/// The script's client: the caller's database and id, RESP2, inside the
/// caller's locks.
fn script_conn(caller: &Caller, owner: u64) -> Conn {
    let info = ClientInfo::new(caller.id, "lua".into(), String::new(), -1, caller.now_ms);
    Conn::detached(Rc::new(info), caller.db, Proto::Resp2, caller.now_ms, owner)
}

fn string_table(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, b) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(b)?)?;
    }
    Ok(t)
}

/// How a run ended.
enum End {
    Returned(MultiValue),
    Killed,
    Retry,
    Failed(String),
}

/// The locks a run holds.
enum Held {
    /// Taken through the transaction layer (may span shards).
    Session(Session),
    /// This shard's whole-shard lock, taken without waiting.
    Local(LockSet),
}

impl Held {
    /// Release, committing the run's AOF unit when it owns it (`commit`:
    /// not inside EXEC, whose unit it joins); false when its records could
    /// not be made durable.
    async fn release(self, shard: &Rc<Shard>, commit: Option<u64>) -> bool {
        match self {
            Held::Session(s) => s.release().await.is_ok(),
            Held::Local(set) => match release_local(shard, &set, commit) {
                Some(end) => crate::aof::wait_ack(shard, end).await.is_ok(),
                None => true,
            },
        }
    }
}

/// Release this shard's lock, committing unit `commit` to the AOF first;
/// returns the committed block's end.
fn release_local(shard: &Rc<Shard>, set: &LockSet, commit: Option<u64>) -> Option<u64> {
    let mut st = shard.state.borrow_mut();
    let end = match commit {
        Some(unit) if st.aof.on() => st.aof.commit_unit(unit, None).map(|(_, e)| e),
        _ => None,
    };
    st.locks.release(set);
    end
}

/// The AOF unit a run commits (None inside EXEC: the EXEC commits it).
fn own_unit(caller: &Caller) -> Option<u64> {
    (caller.exec_owner == 0).then(|| lock_owner(caller))
}

/// `ran` with its reply replaced by the write error when `logged` failed.
fn checked(shard: &Rc<Shard>, caller: &Caller, ran: Ran, logged: bool) -> Ran {
    if logged {
        return ran;
    }
    Ran {
        reply: crate::aof::failed_reply(shard, caller.proto),
        ..ran
    }
}

fn lock_owner(caller: &Caller) -> u64 {
    if caller.exec_owner != 0 {
        caller.exec_owner
    } else {
        caller.id.max(1)
    }
}

/// Run `inv` for `caller` and return the encoded reply (in the caller's
/// protocol). Awaits: locks, commands on other shards, time-limit pauses.
pub async fn invoke(
    shard: &Rc<Shard>,
    caller: Caller,
    vm: &Vm,
    inv: Invocation,
    scope: Scope,
) -> Ran {
    let owner = lock_owner(&caller);
    let parts = match scope {
        Scope::AllShards => (0..shard.count)
            .map(|s| (s, LockSet::whole_shard(Mode::Write)))
            .collect(),
        Scope::One(s) => vec![(s, LockSet::whole_shard(Mode::Write))],
    };
    let locked = if caller.exec_owner == 0 {
        Session::lock_unit(shard, owner, parts).await
    } else {
        Session::lock(shard, owner, parts).await
    };
    let Ok(session) = locked else {
        return Ran {
            reply: super::super::command::ctx::encode(caller.proto, |w| {
                w.error(b"ERR shard unavailable")
            }),
            ..Ran::default()
        };
    };
    let end = match begin(shard, &caller, vm, &inv, owner, scope) {
        Ok((thread, args)) => drive(shard, vm, inv.kind, thread, Some(args)).await,
        Err(end) => end,
    };
    let ran = finish(shard, &caller, &inv, end);
    let logged = Held::Session(session).release(shard, None).await;
    checked(shard, &caller, ran, logged)
}

/// What [`try_now`] achieved.
pub enum Now {
    /// The script ran to its end without waiting: here is its outcome.
    Done(Ran),
    /// It started and now waits (a pause, a command that waits): the rest,
    /// which also reruns it with every shard if it strays.
    Later(Pin<Box<dyn Future<Output = Ran>>>),
    /// It could not start without waiting for a lock: use [`invoke`].
    Blocked(Invocation),
    /// It strayed out of this shard before writing: run it again with
    /// every shard held ([`invoke`] with [`Scope::AllShards`]).
    Retry(Invocation),
}

/// Run `inv` on this shard right away when its scope is only this shard
/// and that shard's lock is free: no future, no hop, and the reply is
/// ready in the caller's pipeline like any inline command's. A script that
/// then has to wait continues as a future.
pub fn try_now(shard: &Rc<Shard>, caller: Caller, vm: &Vm, inv: Invocation, scope: Scope) -> Now {
    let local = match scope {
        Scope::One(s) => s == shard.id,
        Scope::AllShards => shard.count == 1,
    };
    if !local || RUN.with(|r| r.borrow().is_some()) {
        return Now::Blocked(inv);
    }
    let owner = lock_owner(&caller);
    let set = LockSet::whole_shard(Mode::Write).owned_by(owner);
    if !shard.state.borrow_mut().locks.try_acquire(&set) {
        return Now::Blocked(inv);
    }
    let (thread, args) = match begin(shard, &caller, vm, &inv, owner, scope) {
        Ok(p) => p,
        Err(end) => {
            let ran = finish(shard, &caller, &inv, end);
            // The caller's pipeline waits for what this appended.
            release_local(shard, &set, own_unit(&caller));
            return Now::Done(ran);
        }
    };
    match turn(vm, &thread, args) {
        Turn::Done(end) => {
            let ran = finish(shard, &caller, &inv, end);
            release_local(shard, &set, own_unit(&caller));
            if ran.retry {
                Now::Retry(inv)
            } else {
                Now::Done(ran)
            }
        }
        Turn::Yielded => {
            let shard = shard.clone();
            let vm = vm.clone();
            Now::Later(Box::pin(async move {
                let end = drive(&shard, &vm, inv.kind, thread, None).await;
                let ran = finish(&shard, &caller, &inv, end);
                let logged = Held::Local(set).release(&shard, own_unit(&caller)).await;
                let ran = checked(&shard, &caller, ran, logged);
                if !ran.retry {
                    return ran;
                }
                let again = invoke(&shard, caller, &vm, inv, Scope::AllShards).await;
                Ran {
                    strayed: true,
                    ..again
                }
            }))
        }
    }
}

/// Clean up after a run and encode its reply.
fn finish(shard: &Rc<Shard>, caller: &Caller, inv: &Invocation, end: End) -> Ran {
    let strayed = CONTROL.with(|c| c.strayed.replace(false));
    CONTROL.with(|c| c.abort.set(false));
    let script_resp3 = RUN.with(|r| {
        r.borrow_mut()
            .take()
            .is_some_and(|c| c.conn.proto == Proto::Resp3)
    });
    if CONTROL.with(|c| c.busy.get()) {
        announce_busy(shard, None);
    }
    let kill_line = CONTROL.with(|c| {
        c.started.set(None);
        c.kind.set(None);
        c.busy.set(false);
        c.kill.set(false);
        c.last_pause.set(None);
        c.running.borrow_mut().take();
        c.marked.borrow_mut().clear();
        c.raise_next.borrow_mut().take();
        c.kill_line.get()
    });
    let source = match inv.kind {
        Kind::Eval => "@user_script",
        Kind::Function => "@user_function",
    };
    let mut out = Vec::new();
    let mut w = ReplyWriter::new(&mut out, caller.proto);
    match end {
        End::Returned(vals) => {
            let mut it = vals.into_iter();
            let ok = matches!(it.next(), Some(Value::Boolean(true)));
            let v = it.next().unwrap_or(Value::Nil);
            if ok {
                convert::write_reply(&mut w, &v, script_resp3);
            } else {
                let src = it.next();
                let line = it.next();
                w.error(&error_reply(&v, &inv.name, src.as_ref(), line.as_ref()));
            }
        }
        End::Killed => {
            // Redis says SCRIPT KILL for functions too.
            w.error(
                format!(
                    "ERR Script killed by user with SCRIPT KILL... script: {}, on {source}:{kill_line}.",
                    inv.name
                )
                .as_bytes(),
            );
        }
        End::Failed(e) => w.error(format!("ERR Error running script: {e}").as_bytes()),
        End::Retry => {
            return Ran {
                reply: Vec::new(),
                strayed: true,
                retry: true,
            }
        }
    }
    Ran {
        reply: out,
        strayed,
        retry: false,
    }
}

/// Set up the run context and the runner thread; the thread and the
/// arguments of its first resume.
fn begin(
    shard: &Rc<Shard>,
    caller: &Caller,
    vm: &Vm,
    inv: &Invocation,
    owner: u64,
    scope: Scope,
) -> Result<(mlua::Thread, MultiValue), End> {
    if RUN.with(|r| r.borrow().is_some()) {
        return Err(End::Failed(
            "another script is running on this shard".into(),
        ));
    }
    let threshold = shard.state.borrow().config.busy_reply_threshold;
    RUN.with(|r| {
        *r.borrow_mut() = Some(RunCtx {
            shard: shard.clone(),
            conn: script_conn(caller, owner),
            read_only: inv.read_only,
            scope,
            pending: None,
        })
    });
    CONTROL.with(|c| {
        *c.running.borrow_mut() = inv.argv.clone().map(|a| (inv.name.clone(), a));
        c.started.set(Some(Instant::now()));
        c.threshold_ms.set(threshold);
        c.kind.set(Some(inv.kind));
        c.kill.set(false);
        c.wrote.set(false);
        c.busy.set(false);
        c.kill_line.set(0);
    });
    let lua = &vm.lua;
    let prepared = (|| -> mlua::Result<(mlua::Thread, MultiValue)> {
        let keys = string_table(lua, &inv.keys)?;
        let args = string_table(lua, &inv.args)?;
        let mut first = vec![Value::Function(inv.func.clone())];
        match inv.kind {
            Kind::Eval => {
                vm.globals.raw_set("KEYS", keys)?;
                vm.globals.raw_set("ARGV", args)?;
                first.push(Value::String(lua.create_string("@user_script")?));
            }
            Kind::Function => {
                first.push(Value::String(lua.create_string("@user_function")?));
                first.push(Value::Table(keys));
                first.push(Value::Table(args));
            }
        }
        let thread = match vm.take_runner() {
            Some(t) if t.status() == ThreadStatus::Resumable => t,
            _ => {
                // A new runner (and worker): forget the old ones' marks.
                CONTROL.with(|c| c.kept.borrow_mut().clear());
                let t = lua.create_thread(vm.runner.clone())?;
                lua_keep(lua, t.clone())?;
                t
            }
        };
        Ok((thread, MultiValue::from_vec(first)))
    })();
    prepared.map_err(|e| End::Failed(e.to_string()))
}

/// One resume of the runner.
enum Turn {
    Done(End),
    Yielded,
}

fn turn(vm: &Vm, thread: &mlua::Thread, args: MultiValue) -> Turn {
    let vals = match thread.resume::<MultiValue>(args) {
        Ok(v) => v,
        Err(e) => return Turn::Done(End::Failed(e.to_string())),
    };
    if vals.front().is_some_and(is_done) {
        // A strayed script stopped by an error (its yield was refused
        // inside a C boundary) is retried all the same.
        if CONTROL.with(|c| c.abort.get()) {
            return Turn::Done(End::Retry);
        }
        // The runner waits for the next invocation: keep it.
        vm.put_runner(thread.clone());
        let mut vals = vals.into_vec();
        vals.remove(0);
        return Turn::Done(End::Returned(MultiValue::from_vec(vals)));
    }
    if thread.status() != ThreadStatus::Resumable {
        return Turn::Done(End::Failed("the script runner stopped".into()));
    }
    Turn::Yielded
}

/// Resume until the end (`first`: the first resume's arguments, or None
/// when the script has just yielded and that yield is settled first).
async fn drive(
    shard: &Rc<Shard>,
    vm: &Vm,
    kind: Kind,
    thread: mlua::Thread,
    first: Option<MultiValue>,
) -> End {
    let mut announced = false;
    let mut args = first;
    loop {
        if let Some(a) = args.take() {
            if let Turn::Done(end) = turn(vm, &thread, a) {
                return end;
            }
        }
        match settle(shard, vm, kind, &mut announced).await {
            Ok(a) => args = Some(a),
            Err(end) => return end,
        }
    }
}

/// After a yield: finish the command the script waits for (or pause, or
/// stop it); the arguments of the next resume.
async fn settle(
    shard: &Rc<Shard>,
    vm: &Vm,
    kind: Kind,
    announced: &mut bool,
) -> Result<MultiValue, End> {
    let lua = &vm.lua;
    let pending = RUN.with(|r| r.borrow_mut().as_mut().and_then(|c| c.pending.take()));
    let Some(p) = pending else {
        if CONTROL.with(|c| c.abort.get()) {
            return Err(End::Retry);
        }
        if CONTROL.with(|c| c.kill.get()) {
            return Err(End::Killed);
        }
        if !*announced && CONTROL.with(|c| c.busy.get()) {
            *announced = true;
            announce_busy(shard, Some(kind));
        }
        // Past the time limit: let the shard serve others a while.
        glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        return Ok(MultiValue::new());
    };
    let batch = p.fut.await;
    let resp3 = RUN.with(|r| {
        r.borrow()
            .as_ref()
            .is_some_and(|c| c.conn.proto == Proto::Resp3)
    });
    match decode_reply(&batch.out) {
        Frame::Error(e) if p.raise => {
            // redis.call raises: the hook does it in the script's frame at
            // its first instruction.
            let mut text = b"-".to_vec();
            text.extend_from_slice(&e);
            CONTROL.with(|c| *c.raise_next.borrow_mut() = Some((text, p.at)));
            // SAFETY: `p.thread` is the suspended state that yielded;
            // setting its hook is allowed while suspended.
            unsafe {
                ffi::lua_sethook(
                    p.thread as *mut ffi::lua_State,
                    Some(hook),
                    ffi::LUA_MASKCOUNT,
                    1,
                );
            }
            Ok(MultiValue::new())
        }
        frame => match super::call::frame_value(lua, &frame, resp3) {
            Ok(v) => Ok(MultiValue::from_vec(vec![v])),
            Err(e) => Err(End::Failed(e.to_string())),
        },
    }
}

/// The innermost Lua error message of an mlua error.
fn innermost(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => innermost(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The error reply of a failed script: Redis's `-<msg> script: <name>, on
/// <source>:<line>.`
fn error_reply(err: &Value, name: &str, src: Option<&Value>, line: Option<&Value>) -> Vec<u8> {
    let located = |s: &Value, l: &Value| -> Option<(String, i64)> {
        let s = match s {
            Value::String(s) => s.to_string_lossy(),
            _ => return None,
        };
        let l = match l {
            Value::Integer(i) => *i,
            Value::Number(n) => *n as i64,
            _ => return None,
        };
        Some((s, l))
    };
    // A table raised with its own position (a call that finished after a
    // yield) keeps it; otherwise the innermost user frame at the error.
    let own = match err {
        Value::Table(t) => match (t.raw_get::<Value>("source"), t.raw_get::<Value>("line")) {
            (Ok(s), Ok(l)) => located(&s, &l),
            _ => None,
        },
        _ => None,
    };
    let loc = own.or_else(|| match (src, line) {
        (Some(s), Some(l)) => located(s, l),
        _ => None,
    });
    let short = |s: &str| s.trim_start_matches('@').to_string();
    let msg: Vec<u8> = match err {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.as_bytes().to_vec(),
            _ => b"ERR unknown error".to_vec(),
        },
        Value::String(s) => {
            let mut m = b"ERR ".to_vec();
            m.extend_from_slice(&s.as_bytes());
            m
        }
        Value::Error(e) => {
            let text = innermost(e);
            match text.strip_prefix('-') {
                Some(t) => t.as_bytes().to_vec(),
                None => match &loc {
                    Some((s, l)) => format!("ERR {}:{l}: {text}", short(s)).into_bytes(),
                    None => format!("ERR {text}").into_bytes(),
                },
            }
        }
        Value::Nil => b"ERR nil".to_vec(),
        Value::Boolean(b) => format!("ERR {b}").into_bytes(),
        Value::Integer(i) => format!("ERR {i}").into_bytes(),
        Value::Number(n) => format!("ERR {}", resp::numfmt::g17(*n)).into_bytes(),
        other => format!("ERR {}", other.type_name()).into_bytes(),
    };
    let mut out = msg;
    if let Some((s, l)) = loc {
        out.extend_from_slice(format!(" script: {name}, on {s}:{l}.").as_bytes());
    }
    out
}
