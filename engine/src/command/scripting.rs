//! EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL/DEBUG/HELP.
//!
//! The handlers parse and look the script up on the connection's shard;
//! running it is [`crate::script::run::invoke`], a barrier future of the
//! pipeline (it may wait for locks and other shards). A body compiled here
//! for the first time is sent to every other shard so EVALSHA works on any
//! connection; SCRIPT LOAD waits for every shard before it answers.

use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use crate::script::run::{self, Caller, Invocation, KillOutcome, Kind, Now, Ran, Scope};
use crate::shard::Shard;
use bytes::Bytes;
use resp::{ReplyWriter, Request};
use std::rc::Rc;

/// KEYS and ARGV of `EVAL body numkeys key... arg...` (also FCALL).
pub fn split_keys(req: &Request) -> Result<(Vec<Bytes>, Vec<Bytes>), CmdError> {
    let n = resp::numfmt::parse_i64(req.arg(2)).ok_or(errors::NOT_INTEGER)?;
    let avail = i64::try_from(req.len()).unwrap_or(i64::MAX) - 3;
    if n > avail {
        return Err(errors::NUMKEYS_TOO_MANY);
    }
    if n < 0 {
        return Err(errors::NUMKEYS_NEGATIVE);
    }
    let n = usize::try_from(n).unwrap_or(0);
    let keys = (3..3 + n).map(|i| req.arg_bytes(i)).collect();
    let args = (3 + n..req.len()).map(|i| req.arg_bytes(i)).collect();
    Ok((keys, args))
}

/// Compile `body` on every other shard (fire and forget).
fn load_elsewhere(shard: &Rc<Shard>, body: &Bytes) {
    let body = body.clone();
    shard.post_others(move |s| {
        let _ = s.scripting.load(&body);
    });
}

/// Where a shipped run finds its code on the other shard.
#[derive(Clone)]
pub(super) enum Code {
    /// An EVAL script: by SHA1, compiled from the body if missing.
    Script(String, Option<Bytes>),
    /// A function, by name.
    Function(String),
}

/// The scope of a run: the one shard of all its declared keys when the
/// code is `shippable` (proven to keep to them, and never seen straying);
/// every shard otherwise.
pub(super) fn scope_of(shard: &Shard, keys: &[Bytes], shippable: bool) -> Scope {
    let Some(first) = keys.first() else {
        return Scope::AllShards;
    };
    let s = shard.owner(first);
    if !shippable || keys.iter().any(|k| shard.owner(k) != s) {
        return Scope::AllShards;
    }
    Scope::One(s)
}

/// Run on the shard of `scope` (shipping the call there when it is not
/// this one), learn whether the code strays, and rerun it with every shard
/// when it strayed before writing.
pub(super) async fn run_scoped(
    shard: Rc<Shard>,
    caller: Caller,
    vm: crate::script::vm::Vm,
    inv: Invocation,
    code: Code,
    scope: Scope,
    strays: Rc<std::cell::Cell<bool>>,
) -> Vec<u8> {
    let ran = match scope {
        Scope::One(s) if s != shard.id => {
            let (keys, args, read_only) = (inv.keys.clone(), inv.args.clone(), inv.read_only);
            shard
                .call_async(s, move |ts| async move {
                    run_shipped(ts, caller, code, keys, args, read_only, s).await
                })
                .await
                .unwrap_or_else(|_| Ran {
                    reply: b"-ERR shard unavailable\r\n".to_vec(),
                    ..Ran::default()
                })
        }
        scope => run::invoke(&shard, caller, &vm, inv.clone(), scope).await,
    };
    if ran.strayed {
        strays.set(true);
    }
    if ran.retry {
        return run::invoke(&shard, caller, &vm, inv, Scope::AllShards)
            .await
            .reply;
    }
    ran.reply
}

