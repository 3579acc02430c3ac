//! FCALL FCALL_RO and FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/DUMP/RESTORE/KILL/HELP.
//!
//! Libraries live in every shard's Lua state ([`crate::script::functions`]).
//! A change is validated and applied on the connection's shard first (its
//! error is the reply), then applied on every other shard before the reply
//! goes out, so an FCALL on any connection afterwards finds it.

use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::scripting::{eval_like, kill_everywhere, scope_of, split_keys, start, Code};
use super::spec::{acl, flags::*, CommandSpec};
use crate::script::run::{Caller, Invocation, Kind};
use crate::shard::Shard;
use bytes::Bytes;
use resp::Request;
use std::rc::Rc;

/// One library change, applied on a shard.
#[derive(Clone)]
enum Change {
    Load(Bytes, bool),
    Delete(String),
    Flush,
    Restore(Vec<Bytes>, RestorePolicy),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RestorePolicy {
    Append,
    Replace,
    Flush,
}

fn apply(shard: &Shard, change: &Change) -> Result<Option<String>, String> {
    let vm = shard
        .scripting
        .function_vm()
        .map_err(|e| format!("ERR {e}"))?;
    let mut f = shard.scripting.functions.borrow_mut();
    match change {
        Change::Load(code, replace) => f.load(&vm, code, *replace).map(Some),
        Change::Delete(name) => {
            if f.delete(name) {
                Ok(None)
            } else {
                Err("ERR Library not found".into())
            }
        }
        Change::Flush => {
            f.flush();
            Ok(None)
        }
        Change::Restore(libs, policy) => {
            // All or nothing: build the result on a copy, then install it.
            let existing: Vec<String> = f.libraries().map(|l| l.name.clone()).collect();
            if *policy == RestorePolicy::Append {
                for code in libs {
                    let (name, _) = crate::script::functions::parse_metadata(code)?;
                    if existing.contains(&name) {
                        return Err(format!("ERR Library {name} already exists"));
                    }
                }
            }
            let mut staged = f.clone();
            if *policy == RestorePolicy::Flush {
                staged.flush();
            }
            for code in libs {
                staged.load(&vm, code, *policy != RestorePolicy::Append)?;
            }
            *f = staged;
            Ok(None)
        }
    }
}

/// Log a FUNCTION change (its request) to this shard's AOF.
fn log_change(shard: &Shard, args: &[Vec<u8>]) {
    let mut st = shard.state.borrow_mut();
    if st.aof.on() {
        let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        st.aof.effect(0, &a);
    }
}

/// Apply `change` here (its error is the reply), then on every other shard;
/// `reply` encodes the answer once all have it.
fn change_everywhere(
    ctx: &mut Ctx<'_>,
    change: Change,
    reply: impl FnOnce(Option<String>, &mut resp::ReplyWriter<'_>) + 'static,
) -> CmdResult {
    let out = apply(ctx.shard, &change).map_err(CmdError::owned)?;
    let shard: Rc<Shard> = ctx.shard.clone();
    let proto = ctx.proto();
    // Every shard's AOF carries the change: each loads its libraries itself.
    let args: Vec<Vec<u8>> = ctx.req.iter().map(<[u8]>::to_vec).collect();
    log_change(&shard, &args);
    ctx.run_async(async move {
        for to in (0..shard.count).filter(|&s| s != shard.id) {
            let c = change.clone();
            let a = args.clone();
            let _ = shard
                .call(to, move |s| {
                    let _ = apply(s, &c);
                    log_change(s, &a);
                })
                .await;
        }
        encode(proto, |w| reply(out, w))
    });
    Ok(())
}

fn fcall_generic(ctx: &mut Ctx<'_>, req: &Request, read_only: bool) -> CmdResult {
    super::monitor::feed_script(ctx.shard, ctx.conn, req);
    let name = String::from_utf8_lossy(req.arg(1)).into_owned();
    let Some(f) = ctx.shard.scripting.functions.borrow().get(&name) else {
        return Err(CmdError::fixed("ERR Function not found"));
    };
    let (keys, args) = split_keys(req).map_err(|e| {
        if e == errors::NOT_INTEGER || e == errors::NUMKEYS_NEGATIVE {
            CmdError::fixed("ERR Bad number of keys provided")
        } else {
            e
        }
    })?;
    if read_only && !f.flags.no_writes {
        return Err(errors::RO_WRITE_FLAG);
    }
    let vm = ctx
        .shard
        .scripting
        .function_vm()
        .map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    // Functions get their keys as a parameter: no proof, every shard.
    let scope = scope_of(ctx.shard, &keys, false);
    let inv = Invocation {
        func: f.func,
        kind: Kind::Function,
        name: name.clone(),
        keys,
        args,
        read_only: read_only || f.flags.no_writes,
        argv: Some((0..req.len()).map(|i| req.arg_bytes(i)).collect()),
    };
    let caller = Caller::of(ctx.conn);
    start(ctx, caller, vm, inv, Code::Function(name), scope, f.strays);
    Ok(())
}

fn fcall(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    fcall_generic(ctx, req, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    fcall_generic(ctx, req, true)
}

fn function_load(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (replace, code) = match req.len() {
        3 => (false, req.arg_bytes(2)),
        4 if req.arg(2).eq_ignore_ascii_case(b"replace") => (true, req.arg_bytes(3)),
        4 => {
            return Err(CmdError::owned(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(req.arg(2))
            )))
        }
        _ => return Err(errors::wrong_arity("function|load")),
    };
    change_everywhere(ctx, Change::Load(code, replace), |name, w| {
        w.bulk(name.unwrap_or_default().as_bytes())
    })
}

fn function_delete(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let name = String::from_utf8_lossy(req.arg(2)).into_owned();
    change_everywhere(ctx, Change::Delete(name), |_, w| w.ok())
}

fn function_flush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if !super::scripting::flush_mode_ok(req) {
        return Err(CmdError::fixed(
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    change_everywhere(ctx, Change::Flush, |_, w| w.ok())
}

fn function_restore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let policy = match req.len() {
        3 => RestorePolicy::Append,
        4 => {
            let p = req.arg(3);
            if p.eq_ignore_ascii_case(b"append") {
                RestorePolicy::Append
            } else if p.eq_ignore_ascii_case(b"replace") {
                RestorePolicy::Replace
            } else if p.eq_ignore_ascii_case(b"flush") {
                RestorePolicy::Flush
            } else {
                return Err(CmdError::fixed(
                    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                ));
            }
        }
        _ => return Err(errors::SYNTAX),
    };
    let libs = crate::script::functions::parse_dump(req.arg(2)).map_err(CmdError::owned)?;
    change_everywhere(ctx, Change::Restore(libs, policy), |_, w| w.ok())
}

fn function_dump(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let codes = ctx.shard.scripting.functions.borrow().codes();
    let payload = crate::script::functions::dump(&codes);
    ctx.w().bulk(&payload);
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < req.len() {
        let a = req.arg(i);
        if a.eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            if i + 1 >= req.len() {
                return Err(CmdError::fixed("ERR library name argument was not given"));
            }
            pattern = Some(req.arg(i + 1).to_vec());
            i += 1;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let functions = ctx.shard.scripting.functions.borrow();
    let libs: Vec<_> = functions
        .libraries()
        .filter(|l| {
            pattern
                .as_ref()
                .is_none_or(|p| crate::glob::matches(p, l.name.as_bytes(), false))
        })
        .cloned()
        .collect();
    drop(functions);
    let mut w = ctx.w();
    w.array(libs.len());
    for lib in &libs {
        w.map(if with_code { 4 } else { 3 });
        w.bulk(b"library_name");
        w.bulk(lib.name.as_bytes());
        w.bulk(b"engine");
        w.bulk(b"LUA");
        w.bulk(b"functions");
        w.array(lib.functions.len());
        for f in &lib.functions {
            w.map(3);
            w.bulk(b"name");
            w.bulk(f.name.as_bytes());
            w.bulk(b"description");
            match &f.desc {
                Some(d) => w.bulk(d),
                None => w.null(),
            }
            w.bulk(b"flags");
            let names = f.flags.names();
            w.set(names.len());
            for n in names {
                w.simple(n.as_bytes());
            }
        }
        if with_code {
            w.bulk(b"library_code");
            w.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let (libs, funcs) = ctx.shard.scripting.functions.borrow().counts();
    let shard = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        // The running function may be on any shard (a busy one answers
        // between its pauses).
        let running = shard
            .broadcast(|_| crate::script::run::running_function())
            .await
            .into_iter()
            .flatten()
            .next();
        encode(proto, |w| {
            w.map(2);
            w.bulk(b"running_script");
            match &running {
                None => w.null(),
                Some((name, argv, ms)) => {
                    w.map(3);
                    w.bulk(b"name");
                    w.bulk(name.as_bytes());
                    w.bulk(b"command");
                    w.bulk_array(argv.iter());
                    w.bulk(b"duration_ms");
                    w.int(i64::try_from(*ms).unwrap_or(i64::MAX));
                }
            }
            w.bulk(b"engines");
            w.map(1);
            w.bulk(b"LUA");
            w.map(2);
            w.bulk(b"libraries_count");
            w.int(i64::try_from(libs).unwrap_or(i64::MAX));
            w.bulk(b"functions_count");
            w.int(i64::try_from(funcs).unwrap_or(i64::MAX));
        })
    });
    Ok(())
}

fn function_kill(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    kill_everywhere(ctx, Kind::Function)
}

fn function_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "FUNCTION",
        &[
            (
                "LOAD [REPLACE] <code>",
                "load a library (its code opens with #!lua name=<name>)",
            ),
            ("DELETE <library>", "drop a library and its functions"),
            ("FLUSH [ASYNC|SYNC]", "drop every library"),
            (
                "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
                "libraries, their functions and flags",
            ),
            ("STATS", "the running function, library and function counts"),
            ("DUMP", "every library as one payload for FUNCTION RESTORE"),
            (
                "RESTORE <payload> [FLUSH|APPEND|REPLACE]",
                "load libraries from a DUMP payload",
            ),
            (
                "KILL",
                "stop the running function if it has not written yet",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

const SCR: u32 = acl::SCRIPTING;
const W: u32 = acl::WRITE | acl::SCRIPTING;

const FUNCTION_SUBS: &[CommandSpec] = &[
    CommandSpec::new("delete", 3, function_delete)
        .flags(WRITE | NOSCRIPT)
        .acl(W)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("scripting", "7.0.0", "Deletes a library and its functions."),
    CommandSpec::new("dump", 2, function_dump)
        .flags(NOSCRIPT)
        .acl(SCR)
        .doc(
            "scripting",
            "7.0.0",
            "Dumps all libraries into a serialized binary payload.",
        ),
    CommandSpec::new("flush", -2, function_flush)
        .flags(WRITE | NOSCRIPT)
        .acl(W)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("scripting", "7.0.0", "Deletes all libraries and functions."),
    CommandSpec::new("help", 2, function_help)
        .flags(LOADING | STALE)
        .acl(SCR)
        .doc(
            "scripting",
            "7.0.0",
            "Returns helpful text about the different subcommands.",
        ),
    CommandSpec::new("kill", 2, function_kill)
        .flags(NOSCRIPT | ALLOW_BUSY)
        .acl(SCR)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(
            "scripting",
            "7.0.0",
            "Terminates a function during execution.",
        ),
    CommandSpec::new("list", -2, function_list)
        .flags(NOSCRIPT)
        .acl(SCR)
        .tips(&["nondeterministic_output_order"])
        .doc(
            "scripting",
            "7.0.0",
            "Returns information about all libraries.",
        ),
    CommandSpec::new("load", -3, function_load)
        .flags(WRITE | DENYOOM | NOSCRIPT)
        .acl(W)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("scripting", "7.0.0", "Creates a library."),
    CommandSpec::new("restore", -3, function_restore)
        .flags(WRITE | DENYOOM | NOSCRIPT)
        .acl(W)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            "scripting",
            "7.0.0",
            "Restores all libraries from a payload.",
        ),
    CommandSpec::new("stats", 2, function_stats)
        .flags(NOSCRIPT | ALLOW_BUSY)
        .acl(SCR)
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ])
        .doc(
            "scripting",
            "7.0.0",
            "Returns information about a function during execution.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    eval_like("fcall", fcall, false, "7.0.0", "Invokes a function."),
    eval_like(
        "fcall_ro",
        fcall_ro,
        true,
        "7.0.0",
        "Invokes a read-only function.",
    ),
    CommandSpec::container("function", -2, FUNCTION_SUBS).doc(
        "scripting",
        "7.0.0",
        "A container for function commands.",
    ),
];