/// Run an invocation: at once when it needs only this shard and nothing
/// is in its way (the reply joins the pipeline like an inline command's),
/// else as a barrier future ([`run_scoped`]).
pub(super) fn start(
    ctx: &mut Ctx<'_>,
    caller: Caller,
    vm: crate::script::vm::Vm,
    inv: Invocation,
    code: Code,
    scope: Scope,
    strays: Rc<std::cell::Cell<bool>>,
) {
    let shard = ctx.shard.clone();
    match run::try_now(&shard, caller, &vm, inv, scope) {
        Now::Done(ran) => {
            ctx.w().raw(&ran.reply);
        }
        Now::Later(fut) => ctx.run_async(async move {
            let ran = fut.await;
            if ran.strayed {
                strays.set(true);
            }
            ran.reply
        }),
        Now::Retry(inv) => {
            strays.set(true);
            ctx.run_async(run_scoped(
                shard,
                caller,
                vm,
                inv,
                code,
                Scope::AllShards,
                strays,
            ));
        }
        Now::Blocked(inv) => ctx.run_async(run_scoped(shard, caller, vm, inv, code, scope, strays)),
    }
}

/// The shipped half of [`run_scoped`], on the keys' shard.
async fn run_shipped(
    ts: Rc<Shard>,
    caller: Caller,
    code: Code,
    keys: Vec<Bytes>,
    args: Vec<Bytes>,
    read_only: bool,
    s: crate::shard::ShardId,
) -> Ran {
    let found = match &code {
        Code::Script(sha, body) => {
            let script = ts.scripting.script(sha).or_else(|| {
                body.as_ref()
                    .and_then(|b| ts.scripting.load(b).ok().map(|(_, s, _)| s))
            });
            script.map(|s| (s.func, Kind::Eval, sha.clone()))
        }
        Code::Function(name) => ts
            .scripting
            .functions
            .borrow()
            .get(name)
            .map(|f| (f.func, Kind::Function, name.clone())),
    };
    let vm = match code {
        Code::Script(..) => ts.scripting.vm(),
        Code::Function(_) => ts.scripting.function_vm(),
    };
    let (Some((func, kind, name)), Ok(vm)) = (found, vm) else {
        return Ran {
            reply: encode(caller.proto, |w| {
                w.error(errors::NOSCRIPT.text().as_bytes())
            }),
            ..Ran::default()
        };
    };
    let inv = Invocation {
        func,
        kind,
        name,
        keys,
        args,
        read_only,
        // Functions are never shipped (they hold every shard).
        argv: None,
    };
    let mut ran = match run::try_now(&ts, caller, &vm, inv, Scope::One(s)) {
        Now::Done(ran) => ran,
        Now::Later(rest) => rest.await,
        Now::Retry(_) => Ran {
            strayed: true,
            retry: true,
            ..Ran::default()
        },
        Now::Blocked(inv) => run::invoke(&ts, caller, &vm, inv, Scope::One(s)).await,
    };
    // What the script wrote here is acknowledged from here, as a remote
    // batch's writes are (appendfsync always: after its fdatasync).
    if !ran.retry && crate::aof::ack_logged(&ts).await.is_err() {
        ran.reply = crate::aof::failed_reply(&ts, caller.proto);
    }
    ran
}

fn eval_generic(ctx: &mut Ctx<'_>, req: &Request, by_sha: bool, read_only: bool) -> CmdResult {
    super::monitor::feed_script(ctx.shard, ctx.conn, req);
    let (keys, args) = split_keys(req)?;
    let scripting = &ctx.shard.scripting;
    let (name, script) = if by_sha {
        let sha = String::from_utf8_lossy(req.arg(1)).to_ascii_lowercase();
        match scripting.script(&sha) {
            Some(s) if sha.len() == 40 => (sha, s),
            _ => return Err(errors::NOSCRIPT),
        }
    } else {
        let text = req.arg_bytes(1);
        let (sha, s, new) = scripting.load(&text).map_err(CmdError::owned)?;
        if new {
            load_elsewhere(ctx.shard, &text);
        }
        (sha, s)
    };
    if read_only && script.flags.declared && !script.flags.no_writes {
        return Err(errors::RO_WRITE_FLAG);
    }
    let vm = scripting
        .vm()
        .map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    let scope = scope_of(
        ctx.shard,
        &keys,
        script.declared_only && !script.strays.get(),
    );
    // A shipped run compiles the body there if that shard has not yet.
    let body = match scope {
        Scope::One(s) if s != ctx.shard.id => ctx.shard.scripting.body(&name),
        _ => None,
    };
    let code = Code::Script(name.clone(), body);
    let inv = Invocation {
        func: script.func,
        kind: Kind::Eval,
        name,
        keys,
        args,
        read_only: read_only || script.flags.no_writes,
        argv: None,
    };
    let caller = Caller::of(ctx.conn);
    start(ctx, caller, vm, inv, code, scope, script.strays);
    Ok(())
}

fn eval(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    eval_generic(ctx, req, false, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    eval_generic(ctx, req, false, true)
}

fn evalsha(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    eval_generic(ctx, req, true, false)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    eval_generic(ctx, req, true, true)
}

fn script_load(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let body = req.arg_bytes(2);
    let (sha, _, _) = ctx.shard.scripting.load(&body).map_err(CmdError::owned)?;
    let shard = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        // Every shard has it before the client hears the SHA (here it is
        // already cached).
        shard
            .broadcast(move |s| {
                let _ = s.scripting.load(&body);
            })
            .await;
        super::ctx::encode(proto, |w| w.bulk(sha.as_bytes()))
    });
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let found: Vec<bool> = (2..req.len())
        .map(|i| {
            let sha = String::from_utf8_lossy(req.arg(i)).to_ascii_lowercase();
            ctx.shard.scripting.has(&sha)
        })
        .collect();
    let mut w = ctx.w();
    w.array(found.len());
    for f in found {
        w.int(i64::from(f));
    }
    Ok(())
}

/// `<container> FLUSH [ASYNC|SYNC]`: the mode, if any, is one of those.
pub(super) fn flush_mode_ok(req: &Request) -> bool {
    match req.len() {
        2 => true,
        3 => req.arg(2).eq_ignore_ascii_case(b"sync") || req.arg(2).eq_ignore_ascii_case(b"async"),
        _ => false,
    }
}

fn script_flush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if !flush_mode_ok(req) {
        return Err(errors::SCRIPT_FLUSH_MODE);
    }
    ctx.shard.scripting.flush();
    ctx.shard.post_others(|s| s.scripting.flush());
    ctx.w().ok();
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL: ask every shard; one of them may run it.
pub fn kill_everywhere(ctx: &mut Ctx<'_>, kind: Kind) -> CmdResult {
    let shard = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let outcomes = shard.broadcast(move |_| run::kill(kind)).await;
        let pick = |want: fn(&KillOutcome) -> bool| outcomes.iter().copied().find(want);
        let outcome = pick(|o| *o == KillOutcome::Killed)
            .or_else(|| pick(|o| *o == KillOutcome::Unkillable))
            .or_else(|| pick(|o| matches!(o, KillOutcome::OtherKind(_))))
            .unwrap_or(KillOutcome::NotBusy);
        super::ctx::encode(proto, |w: &mut ReplyWriter<'_>| match outcome {
            KillOutcome::Killed => w.ok(),
            KillOutcome::NotBusy => w.error(errors::NOTBUSY.text().as_bytes()),
            KillOutcome::Unkillable => w.error(errors::UNKILLABLE.text().as_bytes()),
            KillOutcome::OtherKind(Kind::Function) => {
                w.error(errors::BUSY_FUNCTION.text().as_bytes())
            }
            KillOutcome::OtherKind(Kind::Eval) => w.error(errors::BUSY_EVAL.text().as_bytes()),
        })
    });
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    kill_everywhere(ctx, Kind::Eval)
}

fn script_debug(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mode = req.arg(2);
    if mode.eq_ignore_ascii_case(b"no") {
        ctx.w().ok();
        return Ok(());
    }
    if mode.eq_ignore_ascii_case(b"yes") || mode.eq_ignore_ascii_case(b"sync") {
        return Err(CmdError::fixed(
            "ERR Shoal does not support the Lua debugger (SCRIPT DEBUG)",
        ));
    }
    Err(CmdError::fixed("ERR Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn script_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "SCRIPT",
        &[
            (
                "DEBUG (YES|SYNC|NO)",
                "the Lua debugger is not supported; NO is accepted",
            ),
            (
                "EXISTS <sha1> [<sha1> ...]",
                "1 or 0 per SHA1: is the script cached",
            ),
            ("FLUSH [ASYNC|SYNC]", "forget every cached script"),
            ("KILL", "stop the running script if it has not written yet"),
            (
                "LOAD <script>",
                "cache a script without running it; replies its SHA1",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

/// Keys of EVAL-like commands: `numkeys` at 2, keys from 3.
const EVAL_KEYS_RW: &[KeySpecDef] = &[KeySpecDef::keynum(&["RW", "ACCESS", "UPDATE"], 2, 0, 1, 1)];
const EVAL_KEYS_RO: &[KeySpecDef] = &[KeySpecDef::keynum(&["RO", "ACCESS"], 2, 0, 1, 1)];
const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | MOVABLE_KEYS;
const SCR: u32 = acl::SCRIPTING;

/// Rows shared by EVAL-like commands (also FCALL in [`super::function`]).
pub const fn eval_like(
    name: &'static str,
    handler: super::spec::Handler,
    read_only: bool,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    let (flags, keys) = if read_only {
        (EVAL_FLAGS | READONLY, EVAL_KEYS_RO)
    } else {
        (EVAL_FLAGS, EVAL_KEYS_RW)
    };
    CommandSpec::new(name, -3, handler)
        .flags(flags)
        .acl(SCR)
        .keys(0, 0, 0)
        .key_specs(keys)
        .doc("scripting", since, summary)
}

const SCRIPT_SUBS: &[CommandSpec] = &[
    CommandSpec::new("debug", 3, script_debug)
        .flags(NOSCRIPT)
        .acl(SCR)
        .doc(
            "scripting",
            "3.2.0",
            "Sets the debug mode of server-side Lua scripts.",
        ),
    CommandSpec::new("exists", -3, script_exists)
        .flags(NOSCRIPT)
        .acl(SCR)
        .tips(&[
            "request_policy:all_shards",
            "response_policy:agg_logical_and",
        ])
        .doc(
            "scripting",
            "2.6.0",
            "Determines whether server-side Lua scripts exist in the script cache.",
        ),
    CommandSpec::new("flush", -2, script_flush)
        .flags(NOSCRIPT)
        .acl(SCR)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(
            "scripting",
            "2.6.0",
            "Removes all server-side Lua scripts from the script cache.",
        ),
    CommandSpec::new("help", 2, script_help)
        .flags(LOADING | STALE)
        .acl(SCR)
        .doc(
            "scripting",
            "5.0.0",
            "Returns helpful text about the different subcommands.",
        ),
    CommandSpec::new("kill", 2, script_kill)
        .flags(NOSCRIPT | ALLOW_BUSY)
        .acl(SCR)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(
            "scripting",
            "2.6.0",
            "Terminates a server-side Lua script during execution.",
        ),
    CommandSpec::new("load", 3, script_load)
        .flags(NOSCRIPT | STALE)
        .acl(SCR)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(
            "scripting",
            "2.6.0",
            "Loads a server-side Lua script to the script cache.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    eval_like(
        "eval",
        eval,
        false,
        "2.6.0",
        "Executes a server-side Lua script.",
    ),
    eval_like(
        "eval_ro",
        eval_ro,
        true,
        "7.0.0",
        "Executes a read-only server-side Lua script.",
    ),
    eval_like(
        "evalsha",
        evalsha,
        false,
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
    ),
    eval_like(
        "evalsha_ro",
        evalsha_ro,
        true,
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
    ),
    CommandSpec::container("script", -2, SCRIPT_SUBS).doc(
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands.",
    ),
];
